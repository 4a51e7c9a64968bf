//! Request head parsing (RFC 9112 §2–§3, §5, §6): the request line, the field
//! lines and the framing checks a proxy must make before forwarding anything.
//!
//! Choices where the RFCs leave room, all on the strict side:
//! - Up to any number of empty lines (CRLF) before the request line are skipped
//!   (RFC 9112 §2.2); they count towards the head limit and `consumed`.
//! - Any `tchar` method is accepted; the ones in [`abi::METHODS`] get their id,
//!   others `METHOD_OTHER` (policy decides).
//! - The request-target may hold visible ASCII only (see [`crate::byte_class::TARGET`]).
//!   absolute-form needs `scheme://authority`; userinfo is rejected; the PATH span
//!   is what follows the authority: empty means `/`, and it may start with `?`
//!   (`http://h?q` forwards as `/?q`).
//! - Transfer-Encoding in an HTTP/1.0 request is rejected with
//!   `TRANSFER_ENCODING_NOT_CHUNKED`: RFC 9112 §6.1 says such framing "MUST be
//!   treated as faulty", and a proxy cannot forward a faulty frame safely (an
//!   HTTP/1.0 next hop would not decode chunked; llhttp accepts it).
//! - Host must be `uri-host [":" port]` with a non-empty host and a port in
//!   1..=65535: an empty Host (allowed by RFC 9112 §3.2 for targets without an
//!   authority) is `HOST_INVALID`, since a proxy cannot route it.
//! - `IS_UPGRADE` needs HTTP/1.1 and `EXPECT_CONTINUE` is dropped in HTTP/1.0
//!   (RFC 9110 §7.8, §10.1.1); the other flags report the fields as sent.
//! - A Host that disagrees with an absolute-form target is not an error: the
//!   target wins (RFC 9112 §3.2.2) and HOST is the target's host. The Host field
//!   must still be valid and single.

use crate::abi::{self, error, flag, form, method, scheme, slot, NEED_MORE};
use crate::authority::parse_authority;
use crate::head::{
    clear_outputs, crlf, fail, http_version, scan, scan_fields, scan_target, skip_empty_lines,
    within_limit, Fields, Limits, Stop, TCHAR,
};
use crate::known::method_id;

/// Parses the request head starting at `start`; see [`crate::abi`] for the table.
/// Returns bytes consumed (> 0), `abi::NEED_MORE`, or `-code`.
///
/// A table shorter than `slot::HEADERS` gets `-OUTPUT_TOO_SMALL` and is not written.
pub fn parse_request(buf: &[u8], start: usize, table: &mut [u32]) -> i32 {
    if table.len() < slot::HEADERS {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    clear_outputs(table);
    if start >= buf.len() {
        return NEED_MORE;
    }
    let limits = Limits::read(table);
    match within_limit(buf, start, limits.head, |window| {
        request_head(window, start, table, limits)
    }) {
        Ok(end) => {
            table[slot::HEAD_END] = end as u32;
            (end - start) as i32
        }
        Err(Stop::More) => NEED_MORE,
        Err(Stop::Fail(code, pos)) => fail(table, code, pos, None),
    }
}

fn request_head(
    buf: &[u8],
    start: usize,
    table: &mut [u32],
    limits: Limits,
) -> Result<usize, Stop> {
    let len = buf.len();
    // Empty lines before the request line (a client's stray CRLF after a body).
    let mut i = skip_empty_lines(buf, start)?;

    // method SP
    let method_start = i;
    i = scan(buf, i, &TCHAR);
    if i == len {
        return Err(Stop::More);
    }
    if buf[i] != b' ' || i == method_start {
        let code = match buf[i] {
            b'\r' | b'\n' | b' ' | b'\t' => error::REQUEST_LINE,
            _ => error::METHOD,
        };
        return Stop::fail(code, i);
    }
    let method = method_id(&buf[method_start..i]);
    table[slot::METHOD] = method;
    table[slot::METHOD_START] = method_start as u32;
    table[slot::METHOD_END] = i as u32;
    i += 1;

    // request-target SP
    let target_start = i;
    i = scan_target(buf, i);
    if i - target_start > limits.target {
        return Stop::fail(error::TARGET_TOO_LONG, target_start + limits.target);
    }
    if i == len {
        return Err(Stop::More);
    }
    if buf[i] != b' ' || i == target_start {
        let code = match buf[i] {
            b'\r' | b'\n' | b' ' => error::REQUEST_LINE,
            _ => error::TARGET,
        };
        return Stop::fail(code, i);
    }
    let target_end = i;
    table[slot::TARGET_START] = target_start as u32;
    table[slot::TARGET_END] = target_end as u32;
    let target_form = request_target(buf, target_start, target_end, method, table)?;
    i += 1;

    // HTTP-version CRLF
    let (minor, after) = http_version(buf, i)?;
    i = crlf(buf, after, error::VERSION)?;
    table[slot::VERSION] = minor;

    let mut fields = Fields::default();
    let end = scan_fields::<true>(buf, i, table, limits.headers, &mut fields)?;

    // Checks that need the whole head.
    fields.write_content_length(table)?;
    if fields.transfer.present && (!fields.transfer.chunked_last || minor == 0) {
        return Stop::fail(error::TRANSFER_ENCODING_NOT_CHUNKED, fields.transfer_at);
    }
    if minor == 1 && fields.flags & flag::HOST_HEADER == 0 {
        return Stop::fail(error::HOST_MISSING, fields.blank_line_at);
    }

    let mut flags = fields.flags | fields.chunked_parameters(table)?;
    if minor == 1 {
        flags |= flag::VERSION_11;
    } else {
        // RFC 9110 §10.1.1: a 100-continue expectation in HTTP/1.0 MUST be
        // ignored (an HTTP/1.0 client does not understand a 1xx answer).
        flags &= !flag::EXPECT_CONTINUE;
    }
    match fields.content_length {
        Some(n) => {
            flags |= flag::CONTENT_LENGTH;
            if n == 0 {
                flags |= flag::BODY_NONE;
            }
        }
        None if fields.transfer.present => flags |= flag::CHUNKED,
        None => flags |= flag::BODY_NONE,
    }
    // Upgrade exists in HTTP/1.1 only (RFC 9110 §7.8: ignored in an HTTP/1.0 request).
    let upgrade_bits = flag::CONNECTION_UPGRADE | flag::UPGRADE;
    if minor == 1 && flags & upgrade_bits == upgrade_bits {
        flags |= flag::IS_UPGRADE;
    }
    if matches!(target_form, form::ORIGIN | form::ASTERISK) {
        table[slot::HOST_START] = fields.host.0 as u32;
        table[slot::HOST_END] = fields.host.1 as u32;
        table[slot::PORT] = fields.host_port;
    }
    table[slot::FLAGS] = flags;
    table[slot::HEADER_COUNT] = fields.count as u32;
    Ok(end)
}

/// Classifies and checks the request-target `buf[start..end]` (RFC 9112 §3.2),
/// writing FORM, SCHEME, HOST, PORT and PATH. Returns the form.
fn request_target(
    buf: &[u8],
    start: usize,
    end: usize,
    method: u32,
    table: &mut [u32],
) -> Result<u32, Stop> {
    let target = &buf[start..end];
    let bad = |pos: usize| Stop::Fail(error::TARGET, pos);
    let (form, path_start) = if method == method::CONNECT {
        // authority-form, and only it: host ":" port.
        let authority = parse_authority(buf, start, end).map_err(bad)?;
        if authority.port == 0 {
            return Err(bad(end - 1));
        }
        write_authority(
            table,
            authority.host_start,
            authority.host_end,
            authority.port,
        );
        (form::AUTHORITY, end)
    } else if target[0] == b'/' {
        (form::ORIGIN, start)
    } else if target == b"*" {
        if method != method::OPTIONS {
            return Err(bad(start));
        }
        (form::ASTERISK, end)
    } else {
        // absolute-form: scheme "://" authority path-abempty [ "?" query ]
        if !target[0].is_ascii_alphabetic() {
            return Err(bad(start));
        }
        let mut i = start + 1;
        while i < end && (buf[i].is_ascii_alphanumeric() || matches!(buf[i], b'+' | b'-' | b'.')) {
            i += 1;
        }
        if i == end || buf[i] != b':' {
            return Err(bad(i.min(end - 1)));
        }
        let name = &buf[start..i];
        let id = if name.eq_ignore_ascii_case(b"http") {
            scheme::HTTP
        } else if name.eq_ignore_ascii_case(b"https") {
            scheme::HTTPS
        } else {
            scheme::OTHER
        };
        for k in 1..3 {
            if i + k >= end || buf[i + k] != b'/' {
                return Err(bad((i + k).min(end - 1)));
            }
        }
        let authority_start = i + 3;
        let mut authority_end = authority_start;
        while authority_end < end && !matches!(buf[authority_end], b'/' | b'?' | b'#') {
            authority_end += 1;
        }
        let authority = parse_authority(buf, authority_start, authority_end).map_err(bad)?;
        write_authority(
            table,
            authority.host_start,
            authority.host_end,
            authority.port,
        );
        table[slot::SCHEME] = id;
        (form::ABSOLUTE, authority_end)
    };
    table[slot::FORM] = form;
    table[slot::PATH_START] = path_start as u32;
    table[slot::PATH_END] = end as u32;
    Ok(form)
}

fn write_authority(table: &mut [u32], host_start: usize, host_end: usize, port: u32) {
    table[slot::HOST_START] = host_start as u32;
    table[slot::HOST_END] = host_end as u32;
    table[slot::PORT] = port;
}

const _: () = assert!(abi::NEED_MORE == 0);

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
