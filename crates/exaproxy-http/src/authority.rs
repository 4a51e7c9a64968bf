//! Host and port syntax (RFC 3986 §3.2.2–§3.2.3), shared by the request-target
//! (absolute-form and authority-form) and the `Host` header.
//!
//! Stricter than the RFC in two places, both to keep the table unambiguous for the
//! proxy: an empty port (`host:`) and port 0 are rejected (`PORT` = 0 means "no
//! port given"), and an IPv6 zone id (`[fe80::1%25eth0]`) is rejected (it has no
//! meaning beyond the sender's machine).

use std::net::Ipv6Addr;

/// `unreserved / sub-delims` bytes of a reg-name (`%` is handled separately).
static REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    t
};

/// A parsed authority: the host span (without IPv6 brackets) and the port (0 when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authority {
    pub host_start: usize,
    pub host_end: usize,
    pub port: u32,
}

/// Parses `host [ ":" port ]` filling exactly `buf[start..end]`.
/// On failure returns the offset of the offending byte.
/// `userinfo` (`user@host`) is not accepted: `@` is not a host byte.
pub fn parse_authority(buf: &[u8], start: usize, end: usize) -> Result<Authority, usize> {
    let (host_start, host_end, mut i) = if buf.get(start) == Some(&b'[') {
        let close = ipv6_literal(buf, start + 1, end)?;
        (start + 1, close, close + 1)
    } else {
        let mut i = start;
        while i < end {
            let c = buf[i];
            if REG_NAME[c as usize] {
                i += 1;
            } else if c == b'%' {
                if is_hex(buf, i + 1, end) && is_hex(buf, i + 2, end) {
                    i += 3;
                } else {
                    return Err(i);
                }
            } else {
                break;
            }
        }
        (start, i, i)
    };
    if host_start == host_end {
        return Err(host_start);
    }
    let mut port = 0u32;
    if i < end {
        if buf[i] != b':' {
            return Err(i);
        }
        i += 1;
        if i == end {
            return Err(i);
        }
        while i < end {
            let c = buf[i];
            if !c.is_ascii_digit() || port > 6553 {
                return Err(i);
            }
            port = port * 10 + u32::from(c - b'0');
            i += 1;
        }
        if port == 0 || port > 65535 {
            return Err(end - 1);
        }
    }
    Ok(Authority {
        host_start,
        host_end,
        port,
    })
}

fn is_hex(buf: &[u8], i: usize, end: usize) -> bool {
    i < end && buf[i].is_ascii_hexdigit()
}

/// Validates an IPv6 literal from `start` up to its `]`; returns the offset of `]`.
///
/// std's parser accepts exactly the RFC 4291 text forms (eight groups, one `::`,
/// an IPv4 tail without leading zeros) and no zone id, which is what a Host may
/// carry. It gives no position, so a literal it refuses is reported at its first
/// byte (the position only goes to the debug log).
fn ipv6_literal(buf: &[u8], start: usize, end: usize) -> Result<usize, usize> {
    let literal = buf.get(start..end).unwrap_or_default();
    let Some(close) = literal.iter().position(|&b| b == b']') else {
        return Err(end.min(buf.len()).saturating_sub(1).max(start.min(end)));
    };
    std::str::from_utf8(&literal[..close])
        .ok()
        .and_then(|text| text.parse::<Ipv6Addr>().ok())
        .map(|_| start + close)
        .ok_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, u32) {
        let b = s.as_bytes();
        let a = parse_authority(b, 0, b.len()).unwrap_or_else(|e| panic!("{s:?} rejected at {e}"));
        (s[a.host_start..a.host_end].to_string(), a.port)
    }
    fn bad(s: &str) -> usize {
        let b = s.as_bytes();
        match parse_authority(b, 0, b.len()) {
            Ok(a) => panic!("{s:?} accepted as {a:?}"),
            Err(p) => {
                assert!(p <= b.len(), "{s:?}: position {p} out of range");
                p
            }
        }
    }

    #[test]
    fn accepts_names_addresses_and_ports() {
        assert_eq!(ok("example.com"), ("example.com".into(), 0));
        assert_eq!(ok("example.com:8080"), ("example.com".into(), 8080));
        assert_eq!(ok("127.0.0.1:65535"), ("127.0.0.1".into(), 65535));
        assert_eq!(ok("[::1]:443"), ("::1".into(), 443));
        assert_eq!(ok("[::]"), ("::".into(), 0));
        assert_eq!(
            ok("[2001:db8::8a2e:370:7334]"),
            ("2001:db8::8a2e:370:7334".into(), 0)
        );
        assert_eq!(ok("[1:2:3:4:5:6:7:8]:1"), ("1:2:3:4:5:6:7:8".into(), 1));
        assert_eq!(ok("[::ffff:192.0.2.1]"), ("::ffff:192.0.2.1".into(), 0));
        assert_eq!(ok("a%41b"), ("a%41b".into(), 0));
        assert_eq!(ok("0.0.0.0=5000"), ("0.0.0.0=5000".into(), 0));
    }

    #[test]
    fn rejects_bad_hosts_and_ports() {
        for s in [
            "",
            ":80",
            "host:",
            "host:0",
            "host:65536",
            "host:99999999999",
            "host:8a",
            "user@host",
            "ho st",
            "host/",
            "[::1",
            "[::1]x",
            "[1:2:3:4:5:6:7:8:9]",
            "[1::2::3]",
            "[12345::]",
            "[:1]",
            "[1:]",
            "[]",
            "[fe80::1%25eth0]",
            "[::ffff:256.0.0.1]",
            "[1:2:3:4:5:6:7]",
            "a%4",
            "a%zz",
            "[::1]:",
            "[g::]",
        ] {
            bad(s);
        }
    }
}
