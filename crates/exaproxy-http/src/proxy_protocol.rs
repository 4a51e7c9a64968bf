//! HAProxy PROXY protocol v1 and v2 (`doc/proxy-protocol.txt`, rev. 2020/03/05).
//!
//! A listener configured for the PROXY protocol calls [`parse_proxy_header`] on
//! the first bytes of each connection until it returns a complete header, and
//! takes the real client address from the result table (`abi::proxy`).
//!
//! The spec says to abort on anything malformed and never to process a partial
//! header, so the parser is strict, and it rejects a prefix as soon as no valid
//! header can start with it (a plain HTTP request on a PROXY listener is refused
//! at its first byte, without waiting for 107 bytes).
//!
//! Result table: `COMMAND` is 1 only when `FAMILY` is 4 or 6 and the addresses
//! are filled in; LOCAL, `UNKNOWN`, and the families we do not route (UNSPEC, UDP,
//! UNIX) give `COMMAND` 0 and `FAMILY` 0: use the socket's own endpoints.

use crate::abi::{error, proxy, NEED_MORE};

/// The v2 signature (12 bytes).
const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];
/// The fixed part of a v2 header: signature, version/command, family, length.
const V2_FIXED: usize = 16;
/// The v1 line starts with this.
const V1_PREFIX: &[u8] = b"PROXY ";
/// Longest v1 line, CRLF included.
const V1_MAX_LINE: usize = 107;

const TLV_AUTHORITY: u8 = 0x02;
const TLV_CRC32C: u8 = 0x03;
const TLV_UNIQUE_ID: u8 = 0x05;
const TLV_SSL: u8 = 0x20;
const MAX_UNIQUE_ID: usize = 128;
/// The SSL TLV's fixed part before its sub-TLVs: `client` (1) and `verify` (4).
const SSL_FIXED: usize = 5;

type Parsed = Result<usize, u32>;

/// Parses a PROXY header at `buf[start..]` into `table` (`abi::proxy`).
///
/// Returns the header's length in bytes when complete (the connection's data
/// starts after it), `NEED_MORE` while it is incomplete but still valid so far,
/// or `-PROXY_PROTOCOL`. Never panics: a `start` past the buffer means no bytes
/// yet, and a table shorter than `proxy::SIZE` slots gives `-OUTPUT_TOO_SMALL`.
pub fn parse_proxy_header(buf: &[u8], start: usize, table: &mut [u32]) -> i32 {
    if table.len() < proxy::SIZE {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    table[..proxy::SIZE].fill(0);
    let input = buf.get(start..).unwrap_or_default();
    let result = match input.first() {
        None => Ok(0),
        Some(b'P') => parse_v1(input, table),
        Some(0x0D) => parse_v2(input, start, table),
        Some(_) => Err(error::PROXY_PROTOCOL),
    };
    match result {
        Ok(0) => {
            table[..proxy::SIZE].fill(0);
            NEED_MORE
        }
        Ok(n) => n as i32,
        Err(code) => {
            table[..proxy::SIZE].fill(0);
            -(code as i32)
        }
    }
}

// ---------------------------------------------------------------------------
// v1

/// Parses a v1 line; `Ok(0)` means "incomplete".
fn parse_v1(input: &[u8], table: &mut [u32]) -> Parsed {
    let shown = input.len().min(V1_PREFIX.len());
    if input[..shown] != V1_PREFIX[..shown] {
        return Err(error::PROXY_PROTOCOL);
    }
    // Find the CRLF; a CR or LF anywhere else is an error, and the CR must sit
    // early enough for the line to fit in 107 bytes.
    let window = &input[..input.len().min(V1_MAX_LINE - 1)];
    let Some(cr) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        if input.len() >= V1_MAX_LINE - 1 {
            return Err(error::PROXY_PROTOCOL);
        }
        check_v1_prefix(input)?;
        return Ok(0);
    };
    if input[cr] == b'\n' {
        return Err(error::PROXY_PROTOCOL);
    }
    match input.get(cr + 1) {
        None => {
            check_v1_prefix(&input[..cr])?;
            return Ok(0);
        }
        Some(b'\n') => {}
        Some(_) => return Err(error::PROXY_PROTOCOL),
    }
    parse_v1_line(&input[..cr], table)?;
    Ok(cr + 2)
}

/// Rejects an incomplete v1 line that no valid line can start with.
fn check_v1_prefix(partial: &[u8]) -> Result<(), u32> {
    let rest = partial.get(V1_PREFIX.len()..).unwrap_or_default();
    let protocol_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let protocol = &rest[..protocol_end];
    let complete = protocol_end < rest.len();
    let known = [&b"TCP4"[..], b"TCP6", b"UNKNOWN"].into_iter().any(|p| {
        if complete {
            protocol == p
        } else {
            p.starts_with(protocol)
        }
    });
    if !known {
        return Err(error::PROXY_PROTOCOL);
    }
    if !complete || protocol == b"UNKNOWN" {
        return Ok(());
    }
    // TCP4/TCP6: addresses and ports only, single spaces, at most four fields.
    let fields = &rest[protocol_end + 1..];
    let valid_bytes = fields
        .iter()
        .all(|&b| b.is_ascii_hexdigit() || b == b'.' || b == b':' || b == b' ');
    let mut spaces = 0;
    let mut previous = b' ';
    for &b in fields {
        if b == b' ' {
            spaces += 1;
            if previous == b' ' {
                return Err(error::PROXY_PROTOCOL);
            }
        }
        previous = b;
    }
    if !valid_bytes || spaces > 3 {
        return Err(error::PROXY_PROTOCOL);
    }
    Ok(())
}

/// Parses a complete v1 line (without its CRLF).
fn parse_v1_line(line: &[u8], table: &mut [u32]) -> Result<(), u32> {
    let bad = error::PROXY_PROTOCOL;
    let rest = &line[V1_PREFIX.len()..];
    table[proxy::VERSION] = 1;
    if rest == b"UNKNOWN" || rest.starts_with(b"UNKNOWN ") {
        // Whatever follows UNKNOWN is ignored: the socket's endpoints are used.
        return Ok(());
    }
    let mut fields = rest.split(|&b| b == b' ');
    let (Some(protocol), Some(src), Some(dst), Some(sport), Some(dport), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(bad);
    };
    let (family, src, dst) = match protocol {
        b"TCP4" => {
            let src = parse_ipv4(src).ok_or(bad)?;
            let dst = parse_ipv4(dst).ok_or(bad)?;
            (4, [src, 0, 0, 0], [dst, 0, 0, 0])
        }
        b"TCP6" => (6, parse_ipv6(src).ok_or(bad)?, parse_ipv6(dst).ok_or(bad)?),
        _ => return Err(bad),
    };
    table[proxy::COMMAND] = 1;
    table[proxy::FAMILY] = family;
    table[proxy::SRC_PORT] = parse_port(sport).ok_or(bad)?;
    table[proxy::DST_PORT] = parse_port(dport).ok_or(bad)?;
    table[proxy::SRC_ADDR..proxy::SRC_ADDR + 4].copy_from_slice(&src);
    table[proxy::DST_ADDR..proxy::DST_ADDR + 4].copy_from_slice(&dst);
    Ok(())
}

/// A decimal number of at most `max_digits` digits without a leading zero.
fn parse_decimal(text: &[u8], max_digits: usize) -> Option<u32> {
    if text.is_empty() || text.len() > max_digits || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    text.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// A port: 0–65535 without leading zeros.
fn parse_port(text: &[u8]) -> Option<u32> {
    parse_decimal(text, 5).filter(|&p| p <= 65535)
}

/// Dotted-decimal IPv4, no leading zeros, as a big-endian word.
pub(crate) fn parse_ipv4(text: &[u8]) -> Option<u32> {
    let mut parts = text.split(|&b| b == b'.');
    let mut address = 0u32;
    for _ in 0..4 {
        let octet = parse_decimal(parts.next()?, 3).filter(|&o| o <= 255)?;
        address = (address << 8) | octet;
    }
    parts.next().is_none().then_some(address)
}

/// IPv6 text (RFC 4291 §2.2: groups, one `::`, optional dotted IPv4 tail), as
/// four big-endian words.
pub(crate) fn parse_ipv6(text: &[u8]) -> Option<[u32; 4]> {
    /// Parses `a:b:c` (possibly empty) into `groups`; returns how many it wrote.
    fn groups(text: &[u8], groups: &mut [u16], allow_ipv4_tail: bool) -> Option<usize> {
        if text.is_empty() {
            return Some(0);
        }
        let mut count = 0;
        let mut parts = text.split(|&b| b == b':').peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            if last && allow_ipv4_tail && part.contains(&b'.') {
                let v4 = parse_ipv4(part)?;
                *groups.get_mut(count)? = (v4 >> 16) as u16;
                *groups.get_mut(count + 1)? = v4 as u16;
                count += 2;
                break;
            }
            if part.is_empty() || part.len() > 4 {
                return None;
            }
            let mut value = 0u16;
            for &b in part {
                value = (value << 4) | (b as char).to_digit(16)? as u16;
            }
            *groups.get_mut(count)? = value;
            count += 1;
        }
        Some(count)
    }
    if text.len() > 45 {
        return None;
    }
    let mut words = [0u16; 8];
    match text.windows(2).position(|w| w == b"::") {
        None => {
            if groups(text, &mut words, true)? != 8 {
                return None;
            }
        }
        Some(at) => {
            let (head, tail) = (&text[..at], &text[at + 2..]);
            let mut back = [0u16; 8];
            let n_head = groups(head, &mut words, false)?;
            let n_tail = groups(tail, &mut back, true)?;
            // `::` stands for at least one group; a second `::` fails in `groups`.
            if n_head + n_tail > 7 {
                return None;
            }
            words[8 - n_tail..].copy_from_slice(&back[..n_tail]);
        }
    }
    let word = |i: usize| (u32::from(words[2 * i]) << 16) | u32::from(words[2 * i + 1]);
    Some([word(0), word(1), word(2), word(3)])
}

// ---------------------------------------------------------------------------
// v2

/// Parses a v2 header; `Ok(0)` means "incomplete". `base` is the header's
/// absolute offset (spans in the table are absolute).
fn parse_v2(input: &[u8], base: usize, table: &mut [u32]) -> Parsed {
    let bad = error::PROXY_PROTOCOL;
    let shown = input.len().min(V2_SIGNATURE.len());
    if input[..shown] != V2_SIGNATURE[..shown] {
        return Err(bad);
    }
    let is_proxy = match input.get(12) {
        None => return Ok(0),
        Some(0x20) => false,
        Some(0x21) => true,
        Some(_) => return Err(bad), // version other than 2 or command other than LOCAL/PROXY
    };
    let Some(&family) = input.get(13) else {
        return Ok(0);
    };
    let address_len = match family {
        0x00 => 0,
        0x11 | 0x12 => 12,
        0x21 | 0x22 => 36,
        0x31 | 0x32 => 216,
        _ => return Err(bad),
    };
    if input.len() < V2_FIXED {
        return Ok(0);
    }
    let len = usize::from(u16::from_be_bytes([input[14], input[15]]));
    if is_proxy && len < address_len {
        return Err(bad);
    }
    let total = V2_FIXED + len;
    if input.len() < total {
        return Ok(0);
    }
    let header = &input[..total];
    table[proxy::VERSION] = 2;
    if !is_proxy {
        // LOCAL (health checks): skip `len` bytes, use the socket's endpoints.
        return Ok(total);
    }
    let addresses = &header[V2_FIXED..V2_FIXED + address_len];
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let port = |b: &[u8]| u32::from(u16::from_be_bytes([b[0], b[1]]));
    match family {
        0x11 => {
            table[proxy::COMMAND] = 1;
            table[proxy::FAMILY] = 4;
            table[proxy::SRC_ADDR] = be(&addresses[0..4]);
            table[proxy::DST_ADDR] = be(&addresses[4..8]);
            table[proxy::SRC_PORT] = port(&addresses[8..10]);
            table[proxy::DST_PORT] = port(&addresses[10..12]);
        }
        0x21 => {
            table[proxy::COMMAND] = 1;
            table[proxy::FAMILY] = 6;
            for i in 0..4 {
                table[proxy::SRC_ADDR + i] = be(&addresses[4 * i..]);
                table[proxy::DST_ADDR + i] = be(&addresses[16 + 4 * i..]);
            }
            table[proxy::SRC_PORT] = port(&addresses[32..34]);
            table[proxy::DST_PORT] = port(&addresses[34..36]);
        }
        // UNSPEC, UDP, UNIX: accepted, but the socket's endpoints are used.
        _ => {}
    }
    walk_tlvs(header, V2_FIXED + address_len, base, table)?;
    Ok(total)
}

/// Walks the TLVs in `header[from..]`: every length inside its parent, the
/// AUTHORITY span recorded, a CRC32C verified, SSL sub-TLVs walked.
fn walk_tlvs(header: &[u8], from: usize, base: usize, table: &mut [u32]) -> Result<(), u32> {
    let bad = error::PROXY_PROTOCOL;
    let mut at = from;
    while at < header.len() {
        let (kind, value_start, value_end) = tlv_at(header, at, header.len())?;
        let value = &header[value_start..value_end];
        match kind {
            TLV_AUTHORITY => {
                if table[proxy::AUTHORITY_END] != 0 {
                    return Err(bad); // two authorities: which one would be true?
                }
                table[proxy::AUTHORITY_START] = (base + value_start) as u32;
                table[proxy::AUTHORITY_END] = (base + value_end) as u32;
            }
            TLV_CRC32C => {
                if value.len() != 4 {
                    return Err(bad);
                }
                let expected = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                // The checksum covers the whole header with its own field zeroed.
                let crc = crc32c_update(!0, &header[..value_start]);
                let crc = crc32c_update(crc, &[0; 4]);
                let crc = !crc32c_update(crc, &header[value_end..]);
                if crc != expected {
                    return Err(bad);
                }
            }
            TLV_UNIQUE_ID if value.len() > MAX_UNIQUE_ID => return Err(bad),
            TLV_SSL => {
                if value.len() < SSL_FIXED {
                    return Err(bad);
                }
                let mut sub = value_start + SSL_FIXED;
                while sub < value_end {
                    sub = tlv_at(header, sub, value_end)?.2;
                }
            }
            _ => {} // ALPN, NOOP, NETNS, custom, experimental, future: skipped
        }
        at = value_end;
    }
    Ok(())
}

/// The TLV at `header[at..limit]`: `(type, value_start, value_end)`, or an error
/// when its header or value would run past `limit`.
fn tlv_at(header: &[u8], at: usize, limit: usize) -> Result<(u8, usize, usize), u32> {
    if limit - at < 3 {
        return Err(error::PROXY_PROTOCOL);
    }
    let len = usize::from(u16::from_be_bytes([header[at + 1], header[at + 2]]));
    let value_end = at + 3 + len;
    if value_end > limit {
        return Err(error::PROXY_PROTOCOL);
    }
    Ok((header[at], at + 3, value_end))
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one table lookup per byte.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Feeds `bytes` into a running CRC-32C register (start with `!0`, finish with `!`).
fn crc32c_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = CRC32C_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

/// CRC-32C of `bytes` (exposed for tests that build v2 headers).
pub fn crc32c(bytes: &[u8]) -> u32 {
    !crc32c_update(!0, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C (RFC 3720 appendix B.4 family).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    }

    #[test]
    fn ipv4_text() {
        assert_eq!(parse_ipv4(b"192.168.0.1"), Some(0xC0A8_0001));
        assert_eq!(parse_ipv4(b"0.0.0.0"), Some(0));
        assert_eq!(parse_ipv4(b"255.255.255.255"), Some(u32::MAX));
        for bad in [
            &b"01.2.3.4"[..],
            b"1.2.3",
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"1..2.3",
            b"1.2.3.4 ",
            b"",
            b"a.b.c.d",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ipv6_text() {
        assert_eq!(parse_ipv6(b"::"), Some([0; 4]));
        assert_eq!(parse_ipv6(b"::1"), Some([0, 0, 0, 1]));
        assert_eq!(parse_ipv6(b"2001:db8::1"), Some([0x2001_0db8, 0, 0, 1]));
        assert_eq!(parse_ipv6(b"fe80::"), Some([0xfe80_0000, 0, 0, 0]));
        assert_eq!(
            parse_ipv6(b"1:2:3:4:5:6:7:8"),
            Some([0x0001_0002, 0x0003_0004, 0x0005_0006, 0x0007_0008])
        );
        assert_eq!(
            parse_ipv6(b"::ffff:192.0.2.1"),
            Some([0, 0, 0xffff, 0xC000_0201])
        );
        assert_eq!(
            parse_ipv6(b"1:2:3:4:5:6:1.2.3.4"),
            Some([0x0001_0002, 0x0003_0004, 0x0005_0006, 0x0102_0304])
        );
        assert_eq!(parse_ipv6(b"ABCD::Ef"), Some([0xabcd_0000, 0, 0, 0xef]));
        for bad in [
            &b""[..],
            b":",
            b":::",
            b"1::2::3",
            b"1:2:3:4:5:6:7",
            b"1:2:3:4:5:6:7:8:9",
            b"1:2:3:4::5:6:7:8",
            b"12345::",
            b"g::",
            b":1::",
            b"1::2:",
            b"1.2.3.4",
            b"::1.2.3.4:5",
            b"1:2:3:4:5:6:7:1.2.3.4",
            b"::01.2.3.4",
        ] {
            assert_eq!(parse_ipv6(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port(b"0"), Some(0));
        assert_eq!(parse_port(b"65535"), Some(65535));
        for bad in [&b"65536"[..], b"080", b"", b"-1", b"1a", b"100000"] {
            assert_eq!(parse_port(bad), None);
        }
    }
}
