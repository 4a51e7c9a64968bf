//! Server name from a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3).
//!
//! A transparent TLS listener (or a CONNECT policy) wants the name the client
//! asked for before any byte is relayed. [`peek_sni`] reads the first TLS record
//! without consuming it and reports the `server_name` span; the record itself is
//! then forwarded untouched.
//!
//! Limits and choices:
//! - Only the first record is read. A ClientHello split over several records
//!   (legal, but no browser or TLS library does it for hellos under 16 KiB) is
//!   reported as `TLS_RECORD`: the caller cannot route it by name.
//! - The record must be a handshake (22) with version 3.x and a length of 1 to
//!   2^14 + 2048 (what TLS stacks accept as a record length).
//! - Every length is checked against its parent: the hello must fill its
//!   handshake message exactly, the extensions their block exactly, and the
//!   server_name list its extension exactly. A second server_name extension or a
//!   second host_name entry is an error (RFC 8446 §4.2, RFC 6066 §3).
//! - The host name must be 1 to 255 bytes of visible ASCII (RFC 6066: a DNS
//!   hostname in ASCII, no trailing dot is our caller's business). A hello
//!   without server_name is fine: the span is (0, 0).

use crate::abi::{error, sni, NEED_MORE};

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const EXTENSION_SERVER_NAME: u16 = 0;
const NAME_TYPE_HOST_NAME: u8 = 0;
const RECORD_HEADER: usize = 5;
/// Largest record length accepted: 2^14 plus the 2048 bytes of expansion TLS
/// 1.2 allows (RFC 5246 §6.2.3), as common stacks do for any record.
const MAX_RECORD: usize = (1 << 14) + 2048;
const MAX_HOST_NAME: usize = 255;

/// A bounds-checked reader over the ClientHello; every short read is an error.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where `bytes` starts in the record's payload, to report spans.
    base: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], u32> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(error::TLS_RECORD)?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, u32> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, u32> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Result<usize, u32> {
        let b = self.take(3)?;
        Ok((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    /// A vector with a `len_bytes`-byte length prefix, as a reader of its own.
    fn vector(&mut self, len_bytes: usize) -> Result<Reader<'a>, u32> {
        let len = match len_bytes {
            1 => usize::from(self.u8()?),
            _ => usize::from(self.u16()?),
        };
        let base = self.base + self.at;
        Ok(Reader {
            bytes: self.take(len)?,
            at: 0,
            base,
        })
    }
    fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }
}

/// Peeks at the first TLS record at `buf[start..]` and writes the server name
/// span and the record length into `table` (`abi::sni`).
///
/// Returns 1 when the table is filled, `NEED_MORE` while the record is
/// incomplete, `-NOT_TLS` when the bytes are not a TLS handshake record at all
/// (decided from the first 3 bytes, so plain HTTP is recognised at once), or
/// `-TLS_RECORD` for a malformed or unusable ClientHello. Never panics: a
/// `start` past the buffer means no bytes yet, a table shorter than `sni::SIZE`
/// gives `-OUTPUT_TOO_SMALL`.
pub fn peek_sni(buf: &[u8], start: usize, table: &mut [u32]) -> i32 {
    if table.len() < sni::SIZE {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    table[..sni::SIZE].fill(0);
    let input = buf.get(start..).unwrap_or_default();
    match peek(input) {
        Ok(None) => NEED_MORE,
        Ok(Some((record_len, name))) => {
            table[sni::RECORD_LEN] = record_len as u32;
            if let Some((name_start, name_end)) = name {
                table[sni::NAME_START] = (start + name_start) as u32;
                table[sni::NAME_END] = (start + name_end) as u32;
            }
            1
        }
        Err(code) => -(code as i32),
    }
}

/// The record length and the name span (relative to `input`), or `None` when
/// the record is not complete yet.
type Peeked = Option<(usize, Option<(usize, usize)>)>;

fn peek(input: &[u8]) -> Result<Peeked, u32> {
    // Record header: type, version (3.x), length. The first bytes decide "not
    // TLS" as soon as they arrive.
    if let Some(&kind) = input.first() {
        if kind != CONTENT_HANDSHAKE {
            return Err(error::NOT_TLS);
        }
    }
    if let Some(&major) = input.get(1) {
        if major != 3 {
            return Err(error::NOT_TLS);
        }
    }
    if let Some(&minor) = input.get(2) {
        if minor > 4 {
            return Err(error::NOT_TLS);
        }
    }
    if input.len() < RECORD_HEADER {
        return Ok(None);
    }
    let length = usize::from(u16::from_be_bytes([input[3], input[4]]));
    if length == 0 || length > MAX_RECORD {
        return Err(error::TLS_RECORD);
    }
    // The handshake type is known before the record is complete: fail early.
    if let Some(&kind) = input.get(RECORD_HEADER) {
        if kind != HANDSHAKE_CLIENT_HELLO {
            return Err(error::TLS_RECORD);
        }
    }
    let record_len = RECORD_HEADER + length;
    if input.len() < record_len {
        return Ok(None);
    }
    let fragment = &input[RECORD_HEADER..record_len];
    let name = client_hello(fragment)?.map(|(s, e)| (s + RECORD_HEADER, e + RECORD_HEADER));
    Ok(Some((record_len, name)))
}

/// Walks the ClientHello in `fragment` (a whole record's payload) and returns
/// the host_name span relative to `fragment`.
fn client_hello(fragment: &[u8]) -> Result<Option<(usize, usize)>, u32> {
    let mut record = Reader {
        bytes: fragment,
        at: 0,
        base: 0,
    };
    let _handshake_type = record.u8()?;
    let length = record.u24()?;
    // A hello longer than this record continues in the next one: unsupported.
    let body = record.take(length)?;
    if !record.is_empty() {
        return Err(error::TLS_RECORD); // bytes after the hello in its record
    }
    let mut hello = Reader {
        bytes: body,
        at: 0,
        base: 4,
    };
    let _legacy_version = hello.u16()?;
    let _random = hello.take(32)?;
    let session_id = hello.vector(1)?;
    if session_id.bytes.len() > 32 {
        return Err(error::TLS_RECORD);
    }
    let cipher_suites = hello.vector(2)?;
    if cipher_suites.bytes.is_empty() || cipher_suites.bytes.len() % 2 != 0 {
        return Err(error::TLS_RECORD);
    }
    let compression = hello.vector(1)?;
    if compression.bytes.is_empty() {
        return Err(error::TLS_RECORD);
    }
    if hello.is_empty() {
        return Ok(None); // no extensions at all (SSLv3-style hello)
    }
    let mut extensions = hello.vector(2)?;
    if !hello.is_empty() {
        return Err(error::TLS_RECORD);
    }
    let mut name = None;
    let mut seen_server_name = false;
    while !extensions.is_empty() {
        let kind = extensions.u16()?;
        let data = extensions.vector(2)?;
        if kind != EXTENSION_SERVER_NAME {
            continue;
        }
        if seen_server_name {
            return Err(error::TLS_RECORD);
        }
        seen_server_name = true;
        name = server_name(data)?;
    }
    Ok(name)
}

/// The host_name in a server_name extension's data, as a span in `fragment`.
/// An empty extension (as a server sends it back) has no name.
fn server_name(mut data: Reader<'_>) -> Result<Option<(usize, usize)>, u32> {
    if data.is_empty() {
        return Ok(None);
    }
    let mut list = data.vector(2)?;
    if !data.is_empty() || list.is_empty() {
        return Err(error::TLS_RECORD);
    }
    let mut host = None;
    while !list.is_empty() {
        let name_type = list.u8()?;
        let entry = list.vector(2)?;
        if name_type != NAME_TYPE_HOST_NAME {
            continue; // other name types are skipped (none is defined today)
        }
        let bytes = entry.bytes;
        if host.is_some() || bytes.is_empty() || bytes.len() > MAX_HOST_NAME {
            return Err(error::TLS_RECORD);
        }
        if !bytes.iter().all(|&b| b.is_ascii_graphic()) {
            return Err(error::TLS_RECORD);
        }
        host = Some((entry.base, entry.base + bytes.len()));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_header_decides_not_tls_early() {
        let mut t = [0u32; sni::SIZE];
        assert_eq!(peek_sni(b"G", 0, &mut t), -(error::NOT_TLS as i32));
        assert_eq!(peek_sni(b"\x16\x02", 0, &mut t), -(error::NOT_TLS as i32));
        assert_eq!(
            peek_sni(b"\x16\x03\x05", 0, &mut t),
            -(error::NOT_TLS as i32)
        );
        assert_eq!(peek_sni(b"\x16\x03\x01", 0, &mut t), NEED_MORE);
        assert_eq!(peek_sni(b"", 0, &mut t), NEED_MORE);
        assert_eq!(
            peek_sni(b"\x16\x03\x01\x00\x00", 0, &mut t),
            -(error::TLS_RECORD as i32)
        );
        assert_eq!(
            peek_sni(b"\x16\x03\x01\x48\x01", 0, &mut t),
            -(error::TLS_RECORD as i32)
        );
        assert_eq!(
            peek_sni(b"\x16\x03\x01\x00\x10\x02", 0, &mut t),
            -(error::TLS_RECORD as i32)
        );
        assert_eq!(peek_sni(b"\x16\x03\x01\x00\x10\x01", 0, &mut t), NEED_MORE);
    }
}
