//! The rewrite plan (compiled once per configuration) and the two per-message
//! rewrite calls (and `readRequest` / `readResponse`: a head parsed and rewritten in one call).

use crate::args::{Buffer, BufferSlice, Number, Uint32Array};
use crate::error::invalid;
use exaproxy_http as http;
use exaproxy_http::abi;
use napi::{Env, Result};
use napi_derive::napi;

/// The rewriting rules as the configuration gives them (see `PlanOptions` in Rust).
#[napi(object)]
pub struct RewriteOptions {
    /// Via pseudonym: adds `Via: 1.x <via>`; omitted: no Via.
    pub via: Option<String>,
    pub via_response: Option<bool>,
    /// `append` (default), `replace` or `leave`.
    #[napi(ts_type = "'append' | 'replace' | 'leave'")]
    pub forwarded_for: Option<String>,
    pub pass_proxy_authorization: Option<bool>,
    pub remove_request: Option<Vec<String>>,
    /// `[name, value]` lines added to requests.
    #[napi(ts_type = "Array<[string, string]>")]
    pub add_request: Option<Vec<Vec<String>>>,
    pub remove_response: Option<Vec<String>>,
    /// `[name, value]` lines added to responses.
    #[napi(ts_type = "Array<[string, string]>")]
    pub add_response: Option<Vec<Vec<String>>>,
}

fn pairs(env: &Env, list: Option<Vec<Vec<String>>>, name: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in list.unwrap_or_default() {
        match <[String; 2]>::try_from(pair) {
            Ok([k, v]) => out.push((k, v)),
            Err(_) => {
                return Err(invalid(
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
                return Err(invalid(
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
            .map_err(|message| invalid(&env, message))?;
        Ok(RewritePlan {
            plan: http::Plan::new(&options),
        })
    }
}

/// Writes the request head to send upstream (a head `parseRequest` filled `table` with) at
/// `out[outStart..]`; `bits` are `Rewrite` bits. → bytes written, or `-ErrorCode`.
#[napi(js_name = "rewriteRequest")]
#[allow(clippy::too_many_arguments)]
pub fn rewrite_request(
    env: Env,
    plan: &RewritePlan,
    buf: Buffer<'_>,
    mut table: Uint32Array<'_>,
    mut out: BufferSlice<'_>,
    out_start: Number,
    client_ip: String,
    bits: Number,
) -> Result<i32> {
    let (buf_at, table_at) = (buf.region(), table.region());
    let bytes = buf.get(&env, "buf")?;
    let head = table.get_mut(&env, "table", abi::slot::HEADERS, &[buf_at])?;
    let out = out.get_mut(&env, "out", &[buf_at, table_at])?;
    let out_start = out_start.offset(&env, "outStart", out.len())?;
    let bits = bits.get(&env, "bits")?;
    Ok(http::rewrite_request(
        &plan.plan,
        bytes,
        head,
        &mut out[out_start..],
        client_ip.as_bytes(),
        bits,
    ))
}

/// Writes the response head to send to the client at `out[outStart..]`, and sets or clears
/// `Flag.KEEP_ALIVE` in `table`; `bits` are `Rewrite` bits. → bytes written, or `-ErrorCode`.
#[napi(js_name = "rewriteResponse")]
pub fn rewrite_response(
    env: Env,
    plan: &RewritePlan,
    buf: Buffer<'_>,
    mut table: Uint32Array<'_>,
    mut out: BufferSlice<'_>,
    out_start: Number,
    bits: Number,
) -> Result<i32> {
    let (buf_at, table_at) = (buf.region(), table.region());
    let bytes = buf.get(&env, "buf")?;
    let head = table.get_mut(&env, "table", abi::slot::HEADERS, &[buf_at])?;
    let out = out.get_mut(&env, "out", &[buf_at, table_at])?;
    let out_start = out_start.offset(&env, "outStart", out.len())?;
    let bits = bits.get(&env, "bits")?;
    Ok(http::rewrite_response(
        &plan.plan,
        bytes,
        head,
        &mut out[out_start..],
        bits,
    ))
}

/// `parseRequest` and, once the head is complete, `rewriteRequest` in one call, the client's
/// address given as bytes (no string to convert): returns what `parseRequest` returns;
/// `table[Slot.REWRITTEN]` gets the bytes written at `out[outStart..]`, 0 when none were.
#[napi(js_name = "readRequest")]
#[allow(clippy::too_many_arguments)]
pub fn read_request(
    env: Env,
    plan: &RewritePlan,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
    mut out: BufferSlice<'_>,
    out_start: Number,
    client_ip: Buffer<'_>,
    bits: Number,
) -> Result<i32> {
    let (buf_at, table_at, ip_at) = (buf.region(), table.region(), client_ip.region());
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let head = table.get_mut(&env, "table", abi::slot::HEADERS, &[buf_at, ip_at])?;
    let out = out.get_mut(&env, "out", &[buf_at, table_at, ip_at])?;
    let out_start = out_start.offset(&env, "outStart", out.len())?;
    let ip = client_ip.get(&env, "clientIp")?;
    let bits = bits.get(&env, "bits")?;
    Ok(http::read_request(
        &plan.plan,
        bytes,
        start,
        head,
        &mut out[out_start..],
        ip,
        bits,
    ))
}

/// `parseResponse` and, once the head is complete, `rewriteResponse` in one call: returns what
/// `parseResponse` returns; `table[Slot.REWRITTEN]` gets the bytes written at `out[outStart..]`,
/// 0 when none were (then `rewriteResponse` says why).
#[napi(js_name = "readResponse")]
#[allow(clippy::too_many_arguments)]
pub fn read_response(
    env: Env,
    plan: &RewritePlan,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
    request_method: Number,
    mut out: BufferSlice<'_>,
    out_start: Number,
    bits: Number,
) -> Result<i32> {
    let (buf_at, table_at) = (buf.region(), table.region());
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let head = table.get_mut(&env, "table", abi::slot::HEADERS, &[buf_at])?;
    let method = request_method.get(&env, "requestMethod")?;
    let out = out.get_mut(&env, "out", &[buf_at, table_at])?;
    let out_start = out_start.offset(&env, "outStart", out.len())?;
    let bits = bits.get(&env, "bits")?;
    Ok(http::read_response(
        &plan.plan,
        bytes,
        start,
        head,
        method,
        &mut out[out_start..],
        bits,
    ))
}
