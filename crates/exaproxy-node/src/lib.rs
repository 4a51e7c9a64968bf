//! The Node-API surface of exaproxy: a handful of functions that pass the caller's
//! buffers and typed arrays to `exaproxy-http` and return its numbers unchanged.
//!
//! No protocol logic lives here. JS owns every buffer; nothing is allocated or
//! copied per call except the client address string given to `rewriteRequest`.
//! Arguments of the wrong type throw a `TypeError` whose `code` is
//! `EXA_ERR_INVALID_ARG`.

use exaproxy_http as http;
use exaproxy_http::abi;
use napi::bindgen_prelude::{FromNapiValue, JsValue, Unknown};
use napi::{Env, Error, JsTypeError, Result, Status};
use napi_derive::napi;

const INVALID_ARG: &str = "EXA_ERR_INVALID_ARG";

/// Converts argument `name`, or throws a `TypeError` with code `EXA_ERR_INVALID_ARG`.
fn arg<T: FromNapiValue>(env: &Env, value: Unknown<'_>, name: &str, expected: &str) -> Result<T> {
    // SAFETY: `env` and `value` are the live environment and argument of the current call.
    match unsafe { T::from_napi_value(env.raw(), value.raw()) } {
        Ok(v) => Ok(v),
        Err(_) => Err(type_error(env, format!("{name} must be {expected}"))),
    }
}

/// Throws a `TypeError` whose `code` is `EXA_ERR_INVALID_ARG`, and returns the
/// marker error that tells napi an exception is already pending.
fn type_error(env: &Env, message: String) -> Error {
    let js = JsTypeError::from(Error::new(INVALID_ARG, message));
    // SAFETY: `env` is the live environment of the current call.
    unsafe { js.throw_into(env.raw()) };
    Error::new(Status::PendingException, String::new())
}

fn offset(env: &Env, value: Unknown<'_>, name: &str, limit: usize) -> Result<usize> {
    let n: u32 = arg(env, value, name, "a non-negative integer")?;
    let n = n as usize;
    if n > limit {
        return Err(type_error(
            env,
            format!("{name} ({n}) is past the end of the buffer ({limit})"),
        ));
    }
    Ok(n)
}

fn table<'a>(env: &Env, value: Unknown<'_>, name: &str, min: usize) -> Result<&'a mut [u32]> {
    let t: &mut [u32] = arg(env, value, name, "a Uint32Array")?;
    if t.len() < min {
        return Err(type_error(
            env,
            format!("{name} must have at least {min} slots, it has {}", t.len()),
        ));
    }
    Ok(t)
}

/// `parseRequest(buf, start, table) → consumed | 0 (need more) | -code`
#[napi(js_name = "parseRequest")]
pub fn parse_request(
    env: Env,
    buf: Unknown<'_>,
    start: Unknown<'_>,
    head: Unknown<'_>,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let start = offset(&env, start, "start", buf.len())?;
    let head = table(&env, head, "table", abi::slot::HEADERS)?;
    Ok(http::parse_request(buf, start, head))
}

/// `parseResponse(buf, start, table, requestMethod) → consumed | 0 | -code`
#[napi(js_name = "parseResponse")]
pub fn parse_response(
    env: Env,
    buf: Unknown<'_>,
    start: Unknown<'_>,
    head: Unknown<'_>,
    request_method: u32,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let start = offset(&env, start, "start", buf.len())?;
    let head = table(&env, head, "table", abi::slot::HEADERS)?;
    Ok(http::parse_response(buf, start, head, request_method))
}

/// `scanChunked(buf, start, end, state) → bytes of buf[start..end] in the message | -code`
#[napi(js_name = "scanChunked")]
pub fn scan_chunked(
    env: Env,
    buf: Unknown<'_>,
    start: Unknown<'_>,
    end: Unknown<'_>,
    state: Unknown<'_>,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let end = offset(&env, end, "end", buf.len())?;
    let start = offset(&env, start, "start", end)?;
    let state = table(&env, state, "state", abi::chunk::SIZE)?;
    Ok(http::scan_chunked(buf, start, end, state))
}

/// `parseProxyHeader(buf, start, table) → consumed | 0 | -code`
#[napi(js_name = "parseProxyHeader")]
pub fn parse_proxy_header(
    env: Env,
    buf: Unknown<'_>,
    start: Unknown<'_>,
    result: Unknown<'_>,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let start = offset(&env, start, "start", buf.len())?;
    let result = table(&env, result, "table", abi::proxy::SIZE)?;
    Ok(http::parse_proxy_header(buf, start, result))
}

/// `peekSni(buf, start, table) → 1 | 0 | -code`
#[napi(js_name = "peekSni")]
pub fn peek_sni(
    env: Env,
    buf: Unknown<'_>,
    start: Unknown<'_>,
    result: Unknown<'_>,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let start = offset(&env, start, "start", buf.len())?;
    let result = table(&env, result, "table", abi::sni::SIZE)?;
    Ok(http::peek_sni(buf, start, result))
}

/// The rewriting rules as the configuration gives them (see `PlanOptions` in Rust).
#[napi(object)]
pub struct RewriteOptions {
    pub via: Option<String>,
    pub via_response: Option<bool>,
    /// `append` (default), `replace` or `leave`.
    pub forwarded_for: Option<String>,
    pub pass_proxy_authorization: Option<bool>,
    pub remove_request: Option<Vec<String>>,
    pub add_request: Option<Vec<Vec<String>>>,
    pub remove_response: Option<Vec<String>>,
    pub add_response: Option<Vec<Vec<String>>>,
}

fn pairs(env: &Env, list: Option<Vec<Vec<String>>>, name: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in list.unwrap_or_default() {
        match <[String; 2]>::try_from(pair) {
            Ok([k, v]) => out.push((k, v)),
            Err(_) => {
                return Err(type_error(
                    env,
                    format!("{name} must be a list of [name, value] pairs"),
                ))
            }
        }
    }
    Ok(out)
}

/// A compiled rewrite plan, built once per configuration.
#[napi]
pub struct RewritePlan {
    plan: http::Plan,
}

#[napi]
impl RewritePlan {
    #[napi(constructor)]
    pub fn new(env: Env, options: RewriteOptions) -> Result<Self> {
        let forwarded_for = match options.forwarded_for.as_deref() {
            None | Some("append") => http::ForwardedFor::Append,
            Some("replace") => http::ForwardedFor::Replace,
            Some("leave") => http::ForwardedFor::Leave,
            Some(other) => {
                return Err(type_error(
                    &env,
                    format!("forwardedFor must be append, replace or leave, not {other:?}"),
                ))
            }
        };
        let options = http::PlanOptions {
            via: options.via,
            via_response: options.via_response.unwrap_or(false),
            forwarded_for,
            pass_proxy_authorization: options.pass_proxy_authorization.unwrap_or(false),
            remove_request: options.remove_request.unwrap_or_default(),
            add_request: pairs(&env, options.add_request, "addRequest")?,
            remove_response: options.remove_response.unwrap_or_default(),
            add_response: pairs(&env, options.add_response, "addResponse")?,
        };
        options
            .validate()
            .map_err(|message| type_error(&env, message))?;
        Ok(RewritePlan {
            plan: http::Plan::new(&options),
        })
    }
}

/// `rewriteRequest(plan, buf, table, out, outStart, clientIp, bits) → written | -code`
#[napi(js_name = "rewriteRequest")]
#[allow(clippy::too_many_arguments)]
pub fn rewrite_request(
    env: Env,
    plan: &RewritePlan,
    buf: Unknown<'_>,
    head: Unknown<'_>,
    out: Unknown<'_>,
    out_start: Unknown<'_>,
    client_ip: String,
    bits: u32,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let head = table(&env, head, "table", abi::slot::HEADERS)?;
    let out: &mut [u8] = arg(&env, out, "out", "a Buffer")?;
    let out_start = offset(&env, out_start, "outStart", out.len())?;
    Ok(http::rewrite_request(
        &plan.plan,
        buf,
        head,
        &mut out[out_start..],
        client_ip.as_bytes(),
        bits,
    ))
}

/// `rewriteResponse(plan, buf, table, out, outStart, bits) → written | -code`
#[napi(js_name = "rewriteResponse")]
pub fn rewrite_response(
    env: Env,
    plan: &RewritePlan,
    buf: Unknown<'_>,
    head: Unknown<'_>,
    out: Unknown<'_>,
    out_start: Unknown<'_>,
    bits: u32,
) -> Result<i32> {
    let buf: &[u8] = arg(&env, buf, "buf", "a Buffer")?;
    let head = table(&env, head, "table", abi::slot::HEADERS)?;
    let out: &mut [u8] = arg(&env, out, "out", "a Buffer")?;
    let out_start = offset(&env, out_start, "outStart", out.len())?;
    Ok(http::rewrite_response(
        &plan.plan,
        buf,
        head,
        &mut out[out_start..],
        bits,
    ))
}
