//! Name → id lookups for methods and well-known header names (ids from [`crate::abi`]).
//!
//! Both run once per token on the hot path, so they never allocate: methods are
//! matched byte-exact (methods are case-sensitive, RFC 9110 §9.1), header names by
//! length first and then one case-insensitive compare against the one or two
//! candidates of that length and first letter.

use crate::abi::{header as h, method as m};

/// The `METHOD_*` id of a method token (exact, case-sensitive match), or `METHOD_OTHER`.
#[inline]
pub fn method_id(token: &[u8]) -> u32 {
    match token {
        b"GET" => m::GET,
        b"HEAD" => m::HEAD,
        b"POST" => m::POST,
        b"PUT" => m::PUT,
        b"DELETE" => m::DELETE,
        b"CONNECT" => m::CONNECT,
        b"OPTIONS" => m::OPTIONS,
        b"TRACE" => m::TRACE,
        b"PATCH" => m::PATCH,
        b"BCOPY" => m::BCOPY,
        b"BDELETE" => m::BDELETE,
        b"BMOVE" => m::BMOVE,
        b"BPROPFIND" => m::BPROPFIND,
        b"BPROPPATCH" => m::BPROPPATCH,
        b"COPY" => m::COPY,
        b"LOCK" => m::LOCK,
        b"MKCOL" => m::MKCOL,
        b"MOVE" => m::MOVE,
        b"NOTIFY" => m::NOTIFY,
        b"POLL" => m::POLL,
        b"PROPFIND" => m::PROPFIND,
        b"PROPPATCH" => m::PROPPATCH,
        b"SEARCH" => m::SEARCH,
        b"SUBSCRIBE" => m::SUBSCRIBE,
        b"UNLOCK" => m::UNLOCK,
        b"UNSUBSCRIBE" => m::UNSUBSCRIBE,
        b"X-MS-ENUMATTS" => m::X_MS_ENUMATTS,
        _ => m::OTHER,
    }
}

/// The `HEADER_*` id of a field name (ASCII case-insensitive), or `HEADER_OTHER`.
#[inline]
pub fn header_id(name: &[u8]) -> u32 {
    let Some(&first) = name.first() else {
        return h::OTHER;
    };
    // Every known name starts with a letter, so `| 0x20` lower-cases it; a
    // non-letter simply matches no arm.
    let (id, known): (u32, &[u8]) = match (name.len(), first | 0x20) {
        (2, b't') => (h::TE, b"te"),
        (3, b'v') => (h::VIA, b"via"),
        (4, b'h') => (h::HOST, b"host"),
        (4, b'd') => (h::DATE, b"date"),
        (6, b'e') => (h::EXPECT, b"expect"),
        (6, b's') => (h::SERVER, b"server"),
        (6, b'c') => (h::COOKIE, b"cookie"),
        (7, b't') => (h::TRAILER, b"trailer"),
        (7, b'u') => (h::UPGRADE, b"upgrade"),
        (7, b'r') => (h::REFERER, b"referer"),
        (8, b'l') => (h::LOCATION, b"location"),
        (9, b'f') => (h::FORWARDED, b"forwarded"),
        (9, b'x') => (h::X_REAL_IP, b"x-real-ip"),
        (10, b'c') => (h::CONNECTION, b"connection"),
        (10, b'k') => (h::KEEP_ALIVE, b"keep-alive"),
        (10, b'u') => (h::USER_AGENT, b"user-agent"),
        (10, b's') => (h::SET_COOKIE, b"set-cookie"),
        (12, b'm') => (h::MAX_FORWARDS, b"max-forwards"),
        (12, b'c') => (h::CONTENT_TYPE, b"content-type"),
        (14, b'c') => (h::CONTENT_LENGTH, b"content-length"),
        (15, b'x') => {
            // x-forwarded-for / x-proxy-version: the third byte tells them apart.
            if name[2] | 0x20 == b'f' {
                (h::X_FORWARDED_FOR, b"x-forwarded-for")
            } else {
                (h::X_PROXY_VERSION, b"x-proxy-version")
            }
        }
        (16, b'p') => (h::PROXY_CONNECTION, b"proxy-connection"),
        (17, b't') => (h::TRANSFER_ENCODING, b"transfer-encoding"),
        (17, b's') => (h::SEC_WEBSOCKET_KEY, b"sec-websocket-key"),
        (18, b'p') => (h::PROXY_AUTHENTICATE, b"proxy-authenticate"),
        (19, b'p') => (h::PROXY_AUTHORIZATION, b"proxy-authorization"),
        _ => return h::OTHER,
    };
    if name.eq_ignore_ascii_case(known) {
        id
    } else {
        h::OTHER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{HEADERS, METHODS};

    #[test]
    fn every_method_maps_to_its_id() {
        for (id, name) in METHODS.iter().skip(1) {
            assert_eq!(method_id(name.as_bytes()), *id, "{name}");
        }
        assert_eq!(method_id(b"get"), m::OTHER, "methods are case-sensitive");
        assert_eq!(method_id(b"FOO"), m::OTHER);
        assert_eq!(method_id(b""), m::OTHER);
    }

    #[test]
    fn every_header_maps_to_its_id_in_any_case() {
        for (id, name) in HEADERS.iter().skip(1) {
            assert_eq!(header_id(name.as_bytes()), *id, "{name}");
            assert_eq!(header_id(name.to_uppercase().as_bytes()), *id, "{name}");
        }
        for other in [
            "",
            "x",
            "hosts",
            "hos",
            "content-lengtx",
            "x-forwarded-fox",
            "x-proxy-versioN1",
            "[ost",
        ] {
            assert_eq!(header_id(other.as_bytes()), h::OTHER, "{other}");
        }
    }
}
