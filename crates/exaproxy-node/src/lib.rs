//! The Node-API surface of exaproxy: a handful of functions that pass the caller's
//! buffers and typed arrays to `exaproxy-http` and return its numbers unchanged.
//!
//! No protocol logic lives here. JS owns every buffer; nothing is allocated or
//! copied per call except the client address string given to `rewriteRequest`
//! (`readRequest` takes it as bytes).
//! Arguments of the wrong type throw a `TypeError` whose `code` is
//! `EXA_ERR_INVALID_ARG`, naming the argument.
//!
//! The argument types (`args.rs`) are typed, so `napi build` writes binding.d.ts
//! with the TypeScript types they accept; they, `sockets.rs` (system calls on socket descriptors)
//! and `heap.rs` (one allocator setting) hold the crate's only `unsafe` code.
//!
//! | module | job |
//! |---|---|
//! | `args` | argument types: conversion, checks, the unsafe code and why it is sound |
//! | `error` | the `TypeError` thrown for a bad argument |
//! | `heap` | glibc's trim threshold for a single process (`mallopt`), fenced like `args` |
//! | `rewrite` | the rewrite plan and the rewrite calls (`readRequest`, `readResponse`: parse and rewrite in one) |
//! | `relay` | the native relay (`exaproxy-relay`): tunnels and bodies started, closed, their end reported |
//! | `sockets` | SO_ORIGINAL_DST and IP_TRANSPARENT (Linux): system calls, fenced like `args` |

#[allow(unsafe_code)]
mod args;
mod error;
#[allow(unsafe_code)]
mod heap;
mod relay;
mod rewrite;
#[allow(unsafe_code)]
mod sockets;

use args::{Buffer, Number, Uint32Array};
use exaproxy_http as http;
use exaproxy_http::abi;
use napi::{Env, Result};
use napi_derive::napi;

pub use heap::keep_freed_heap;
pub use relay::{relay_available, relay_body, relay_close, relay_init, relay_start};
pub use rewrite::{
    read_request, read_response, rewrite_request, rewrite_response, RewriteOptions, RewritePlan,
};
pub use sockets::{duplicate_socket, original_destination, transparent_socket};

/// Parses the request head at `buf[start..]` into `table` (see `Slot` in abi.generated.ts; offsets
/// are absolute positions in `buf`). → bytes consumed (> 0), `NEED_MORE` (0) or `-ErrorCode`.
#[napi(js_name = "parseRequest")]
pub fn parse_request(
    env: Env,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
) -> Result<i32> {
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let head = table.get_mut(&env, "table", abi::slot::HEADERS, &[buf.region()])?;
    Ok(http::parse_request(bytes, start, head))
}

/// Parses the response head at `buf[start..]` into `table`; `requestMethod` is the `Method` id of
/// the request it answers. → bytes consumed (> 0), `NEED_MORE` (0) or `-ErrorCode`.
#[napi(js_name = "parseResponse")]
pub fn parse_response(
    env: Env,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
    request_method: Number,
) -> Result<i32> {
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let head = table.get_mut(&env, "table", abi::slot::HEADERS, &[buf.region()])?;
    let method = request_method.get(&env, "requestMethod")?;
    Ok(http::parse_response(bytes, start, head, method))
}

/// Scans chunked body bytes `buf[start..end]` with the caller-kept `state` (see `Chunk`).
/// → bytes of `buf[start..end]` that belong to the body (all unless it ended), or `-ErrorCode`.
#[napi(js_name = "scanChunked")]
pub fn scan_chunked(
    env: Env,
    buf: Buffer<'_>,
    start: Number,
    end: Number,
    mut state: Uint32Array<'_>,
) -> Result<i32> {
    let bytes = buf.get(&env, "buf")?;
    let end = end.offset(&env, "end", bytes.len())?;
    let start = start.offset(&env, "start", end)?;
    let state = state.get_mut(&env, "state", abi::chunk::SIZE, &[buf.region()])?;
    Ok(http::scan_chunked(bytes, start, end, state))
}

/// Parses a PROXY protocol v1/v2 header at `buf[start..]` into `table` (see `Proxy`).
/// → bytes consumed (> 0), `NEED_MORE` (0) or `-ErrorCode`.
#[napi(js_name = "parseProxyHeader")]
pub fn parse_proxy_header(
    env: Env,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
) -> Result<i32> {
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let result = table.get_mut(&env, "table", abi::proxy::SIZE, &[buf.region()])?;
    Ok(http::parse_proxy_header(bytes, start, result))
}

/// Reads the server name of a TLS ClientHello at `buf[start..]` into `table` (see `Sni`).
/// → 1 when the table is filled, `NEED_MORE` (0) or `-ErrorCode`.
#[napi(js_name = "peekSni")]
pub fn peek_sni(
    env: Env,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
) -> Result<i32> {
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let result = table.get_mut(&env, "table", abi::sni::SIZE, &[buf.region()])?;
    Ok(http::peek_sni(bytes, start, result))
}

/// Parses the ICAP request at `buf[start..]`: its head into `table` (see `Icap`), the
/// encapsulated HTTP request head into `head` (a head table, see `Slot`). → bytes up to the
/// body or the end of the message (> 0), `NEED_MORE` (0) or `-ErrorCode`.
#[napi(js_name = "parseIcapRequest")]
pub fn parse_icap_request(
    env: Env,
    buf: Buffer<'_>,
    start: Number,
    mut table: Uint32Array<'_>,
    mut head: Uint32Array<'_>,
) -> Result<i32> {
    let bytes = buf.get(&env, "buf")?;
    let start = start.offset(&env, "start", bytes.len())?;
    let (buf_at, table_at, head_at) = (buf.region(), table.region(), head.region());
    let icap = table.get_mut(&env, "table", abi::icap::SIZE, &[buf_at, head_at])?;
    let http = head.get_mut(&env, "head", abi::slot::HEADERS, &[buf_at, table_at])?;
    Ok(http::parse_icap_request(bytes, start, icap, http))
}
