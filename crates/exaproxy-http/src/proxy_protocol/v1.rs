//! PROXY protocol v1: one text line, `PROXY TCP4|TCP6|UNKNOWN …\r\n`, at most
//! 107 bytes (proxy-protocol.txt §2.1).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Parsed;
use crate::abi::{error, proxy};

/// The v1 line starts with this.
const V1_PREFIX: &[u8] = b"PROXY ";
/// Longest v1 line, CRLF included.
const V1_MAX_LINE: usize = 107;

/// Parses a v1 line; `Ok(0)` means "incomplete".
pub(super) fn parse(input: &[u8], table: &mut [u32]) -> Parsed {
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

/// Dotted-decimal IPv4 as a big-endian word. std's parser is exactly as strict as
/// the spec: four decimal octets, none over 255, no leading zeros.
fn parse_ipv4(text: &[u8]) -> Option<u32> {
    let address: Ipv4Addr = std::str::from_utf8(text).ok()?.parse().ok()?;
    Some(u32::from(address))
}

/// IPv6 text (RFC 4291 §2.2: groups, one `::`, optional dotted IPv4 tail), as four
/// big-endian words. std accepts exactly these forms, and no zone id.
fn parse_ipv6(text: &[u8]) -> Option<[u32; 4]> {
    let address: Ipv6Addr = std::str::from_utf8(text).ok()?.parse().ok()?;
    let bits = u128::from(address);
    Some([
        (bits >> 96) as u32,
        (bits >> 64) as u32,
        (bits >> 32) as u32,
        bits as u32,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

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
