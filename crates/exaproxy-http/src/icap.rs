//! ICAP request heads (RFC 3507 §4): the request line, the ICAP header fields, the
//! `Encapsulated` list, and the encapsulated HTTP request head — parsed by
//! [`parse_request`] with the proxy's own strictness, so nothing an ICAP client
//! sends is read more loosely than what an HTTP client sends.
//!
//! Choices where the RFC leaves room, all on the strict side:
//! - Methods are OPTIONS, REQMOD and RESPMOD (others: `ICAP_METHOD`, answered 501);
//!   the URI must be `icap://authority[/service]`; the version exactly `ICAP/1.0`.
//! - Field lines follow HTTP's rules ([`scan_fields`]: no obs-fold, no bare CR or LF, no
//!   space before the colon). An ICAP message is framed by `Encapsulated` alone, so a
//!   Content-Length or Transfer-Encoding in the ICAP head is refused (`ICAP_HEADER`), as
//!   is a repeated Encapsulated or Preview, or a Preview that is not a number.
//! - `Encapsulated` is required in every request (§4.4.1) but OPTIONS, which Squid sends
//!   without one (read as `null-body=0`). Its entries are known names
//!   with decimal offsets, the first at 0, strictly increasing (an empty section is
//!   refused), headers before the one body entry that ends the list, in the order of
//!   §4.4.1: OPTIONS `(opt-body|null-body)`, REQMOD `req-hdr (req-body|null-body)` (a
//!   REQMOD with no request to look at is refused), RESPMOD
//!   `[req-hdr] [res-hdr] (res-body|null-body)`.
//! - The ICAP head and the encapsulated heads together must fit `LIMIT_HEAD`: an
//!   Encapsulated list pointing beyond it is `HEAD_TOO_LARGE` at once.
//! - The req-hdr section must be exactly one complete HTTP request head; a res-hdr
//!   section is not read (RESPMOD is refused by the listener) but must be there.
//!
//! Errors carry the ICAP status to answer with in `icap::ERROR_STATUS`: 400 for any
//! malformed message (the encapsulated head's HTTP errors included), 501 for an
//! unknown method, 505 for another version. Every decision depends only on the bytes
//! before it, so a message split across reads parses as if it came at once.

use crate::abi::{error, icap, icap_flag, icap_method, record, slot, ERRORS, NEED_MORE};
use crate::authority::parse_authority;
use crate::head::{
    clear_outputs, crlf, scan, scan_fields, scan_target, within_limit, Fields, Stop, TCHAR,
};
use crate::request::parse_request;

/// Head limit when `icap::LIMIT_HEAD` is 0.
pub const DEFAULT_LIMIT: usize = 65536;
/// ICAP header lines accepted (Squid sends about ten).
pub const MAX_FIELDS: usize = 64;
/// Digits of an Encapsulated offset or a Preview size (below 10^9).
const MAX_DIGITS: usize = 9;

/// Parses the ICAP request at `buf[start..]`: its head into `table` (see `abi::icap`) and
/// the encapsulated HTTP request head into `head` (a head table, see `abi::slot`, whose
/// limits apply). Returns the bytes up to the body (or to the end of a null-body message)
/// when complete, `abi::NEED_MORE`, or `-code`.
pub fn parse_icap_request(buf: &[u8], start: usize, table: &mut [u32], head: &mut [u32]) -> i32 {
    if table.len() < icap::SIZE || head.len() < slot::HEADERS {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    table[icap::METHOD..icap::SIZE].fill(0);
    clear_outputs(head);
    if start >= buf.len() {
        return NEED_MORE;
    }
    let limit = match table[icap::LIMIT_HEAD] {
        0 => DEFAULT_LIMIT,
        n => n as usize,
    }
    .min(i32::MAX as usize);
    match within_limit(buf, start, limit, |w| message(w, start, limit, table, head)) {
        Ok(end) => {
            table[icap::BODY] = end as u32;
            (end - start) as i32
        }
        Err(Stop::More) => NEED_MORE,
        Err(Stop::Fail(code, pos)) => {
            table[icap::ERROR_POS] = pos as u32;
            table[icap::ERROR_STATUS] = icap_status(code);
            -(code as i32)
        }
    }
}

/// The ICAP status for an error code: the ICAP codes' own, 500 for a caller's mistake,
/// 400 for everything else (a malformed encapsulated head is a malformed ICAP message).
pub fn icap_status(code: u32) -> u32 {
    if code >= error::ICAP_REQUEST_LINE || code == error::OUTPUT_TOO_SMALL {
        u32::from(ERRORS[code as usize - 1].2)
    } else {
        400
    }
}

fn message(
    buf: &[u8],
    start: usize,
    limit: usize,
    t: &mut [u32],
    head: &mut [u32],
) -> Result<usize, Stop> {
    let len = buf.len();
    // method SP
    let mut i = scan(buf, start, &TCHAR);
    if i == len {
        return Err(Stop::More);
    }
    if buf[i] != b' ' || i == start {
        return Stop::fail(error::ICAP_REQUEST_LINE, i);
    }
    let method = match &buf[start..i] {
        b"OPTIONS" => icap_method::OPTIONS,
        b"REQMOD" => icap_method::REQMOD,
        b"RESPMOD" => icap_method::RESPMOD,
        _ => return Stop::fail(error::ICAP_METHOD, start),
    };
    t[icap::METHOD] = method;
    i += 1;

    // icap-URI SP
    let uri_start = i;
    i = scan_target(buf, i);
    if i == len {
        return Err(Stop::More);
    }
    if buf[i] != b' ' || i == uri_start {
        return Stop::fail(error::ICAP_REQUEST_LINE, i);
    }
    uri(buf, uri_start, i, t)?;
    i += 1;

    // "ICAP/1.0" CRLF
    for (k, &want) in b"ICAP/1.0".iter().enumerate() {
        match buf.get(i + k) {
            None => return Err(Stop::More),
            Some(&c) if c == want => {}
            Some(_) if k < 5 => return Stop::fail(error::ICAP_REQUEST_LINE, i + k),
            Some(_) => return Stop::fail(error::ICAP_VERSION, i + k),
        }
    }
    i = crlf(buf, i + 8, error::ICAP_VERSION)?;

    let mut records = [0u32; slot::HEADERS + record::SIZE * MAX_FIELDS];
    let mut fields = Fields::default();
    let head_end = scan_fields::<false>(buf, i, &mut records, MAX_FIELDS, &mut fields)?;
    t[icap::HEAD_END] = head_end as u32;
    if fields.content_length.is_some() {
        return Stop::fail(error::ICAP_HEADER, fields.content_length_at);
    }
    if fields.transfer.present {
        return Stop::fail(error::ICAP_HEADER, fields.transfer_at);
    }
    if fields.flags & crate::abi::flag::CONNECTION_CLOSE != 0 {
        t[icap::FLAGS] |= icap_flag::CONNECTION_CLOSE;
    }
    let mut encapsulated = None;
    for r in 0..fields.count {
        let at = slot::HEADERS + r * record::SIZE;
        let (ns, ne) = (
            records[at + record::NAME_START] as usize,
            records[at + record::NAME_END] as usize,
        );
        let (vs, ve) = (
            records[at + record::VALUE_START] as usize,
            records[at + record::VALUE_END] as usize,
        );
        known_field(buf, &buf[ns..ne], ns, vs, ve, t, &mut encapsulated)?;
    }
    let list = match encapsulated {
        Some((vs, ve)) => Encapsulated::parse(buf, vs, ve, method)?,
        // Squid sends its OPTIONS without one: the message ends with its head.
        None if method == icap_method::OPTIONS => Encapsulated::NONE,
        None => return Stop::fail(error::ICAP_ENCAPSULATED_MISSING, fields.blank_line_at),
    };
    let vs = encapsulated.map_or(head_end, |(vs, _)| vs);
    let body_at = head_end + list.body_offset;
    if body_at - start > limit {
        return Stop::fail(error::HEAD_TOO_LARGE, vs);
    }
    if list.body != Body::Null {
        t[icap::FLAGS] |= icap_flag::BODY;
    }
    if len < body_at {
        return Err(Stop::More);
    }
    if let Some((from, to)) = list.res_hdr {
        t[icap::FLAGS] |= icap_flag::RES_HDR;
        t[icap::RES_HDR_START] = (head_end + from) as u32;
        t[icap::RES_HDR_END] = (head_end + to) as u32;
    }
    if let Some((from, to)) = list.req_hdr {
        let (from, to) = (head_end + from, head_end + to);
        t[icap::FLAGS] |= icap_flag::REQ_HDR;
        t[icap::REQ_HDR_START] = from as u32;
        t[icap::REQ_HDR_END] = to as u32;
        let rc = parse_request(&buf[..to], from, head);
        if rc < 0 {
            return Stop::fail((-rc) as u32, head[slot::ERROR_POS] as usize);
        }
        if rc == 0 || from + rc as usize != to {
            return Stop::fail(
                error::ICAP_SECTION,
                if rc == 0 { to } else { from + rc as usize },
            );
        }
    }
    Ok(body_at)
}

/// Checks the URI `buf[start..end]` (`icap://authority[/service]`) and writes its spans.
fn uri(buf: &[u8], start: usize, end: usize, t: &mut [u32]) -> Result<(), Stop> {
    const SCHEME: &[u8] = b"icap://";
    if end - start <= SCHEME.len() || !buf[start..start + SCHEME.len()].eq_ignore_ascii_case(SCHEME)
    {
        return Stop::fail(error::ICAP_URI, start);
    }
    let authority = start + SCHEME.len();
    let mut service = authority;
    while service < end && !matches!(buf[service], b'/' | b'?' | b'#') {
        service += 1;
    }
    if service < end && buf[service] != b'/' {
        return Stop::fail(error::ICAP_URI, service);
    }
    parse_authority(buf, authority, service).map_err(|p| Stop::Fail(error::ICAP_URI, p))?;
    t[icap::URI_START] = start as u32;
    t[icap::URI_END] = end as u32;
    t[icap::SERVICE_START] = service as u32;
    t[icap::SERVICE_END] = end as u32;
    Ok(())
}

/// The ICAP fields the listener reads: Encapsulated (kept for later), Preview, Allow and
/// the client's identity from the X- fields Squid sends.
fn known_field(
    buf: &[u8],
    name: &[u8],
    at: usize,
    vs: usize,
    ve: usize,
    t: &mut [u32],
    encapsulated: &mut Option<(usize, usize)>,
) -> Result<(), Stop> {
    let is = |want: &[u8]| name.eq_ignore_ascii_case(want);
    let once = |t: &[u32], bit: u32| {
        if t[icap::FLAGS] & bit != 0 {
            Stop::fail(error::ICAP_HEADER, at)
        } else {
            Ok(())
        }
    };
    if is(b"encapsulated") {
        if encapsulated.is_some() {
            return Stop::fail(error::ICAP_HEADER, at);
        }
        *encapsulated = Some((vs, ve));
    } else if is(b"preview") {
        once(t, icap_flag::PREVIEW)?;
        let digits = &buf[vs..ve];
        if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.iter().all(u8::is_ascii_digit)
        {
            return Stop::fail(error::ICAP_HEADER, vs);
        }
        t[icap::PREVIEW] = decimal(digits) as u32;
        t[icap::FLAGS] |= icap_flag::PREVIEW;
    } else if is(b"allow") {
        // A token list; only 204 means something to this server (206 is Squid's extension).
        if buf[vs..ve]
            .split(|&b| b == b',')
            .any(|item| item.trim_ascii() == b"204")
        {
            t[icap::FLAGS] |= icap_flag::ALLOW_204;
        }
    } else if is(b"x-client-ip") {
        (t[icap::CLIENT_IP_START], t[icap::CLIENT_IP_END]) = (vs as u32, ve as u32);
    } else if is(b"x-authenticated-user") {
        (t[icap::USER_START], t[icap::USER_END]) = (vs as u32, ve as u32);
    } else if is(b"x-authenticated-groups") {
        (t[icap::GROUPS_START], t[icap::GROUPS_END]) = (vs as u32, ve as u32);
    }
    Ok(())
}

fn decimal(digits: &[u8]) -> usize {
    digits.iter().fold(0, |n, d| n * 10 + usize::from(d - b'0'))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Request,
    Response,
    Options,
    Null,
}

/// A checked `Encapsulated` list: section spans relative to the ICAP body, and the body entry.
struct Encapsulated {
    req_hdr: Option<(usize, usize)>,
    res_hdr: Option<(usize, usize)>,
    body: Body,
    body_offset: usize,
}

impl Encapsulated {
    /// No sections and no body (an OPTIONS request without Encapsulated).
    const NONE: Encapsulated = Encapsulated {
        req_hdr: None,
        res_hdr: None,
        body: Body::Null,
        body_offset: 0,
    };

    /// `entry *( OWS "," OWS entry )` in `buf[vs..ve]`, checked against `method`'s grammar.
    fn parse(buf: &[u8], vs: usize, ve: usize, method: u32) -> Result<Encapsulated, Stop> {
        let bad = |pos: usize| Stop::Fail(error::ICAP_ENCAPSULATED, pos.min(ve));
        let mut out = Encapsulated {
            req_hdr: None,
            res_hdr: None,
            body: Body::Null,
            body_offset: 0,
        };
        // Header sections seen so far: (rank, offset) of the last one; rank orders req < res.
        let mut last: Option<(u8, usize)> = None;
        let mut i = vs;
        loop {
            let name_start = i;
            while i < ve && (buf[i].is_ascii_lowercase() || buf[i] == b'-') {
                i += 1;
            }
            let name = &buf[name_start..i];
            if i == ve || buf[i] != b'=' {
                return Err(bad(i));
            }
            i += 1;
            let digits_start = i;
            while i < ve && buf[i].is_ascii_digit() {
                i += 1;
            }
            if i == digits_start || i - digits_start > MAX_DIGITS {
                return Err(bad(digits_start));
            }
            let offset = decimal(&buf[digits_start..i]);
            match last {
                None if offset != 0 => return Err(bad(digits_start)),
                Some((_, before)) if offset <= before => return Err(bad(digits_start)),
                _ => {}
            }
            let body = match name {
                b"req-hdr" | b"res-hdr" => {
                    let rank = u8::from(name == b"res-hdr");
                    let allowed = match method {
                        icap_method::REQMOD => rank == 0,
                        icap_method::RESPMOD => true,
                        _ => false,
                    };
                    if !allowed || last.is_some_and(|(r, _)| r >= rank) {
                        return Err(bad(name_start));
                    }
                    if let Some((r, from)) = last {
                        out.close(r, from, offset);
                    }
                    last = Some((rank, offset));
                    None
                }
                b"req-body" if method == icap_method::REQMOD => Some(Body::Request),
                b"res-body" if method == icap_method::RESPMOD => Some(Body::Response),
                b"opt-body" if method == icap_method::OPTIONS => Some(Body::Options),
                b"null-body" => Some(Body::Null),
                _ => return Err(bad(name_start)),
            };
            while i < ve && (buf[i] == b' ' || buf[i] == b'\t') {
                i += 1;
            }
            if let Some(body) = body {
                if i != ve || (method == icap_method::REQMOD && last.is_none()) {
                    return Err(bad(i));
                }
                if let Some((r, from)) = last {
                    out.close(r, from, offset);
                }
                out.body = body;
                out.body_offset = offset;
                return Ok(out);
            }
            if i == ve || buf[i] != b',' {
                return Err(bad(i));
            }
            i += 1;
            while i < ve && (buf[i] == b' ' || buf[i] == b'\t') {
                i += 1;
            }
        }
    }

    /// The header section of `rank` that started at `from` ends at `to`.
    fn close(&mut self, rank: u8, from: usize, to: usize) {
        if rank == 0 {
            self.req_hdr = Some((from, to));
        } else {
            self.res_hdr = Some((from, to));
        }
    }
}

const _: () = assert!(NEED_MORE == 0);

#[cfg(test)]
#[path = "icap_tests.rs"]
mod tests;
