//! Response head parsing and message length (RFC 9112 §4, §6.3).
//!
//! The field lines get the same strict checks as a request's (one Content-Length,
//! never with Transfer-Encoding, `chunked` at most once), since a proxy that
//! forwards an ambiguous response can desynchronise its client connection. Every
//! error answers the client with 502 (`ERROR_STATUS`), whatever its code.
//!
//! Exactly one framing flag is set on success, chosen in RFC 9112 §6.3 order:
//! `TUNNEL` (101), `INTERIM` (other 1xx, even to HEAD: the final response
//! follows), `BODY_NONE` (response to HEAD, 204, 304), `TUNNEL` (2xx to CONNECT), `CONTENT_LENGTH`, `CHUNKED` (Transfer-Encoding ending in
//! chunked), else `BODY_UNTIL_CLOSE` (no length, or codings not ending in chunked).
//! `LENGTH_LO`/`LENGTH_HI` hold a valid Content-Length even when another flag
//! decides the framing (e.g. the length a HEAD response announces).
//!
//! Empty lines (CRLF) before the status line are skipped, as before a request
//! line. The status line is `HTTP/1.x SP 3DIGIT [ SP reason ] CRLF`: a missing reason,
//! with or without its SP, is accepted (RFC 9112 §4 asks clients to ignore it);
//! status codes below 100 are rejected. Malformed lines are `STATUS_LINE`; other
//! well-formed `HTTP/x.y` versions are `VERSION_UNSUPPORTED`.

use crate::abi::{error, flag, method, slot, NEED_MORE};
use crate::head::{
    clear_outputs, crlf, fail, http_version, scan_field_value, scan_fields, skip_empty_lines,
    within_limit, Fields, Limits, Stop,
};

/// What the client is told whatever went wrong with the upstream's response.
const BAD_GATEWAY: u32 = 502;

/// Parses the response head at `start`. `request_method` is the `METHOD_*` id of the
/// request it answers (HEAD and CONNECT change the body length rules).
/// Returns bytes consumed (> 0), `abi::NEED_MORE`, or `-code`.
pub fn parse_response(buf: &[u8], start: usize, table: &mut [u32], request_method: u32) -> i32 {
    if table.len() < slot::HEADERS {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    clear_outputs(table);
    if start >= buf.len() {
        return NEED_MORE;
    }
    let limits = Limits::read(table);
    match within_limit(buf, start, limits.head, |window| {
        response_head(window, start, table, limits, request_method)
    }) {
        Ok(end) => {
            table[slot::HEAD_END] = end as u32;
            (end - start) as i32
        }
        Err(Stop::More) => NEED_MORE,
        Err(Stop::Fail(code, pos)) => fail(table, code, pos, Some(BAD_GATEWAY)),
    }
}

fn response_head(
    buf: &[u8],
    start: usize,
    table: &mut [u32],
    limits: Limits,
    request_method: u32,
) -> Result<usize, Stop> {
    // Empty lines before the status line: llhttp skips them too, and servers
    // send a stray CRLF after a body.
    let line_start = skip_empty_lines(buf, start)?;
    let (minor, mut i) = http_version(buf, line_start).map_err(|stop| match stop {
        Stop::Fail(error::VERSION, pos) => Stop::Fail(error::STATUS_LINE, pos),
        other => other,
    })?;
    // SP 3DIGIT
    for k in 0..4 {
        let c = *buf.get(i + k).ok_or(Stop::More)?;
        let ok = if k == 0 {
            c == b' '
        } else {
            c.is_ascii_digit()
        };
        if !ok {
            return Stop::fail(error::STATUS_LINE, i + k);
        }
    }
    let digit = |k: usize| u32::from(buf[i + k] - b'0');
    let status = digit(1) * 100 + digit(2) * 10 + digit(3);
    if status < 100 {
        return Stop::fail(error::STATUS_LINE, i + 1);
    }
    i += 4;
    // [ SP reason ] CRLF
    let reason_start = match buf.get(i) {
        None => return Err(Stop::More),
        Some(b' ') => i + 1,
        Some(b'\r' | b'\n') => i,
        Some(_) => return Stop::fail(error::STATUS_LINE, i),
    };
    i = reason_start;
    i = scan_field_value(buf, i);
    let reason_end = i;
    i = crlf(buf, i, error::STATUS_LINE)?;
    table[slot::VERSION] = minor;
    table[slot::STATUS] = status;
    table[slot::REASON_START] = reason_start as u32;
    table[slot::REASON_END] = reason_end as u32;

    let mut fields = Fields::default();
    let end = scan_fields::<false>(buf, i, table, limits.headers, &mut fields)?;

    fields.write_content_length(table)?;
    if fields.transfer.present && minor == 0 {
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
        return Stop::fail(error::TRANSFER_ENCODING_NOT_CHUNKED, fields.transfer_at);
    }
    let framing = if status == 101 {
        flag::TUNNEL
    } else if status < 200 {
        // Interim even to HEAD: the final response still follows.
        flag::INTERIM
    } else if request_method == method::HEAD || status == 204 || status == 304 {
        flag::BODY_NONE
    } else if request_method == method::CONNECT && status < 300 {
        flag::TUNNEL
    } else if fields.content_length.is_some() {
        flag::CONTENT_LENGTH
    } else if fields.transfer.present && fields.transfer.chunked_last {
        flag::CHUNKED
    } else {
        flag::BODY_UNTIL_CLOSE
    };
    let mut flags = fields.flags | framing | fields.chunked_parameters(table)?;
    if minor == 1 {
        flags |= flag::VERSION_11;
    }
    table[slot::FLAGS] = flags;
    table[slot::HEADER_COUNT] = fields.count as u32;
    Ok(end)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
