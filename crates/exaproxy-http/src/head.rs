//! What request and response heads share: the table's limits and bookkeeping, and
//! the field-line scanner (RFC 9112 §5, RFC 9110 §5.5). The byte classes it
//! validates with are in [`crate::byte_class`] (re-exported here).
//!
//! The scanner makes one pass over the bytes, validating each byte against a
//! 256-entry class table as it goes, writes one table record per field line and
//! looks at a value a second time only for the handful of fields that decide the
//! message's framing (Host, Content-Length, Transfer-Encoding, Connection,
//! Proxy-Connection, Upgrade, Expect).
//!
//! Every decision depends only on the bytes before the current one, so parsing a
//! prefix gives either `NEED_MORE` or the same error as the whole input; the
//! checks that need the whole head (Content-Length with Transfer-Encoding, a
//! missing Host) run after its blank line.

use crate::abi::{self, error, flag, header, record, slot};
use crate::authority::parse_authority;
// Re-exported: they were public here before byte_class.rs existed, and the scanner uses them.
pub use crate::byte_class::{
    is_tchar, scan, scan_field_value, scan_target, FIELD_VALUE, TARGET, TCHAR,
};
use crate::framing::{connection_flags, content_length, expect_flags, TransferCodings};
use crate::known::header_id;

/// Default head limit when `LIMIT_HEAD` is 0.
pub const DEFAULT_LIMIT_HEAD: usize = 65536;
/// Default request-target limit when `LIMIT_TARGET` is 0.
pub const DEFAULT_LIMIT_TARGET: usize = 8192;
/// Default header-line limit when `LIMIT_HEADERS` is 0.
pub const DEFAULT_LIMIT_HEADERS: usize = 100;

/// Why a scan stopped without a complete head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The bytes so far are a valid prefix: call again with more.
    More,
    /// Error `code` at absolute offset `pos`.
    Fail(u32, usize),
}

impl Stop {
    #[inline]
    pub fn fail<T>(code: u32, pos: usize) -> Result<T, Stop> {
        Err(Stop::Fail(code, pos))
    }
}

/// The three limits of the table, defaults applied.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub head: usize,
    pub target: usize,
    /// Header records that fit: `LIMIT_HEADERS` capped by the table length.
    pub headers: usize,
}

impl Limits {
    pub fn read(table: &[u32]) -> Limits {
        let or = |v: u32, d: usize| if v == 0 { d } else { v as usize };
        let room = (table.len() - slot::HEADERS) / record::SIZE;
        Limits {
            // Capped so that `consumed` always fits the i32 result.
            head: or(table[slot::LIMIT_HEAD], DEFAULT_LIMIT_HEAD).min(i32::MAX as usize),
            target: or(table[slot::LIMIT_TARGET], DEFAULT_LIMIT_TARGET),
            headers: or(table[slot::LIMIT_HEADERS], DEFAULT_LIMIT_HEADERS).min(room),
        }
    }
}

/// Clears every output slot (the limits stay), so no value of a previous parse
/// survives into this one.
#[inline]
pub fn clear_outputs(table: &mut [u32]) {
    table[slot::FLAGS..slot::HEADERS].fill(0);
}

/// Writes an error into the table and returns `-code`.
pub fn fail(table: &mut [u32], code: u32, pos: usize, status_override: Option<u32>) -> i32 {
    table[slot::ERROR_POS] = pos as u32;
    table[slot::ERROR_STATUS] =
        status_override.unwrap_or_else(|| u32::from(abi::ERRORS[code as usize - 1].2));
    -(code as i32)
}

/// Runs `scan` on the bytes that fit the head limit; a head that is still
/// incomplete when more than `limit` bytes are available is `HEAD_TOO_LARGE`.
pub fn within_limit<T>(
    buf: &[u8],
    start: usize,
    limit: usize,
    scan: impl FnOnce(&[u8]) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let end = start.saturating_add(limit).min(buf.len());
    match scan(&buf[..end]) {
        Err(Stop::More) if buf.len() - start > limit => {
            Err(Stop::Fail(error::HEAD_TOO_LARGE, start + limit))
        }
        other => other,
    }
}

/// Expects CRLF at `i`: returns the offset after it.
#[inline]
pub fn crlf(buf: &[u8], i: usize, code_other: u32) -> Result<usize, Stop> {
    match buf.get(i) {
        None => Err(Stop::More),
        Some(b'\r') => match buf.get(i + 1) {
            None => Err(Stop::More),
            Some(b'\n') => Ok(i + 2),
            Some(_) => Stop::fail(error::BARE_CR, i),
        },
        Some(b'\n') => Stop::fail(error::BARE_LF, i),
        Some(_) => Stop::fail(code_other, i),
    }
}

/// Skips empty lines (CRLF) before a start line; returns the offset of its first byte.
/// A bare LF or CR there is an error, like anywhere else in a head.
pub fn skip_empty_lines(buf: &[u8], mut i: usize) -> Result<usize, Stop> {
    loop {
        match buf.get(i) {
            None => return Err(Stop::More),
            Some(b'\r') => i = crlf(buf, i, error::BARE_CR)?,
            Some(b'\n') => return Stop::fail(error::BARE_LF, i),
            Some(_) => return Ok(i),
        }
    }
}

/// What the field lines said about framing and the connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fields {
    /// `CONNECTION_*`, `UPGRADE`, `EXPECT_*`, `HOST_HEADER`.
    pub flags: u32,
    pub count: usize,
    /// The (only) Host value span.
    pub host: (usize, usize),
    pub host_port: u32,
    pub content_length: Option<u64>,
    /// Name offset of the Content-Length line.
    pub content_length_at: usize,
    pub transfer: TransferCodings,
    /// Name offset of the first Transfer-Encoding line.
    pub transfer_at: usize,
    /// Offset of the blank line that ends the head.
    pub blank_line_at: usize,
}

impl Fields {
    /// Refuses Content-Length together with Transfer-Encoding (requests and responses alike,
    /// RFC 9112 §6.3), else writes a Content-Length into the table.
    pub fn write_content_length(&self, table: &mut [u32]) -> Result<(), Stop> {
        if let Some(n) = self.content_length {
            if self.transfer.present {
                let at = self.content_length_at.max(self.transfer_at);
                return Stop::fail(error::CONTENT_LENGTH_AND_TRANSFER_ENCODING, at);
            }
            write_length(table, n);
        }
        Ok(())
    }

    /// `CHUNKED_PARAMETERS` when the final coding is a `chunked` with parameters (its cut
    /// goes in `slot::CHUNKED_END`); parameters on a `chunked` that is not the final coding
    /// are refused, since the cut would make it final.
    pub fn chunked_parameters(&self, table: &mut [u32]) -> Result<u32, Stop> {
        match self.transfer.chunked_cut {
            None => Ok(0),
            Some(_) if !self.transfer.chunked_last => {
                Stop::fail(error::TRANSFER_ENCODING_NOT_CHUNKED, self.transfer_at)
            }
            Some(cut) => {
                table[slot::CHUNKED_END] = cut as u32;
                Ok(flag::CHUNKED_PARAMETERS)
            }
        }
    }
}

/// Scans field lines from `i` to the blank line; returns the offset after it.
/// `REQUEST` enables the request-only checks (Host syntax and count, Expect).
pub fn scan_fields<const REQUEST: bool>(
    buf: &[u8],
    mut i: usize,
    table: &mut [u32],
    max_headers: usize,
    fields: &mut Fields,
) -> Result<usize, Stop> {
    let len = buf.len();
    loop {
        // Start of a line: the blank line, or a field name.
        let Some(&first) = buf.get(i) else {
            return Err(Stop::More);
        };
        match first {
            b'\r' => {
                fields.blank_line_at = i;
                return crlf(buf, i, error::HEADER_NAME);
            }
            b'\n' => return Stop::fail(error::BARE_LF, i),
            b' ' | b'\t' => return Stop::fail(error::OBS_FOLD, i),
            _ => {}
        }
        let name_start = i;
        if fields.count == max_headers {
            return Stop::fail(error::TOO_MANY_HEADERS, name_start);
        }
        i = scan(buf, i, &TCHAR);
        if i == len {
            return Err(Stop::More);
        }
        if buf[i] != b':' || i == name_start {
            let code = match buf[i] {
                b' ' | b'\t' if i > name_start => error::SPACE_BEFORE_COLON,
                _ => error::HEADER_NAME,
            };
            return Stop::fail(code, i);
        }
        let name_end = i;
        i += 1;
        while i < len && (buf[i] == b' ' || buf[i] == b'\t') {
            i += 1;
        }
        let value_start = i;
        i = scan_field_value(buf, i);
        let mut value_end = i;
        i = crlf(buf, i, error::HEADER_VALUE)?;
        while value_end > value_start && (buf[value_end - 1] == b' ' || buf[value_end - 1] == b'\t')
        {
            value_end -= 1;
        }

        let id = header_id(&buf[name_start..name_end]);
        let r = slot::HEADERS + fields.count * record::SIZE;
        table[r + record::NAME_START] = name_start as u32;
        table[r + record::NAME_END] = name_end as u32;
        table[r + record::VALUE_START] = value_start as u32;
        table[r + record::VALUE_END] = value_end as u32;
        table[r + record::NAME_ID] = id;
        fields.count += 1;
        if id != header::OTHER {
            field_semantics::<REQUEST>(buf, id, name_start, value_start, value_end, fields)?;
        }
    }
}

/// The checks and flags of the few fields that matter to framing and routing.
#[inline]
fn field_semantics<const REQUEST: bool>(
    buf: &[u8],
    id: u32,
    name_start: usize,
    value_start: usize,
    value_end: usize,
    fields: &mut Fields,
) -> Result<(), Stop> {
    match id {
        header::CONTENT_LENGTH => {
            if fields.content_length.is_some() {
                return Stop::fail(error::CONTENT_LENGTH_MULTIPLE, name_start);
            }
            let n =
                content_length(buf, value_start, value_end).map_err(|(c, p)| Stop::Fail(c, p))?;
            fields.content_length = Some(n);
            fields.content_length_at = name_start;
        }
        header::TRANSFER_ENCODING => {
            if !fields.transfer.present {
                fields.transfer_at = name_start;
            }
            fields
                .transfer
                .add(buf, value_start, value_end)
                .map_err(|(c, p)| Stop::Fail(c, p))?;
        }
        header::CONNECTION => fields.flags |= connection_flags(buf, value_start, value_end),
        // Proxy-Connection is non-standard but still sent (by old clients, and by
        // some servers in responses): honoured like Connection, as llhttp does.
        header::PROXY_CONNECTION => fields.flags |= connection_flags(buf, value_start, value_end),
        header::UPGRADE => fields.flags |= flag::UPGRADE,
        header::EXPECT if REQUEST => fields.flags |= expect_flags(buf, value_start, value_end),
        header::HOST if REQUEST => {
            if fields.flags & flag::HOST_HEADER != 0 {
                return Stop::fail(error::HOST_MULTIPLE, name_start);
            }
            fields.flags |= flag::HOST_HEADER;
            let authority = parse_authority(buf, value_start, value_end)
                .map_err(|p| Stop::Fail(error::HOST_INVALID, p))?;
            fields.host = (authority.host_start, authority.host_end);
            fields.host_port = authority.port;
        }
        _ => {}
    }
    Ok(())
}

/// Writes Content-Length into `LENGTH_LO` / `LENGTH_HI`.
#[inline]
pub fn write_length(table: &mut [u32], n: u64) {
    table[slot::LENGTH_LO] = n as u32;
    table[slot::LENGTH_HI] = (n >> 32) as u32;
}

/// Parses `HTTP/D.D` at `i`; returns (minor version, offset after it).
/// Any other `HTTP/x.y` is `VERSION_UNSUPPORTED`; anything else is `VERSION`.
pub fn http_version(buf: &[u8], i: usize) -> Result<(u32, usize), Stop> {
    const PREFIX: &[u8] = b"HTTP/";
    for (k, &want) in PREFIX.iter().enumerate() {
        match buf.get(i + k) {
            None => return Err(Stop::More),
            Some(&c) if c == want => {}
            Some(_) => return Stop::fail(error::VERSION, i + k),
        }
    }
    let at = |k: usize| buf.get(i + k).copied().ok_or(Stop::More);
    let major = at(5)?;
    if !major.is_ascii_digit() {
        return Stop::fail(error::VERSION, i + 5);
    }
    if at(6)? != b'.' {
        return Stop::fail(error::VERSION, i + 6);
    }
    let minor = at(7)?;
    if !minor.is_ascii_digit() {
        return Stop::fail(error::VERSION, i + 7);
    }
    if major != b'1' || minor > b'1' {
        return Stop::fail(error::VERSION_UNSUPPORTED, i + 5);
    }
    Ok((u32::from(minor - b'0'), i + 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_cap() {
        let mut t = vec![0u32; slot::HEADERS + 3 * record::SIZE + 2];
        let l = Limits::read(&t);
        assert_eq!(
            (l.head, l.target, l.headers),
            (DEFAULT_LIMIT_HEAD, DEFAULT_LIMIT_TARGET, 3)
        );
        t[..3].copy_from_slice(&[10, 20, 2]);
        let l = Limits::read(&t);
        assert_eq!((l.head, l.target, l.headers), (10, 20, 2));
        let t = vec![0u32; slot::HEADERS + 1000 * record::SIZE];
        assert_eq!(Limits::read(&t).headers, DEFAULT_LIMIT_HEADERS);
    }
}
