//! `parse_icap_request` on messages as Squid and c-icap-client send them, and its
//! properties under mutation: no panic, spans inside what was consumed, errors with an
//! ICAP status, and a message split at any byte parsing as if it came whole.

use exaproxy_http::abi::{icap, icap_flag, icap_method, record, slot, NEED_MORE};
use exaproxy_http::parse_icap_request;

/// What Squid 6 sends for `curl -x squid http://www.example.test/` (adaptation_send_client_ip on).
const SQUID_GET: &[u8] = b"REQMOD icap://127.0.0.1:1344/filter ICAP/1.0\r\n\
Host: 127.0.0.1:1344\r\n\
Date: Mon, 07 Dec 2026 18:00:00 GMT\r\n\
Encapsulated: req-hdr=0, null-body=102\r\n\
Preview: 0\r\n\
Allow: 204, trailers\r\n\
X-Client-IP: 127.0.0.1\r\n\
\r\n\
GET http://www.example.test/ HTTP/1.1\r\n\
User-Agent: curl/8.5.0\r\n\
Accept: */*\r\n\
Host: www.example.test\r\n\
\r\n";

/// A POST with Preview: 0: the preview is the last chunk alone.
const SQUID_POST: &[u8] = b"REQMOD icap://127.0.0.1:1344/filter ICAP/1.0\r\n\
Host: 127.0.0.1:1344\r\n\
Encapsulated: req-hdr=0, req-body=87\r\n\
Preview: 0\r\n\
Allow: 204\r\n\
\r\n\
POST http://www.example.test/up HTTP/1.1\r\n\
Host: www.example.test\r\n\
Content-Length: 3\r\n\
\r\n\
0\r\n\r\n";

const C_ICAP_OPTIONS: &[u8] = b"OPTIONS icap://localhost:1344/filter ICAP/1.0\r\n\
Host: localhost\r\n\
User-Agent: C-ICAP-Client-Library/0.5.10\r\n\
Encapsulated: null-body=0\r\n\
\r\n";

fn parse(buf: &[u8], limit: u32) -> (i32, Vec<u32>, Vec<u32>) {
    let mut t = vec![0u32; icap::SIZE];
    t[icap::LIMIT_HEAD] = limit;
    let mut head = vec![0u32; slot::HEADERS + record::SIZE * 100];
    let rc = parse_icap_request(buf, 0, &mut t, &mut head);
    (rc, t, head)
}

fn span<'a>(buf: &'a [u8], t: &[u32], a: usize) -> &'a [u8] {
    &buf[t[a] as usize..t[a + 1] as usize]
}

#[test]
fn squid_get() {
    let (rc, t, head) = parse(SQUID_GET, 0);
    assert_eq!(rc as usize, SQUID_GET.len());
    assert_eq!(t[icap::METHOD], icap_method::REQMOD);
    assert_eq!(t[icap::FLAGS] & icap_flag::ALLOW_204, icap_flag::ALLOW_204);
    assert_eq!(span(SQUID_GET, &t, icap::CLIENT_IP_START), b"127.0.0.1");
    assert_eq!(
        span(SQUID_GET, &head, slot::HOST_START),
        b"www.example.test"
    );
    assert_eq!(span(SQUID_GET, &t, icap::REQ_HDR_START).len(), 102);
}

#[test]
fn squid_post_stops_before_the_chunked_body() {
    let (rc, t, _) = parse(SQUID_POST, 0);
    assert_eq!(rc as usize, SQUID_POST.len() - 5);
    assert_eq!(t[icap::FLAGS] & icap_flag::BODY, icap_flag::BODY);
}

#[test]
fn c_icap_options() {
    let (rc, t, _) = parse(C_ICAP_OPTIONS, 0);
    assert_eq!(rc as usize, C_ICAP_OPTIONS.len());
    assert_eq!(t[icap::METHOD], icap_method::OPTIONS);
    assert_eq!(span(C_ICAP_OPTIONS, &t, icap::SERVICE_START), b"/filter");
}

/// Every prefix asks for more or gives the whole input's error; a prefix holding the
/// message gives the same result and tables.
fn assert_split(input: &[u8], limit: u32) {
    let whole = parse(input, limit);
    for cut in 0..input.len() {
        let part = parse(&input[..cut], limit);
        if whole.0 > 0 && cut >= whole.0 as usize {
            assert_eq!(
                (part.0, &part.1, &part.2),
                (whole.0, &whole.1, &whole.2),
                "cut at {cut}"
            );
        } else if part.0 != NEED_MORE {
            assert!(
                whole.0 < 0,
                "cut at {cut}: {} but the whole gives {}",
                part.0,
                whole.0
            );
            assert_eq!(part.0, whole.0, "cut at {cut}");
            assert_eq!(
                part.1[icap::ERROR_POS..=icap::ERROR_STATUS],
                whole.1[icap::ERROR_POS..=icap::ERROR_STATUS],
                "cut at {cut}"
            );
        }
    }
}

fn assert_properties(input: &[u8], limit: u32) {
    let (rc, t, _) = parse(input, limit);
    assert!(rc as i64 <= input.len() as i64);
    if rc > 0 {
        assert_eq!(t[icap::BODY], rc as u32);
        for a in [
            icap::URI_START,
            icap::SERVICE_START,
            icap::REQ_HDR_START,
            icap::RES_HDR_START,
            icap::CLIENT_IP_START,
            icap::USER_START,
        ] {
            assert!(t[a] <= t[a + 1] && t[a + 1] <= rc as u32, "span {a}");
        }
        assert!(t[icap::HEAD_END] <= rc as u32);
    } else if rc < 0 {
        assert!(t[icap::ERROR_POS] as usize <= input.len());
        assert!(
            matches!(t[icap::ERROR_STATUS], 400 | 500 | 501 | 505),
            "status {}",
            t[icap::ERROR_STATUS]
        );
    }
    assert_split(input, limit);
}

#[test]
fn split_anywhere() {
    for m in [SQUID_GET, SQUID_POST, C_ICAP_OPTIONS] {
        assert_properties(m, 0);
        assert_properties(m, 90);
    }
}

#[test]
fn mutations_keep_the_properties() {
    let seeds = [SQUID_GET, SQUID_POST, C_ICAP_OPTIONS];
    let interesting = b"\r\n ,=0123456789:-\t\x00\x80abc";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    for _ in 0..3000 {
        let mut v = seeds[next(seeds.len())].to_vec();
        for _ in 0..1 + next(3) {
            let at = next(v.len());
            match next(3) {
                0 => v[at] = interesting[next(interesting.len())],
                1 => v.insert(at, interesting[next(interesting.len())]),
                _ => {
                    v.remove(at);
                }
            }
        }
        let limit = if next(2) == 0 {
            0
        } else {
            64 + next(200) as u32
        };
        assert_properties(&v, limit);
    }
}
