//! Unit tests of `parse_icap_request`: the request line, the fields, the Encapsulated
//! grammar per method, the limits, and the encapsulated head.
use super::parse_icap_request;
use crate::abi::{error, icap, icap_flag, icap_method, record, slot, NEED_MORE};

struct Parsed {
    rc: i32,
    t: Vec<u32>,
    head: Vec<u32>,
    input: Vec<u8>,
}

impl Parsed {
    fn span(&self, a: usize, b: usize) -> &str {
        std::str::from_utf8(&self.input[self.t[a] as usize..self.t[b] as usize]).unwrap()
    }
    fn has(&self, f: u32) -> bool {
        self.t[icap::FLAGS] & f != 0
    }
    fn error(&self) -> (i32, u32) {
        (self.rc, self.t[icap::ERROR_STATUS])
    }
}

fn parse_with(input: &[u8], limit: u32) -> Parsed {
    let mut t = vec![0u32; icap::SIZE];
    t[icap::LIMIT_HEAD] = limit;
    let mut head = vec![0u32; slot::HEADERS + record::SIZE * 100];
    let rc = parse_icap_request(input, 0, &mut t, &mut head);
    Parsed {
        rc,
        t,
        head,
        input: input.to_vec(),
    }
}

fn parse(input: &str) -> Parsed {
    parse_with(input.as_bytes(), 0)
}

const GET: &str = "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n";

fn reqmod(fields: &str, http: &str, tail: &str) -> String {
    format!("REQMOD icap://127.0.0.1:1344/filter ICAP/1.0\r\nHost: 127.0.0.1\r\n{fields}\r\n{http}{tail}")
}

#[test]
fn reqmod_null_body() {
    let m = reqmod(
        &format!(
            "Allow: 204\r\nPreview: 0\r\nEncapsulated: req-hdr=0, null-body={}\r\n",
            GET.len()
        ),
        GET,
        "",
    );
    let p = parse(&m);
    assert_eq!(p.rc, m.len() as i32);
    assert_eq!(p.t[icap::METHOD], icap_method::REQMOD);
    assert_eq!(
        p.span(icap::URI_START, icap::URI_END),
        "icap://127.0.0.1:1344/filter"
    );
    assert_eq!(p.span(icap::SERVICE_START, icap::SERVICE_END), "/filter");
    assert!(p.has(icap_flag::ALLOW_204) && p.has(icap_flag::PREVIEW) && p.has(icap_flag::REQ_HDR));
    assert!(!p.has(icap_flag::BODY) && !p.has(icap_flag::CONNECTION_CLOSE));
    assert_eq!(p.t[icap::PREVIEW], 0);
    assert_eq!(p.span(icap::REQ_HDR_START, icap::REQ_HDR_END), GET);
    assert_eq!(p.t[icap::BODY] as usize, m.len());
    // The encapsulated head went through the request parser: offsets are absolute.
    let h = &p.head;
    let host = &m[h[slot::HOST_START] as usize..h[slot::HOST_END] as usize];
    assert_eq!(host, "example.com");
    assert_eq!(h[slot::HEAD_END] as usize, m.len());
}

#[test]
fn reqmod_with_body_stops_at_the_body() {
    let post =
        "POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n";
    let m = reqmod(
        &format!("Encapsulated: req-hdr=0, req-body={}\r\n", post.len()),
        post,
        "5\r\nhello\r\n0\r\n\r\n",
    );
    let p = parse(&m);
    assert_eq!(p.rc as usize, m.len() - "5\r\nhello\r\n0\r\n\r\n".len());
    assert!(p.has(icap_flag::BODY));
    assert_eq!(p.t[icap::BODY], p.rc as u32);
}

#[test]
fn options_and_respmod() {
    let p =
        parse("OPTIONS icap://h/filter ICAP/1.0\r\nHost: h\r\nEncapsulated: null-body=0\r\n\r\n");
    assert!(p.rc > 0);
    assert_eq!(p.t[icap::METHOD], icap_method::OPTIONS);
    let res = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    let m = format!("RESPMOD icap://h/x ICAP/1.0\r\nEncapsulated: req-hdr=0, res-hdr={}, res-body={}\r\n\r\n{GET}{res}2\r\nok\r\n0\r\n\r\n", GET.len(), GET.len() + res.len());
    let p = parse(&m);
    assert!(p.rc > 0, "{}", p.rc);
    assert!(p.has(icap_flag::RES_HDR) && p.has(icap_flag::REQ_HDR) && p.has(icap_flag::BODY));
    assert_eq!(p.span(icap::RES_HDR_START, icap::RES_HDR_END), res);
}

#[test]
fn identity_fields_and_connection_close() {
    let m = reqmod(&format!("X-Client-IP: 192.0.2.7\r\nX-Authenticated-User: alice\r\nX-Authenticated-Groups: staff\r\nConnection: close\r\nEncapsulated: req-hdr=0, null-body={}\r\n", GET.len()), GET, "");
    let p = parse(&m);
    assert_eq!(
        p.span(icap::CLIENT_IP_START, icap::CLIENT_IP_END),
        "192.0.2.7"
    );
    assert_eq!(p.span(icap::USER_START, icap::USER_END), "alice");
    assert_eq!(p.span(icap::GROUPS_START, icap::GROUPS_END), "staff");
    assert!(p.has(icap_flag::CONNECTION_CLOSE));
}

#[test]
fn incomplete_asks_for_more() {
    let m = reqmod(
        &format!("Encapsulated: req-hdr=0, null-body={}\r\n", GET.len()),
        GET,
        "",
    );
    for cut in 0..m.len() {
        assert_eq!(parse(&m[..cut]).rc, NEED_MORE, "cut at {cut}");
    }
}

#[test]
fn request_line_errors() {
    let e = |line: &str| parse(&format!("{line}\r\nEncapsulated: null-body=0\r\n\r\n")).error();
    let code = |c: u32, s: u32| (-(c as i32), s);
    assert_eq!(e("GET icap://h/ ICAP/1.0"), code(error::ICAP_METHOD, 501));
    assert_eq!(
        e("reqmod icap://h/ ICAP/1.0"),
        code(error::ICAP_METHOD, 501)
    );
    assert_eq!(e("OPTIONS http://h/ ICAP/1.0"), code(error::ICAP_URI, 400));
    assert_eq!(e("OPTIONS icap:// ICAP/1.0"), code(error::ICAP_URI, 400));
    assert_eq!(e("OPTIONS icap://h?x ICAP/1.0"), code(error::ICAP_URI, 400));
    assert_eq!(
        e("OPTIONS icap://u@h/ ICAP/1.0"),
        code(error::ICAP_URI, 400)
    );
    assert_eq!(
        e("OPTIONS icap://h/ ICAP/2.0"),
        code(error::ICAP_VERSION, 505)
    );
    assert_eq!(
        e("OPTIONS icap://h/ ICAP/1.01"),
        code(error::ICAP_VERSION, 505)
    );
    assert_eq!(
        e("OPTIONS icap://h/ HTTP/1.1"),
        code(error::ICAP_REQUEST_LINE, 400)
    );
    assert_eq!(
        e("OPTIONS  icap://h/ ICAP/1.0"),
        code(error::ICAP_REQUEST_LINE, 400)
    );
    assert_eq!(
        e("\r\nOPTIONS icap://h/ ICAP/1.0"),
        code(error::ICAP_REQUEST_LINE, 400)
    );
    assert_eq!(
        parse("OPTIONS icap://h/ ICAP/1.0\n\r\n").error(),
        code(error::BARE_LF, 400)
    );
}

#[test]
fn field_errors() {
    let e = |fields: &str| parse(&format!("OPTIONS icap://h/ ICAP/1.0\r\n{fields}\r\n")).error();
    let bad = |c: u32| (-(c as i32), 400);
    // OPTIONS may come without Encapsulated (Squid's do); no other method may.
    assert!(parse("OPTIONS icap://h/ ICAP/1.0\r\nHost: h\r\n\r\n").rc > 0);
    let p = parse("REQMOD icap://h/ ICAP/1.0\r\nHost: h\r\n\r\n");
    assert_eq!(p.error(), bad(error::ICAP_ENCAPSULATED_MISSING));
    assert_eq!(
        e("Encapsulated: null-body=0\r\nEncapsulated: null-body=0\r\n"),
        bad(error::ICAP_HEADER)
    );
    assert_eq!(
        e("Preview: 0\r\nPreview: 0\r\nEncapsulated: null-body=0\r\n"),
        bad(error::ICAP_HEADER)
    );
    assert_eq!(
        e("Preview: x\r\nEncapsulated: null-body=0\r\n"),
        bad(error::ICAP_HEADER)
    );
    assert_eq!(
        e("Preview: 1000000000\r\nEncapsulated: null-body=0\r\n"),
        bad(error::ICAP_HEADER)
    );
    assert_eq!(
        e("Content-Length: 0\r\nEncapsulated: null-body=0\r\n"),
        bad(error::ICAP_HEADER)
    );
    assert_eq!(
        e("Transfer-Encoding: chunked\r\nEncapsulated: null-body=0\r\n"),
        bad(error::ICAP_HEADER)
    );
    assert_eq!(
        e("Encapsulated : null-body=0\r\n"),
        bad(error::SPACE_BEFORE_COLON)
    );
    assert_eq!(
        e("Host: h\r\n folded\r\nEncapsulated: null-body=0\r\n"),
        bad(error::OBS_FOLD)
    );
}

#[test]
fn encapsulated_grammar() {
    let e = |method: &str, list: &str, body: &str| {
        parse(&format!(
            "{method} icap://h/ ICAP/1.0\r\nEncapsulated: {list}\r\n\r\n{body}"
        ))
        .rc
    };
    let bad = -(error::ICAP_ENCAPSULATED as i32);
    let n = GET.len();
    // Accepted forms.
    assert!(e("REQMOD", &format!("req-hdr=0, null-body={n}"), GET) > 0);
    assert!(e("REQMOD", &format!("req-hdr=0,req-body={n}"), GET) > 0);
    assert!(e("OPTIONS", "opt-body=0", "") > 0);
    // Offsets: first at 0, strictly increasing, decimal, in range of the grammar.
    assert_eq!(e("REQMOD", &format!("req-hdr=1, null-body={n}"), GET), bad);
    assert_eq!(e("REQMOD", "req-hdr=0, null-body=0", ""), bad);
    assert_eq!(e("REQMOD", &format!("req-hdr=0, null-body=+{n}"), GET), bad);
    assert_eq!(e("REQMOD", "req-hdr=0, null-body=1234567890", GET), bad);
    assert_eq!(e("REQMOD", "req-hdr=0, null-body=", GET), bad);
    // Names, order and the method's grammar.
    assert_eq!(e("REQMOD", &format!("null-body={n}, req-hdr=0"), GET), bad);
    assert_eq!(e("REQMOD", &format!("req-hdr=0, res-body={n}"), GET), bad);
    assert_eq!(
        e(
            "REQMOD",
            &format!("req-hdr=0, res-hdr=10, null-body={n}"),
            GET
        ),
        bad
    );
    assert_eq!(e("REQMOD", &format!("Req-Hdr=0, null-body={n}"), GET), bad);
    assert_eq!(e("REQMOD", &format!("req-hdr=0, foo={n}"), GET), bad);
    assert_eq!(e("REQMOD", "null-body=0", ""), bad);
    assert_eq!(e("REQMOD", "req-hdr=0", GET), bad);
    assert_eq!(
        e(
            "REQMOD",
            &format!("req-hdr=0, null-body={n}, null-body={}", n + 1),
            GET
        ),
        bad
    );
    assert_eq!(e("REQMOD", &format!("req-hdr=0; null-body={n}"), GET), bad);
    assert_eq!(e("RESPMOD", "res-hdr=0, req-hdr=10, null-body=20", ""), bad);
    assert_eq!(e("OPTIONS", "req-hdr=0, null-body=10", ""), bad);
    assert_eq!(e("OPTIONS", "req-body=0", ""), bad);
}

#[test]
fn encapsulated_head_must_fill_its_section() {
    let e = |list: &str, body: &str| {
        let m = format!("REQMOD icap://h/ ICAP/1.0\r\nEncapsulated: {list}\r\n\r\n{body}");
        (parse(&m).rc, parse(&m).t[icap::ERROR_STATUS])
    };
    let n = GET.len();
    // Shorter than the head: the section has no complete head.
    assert_eq!(
        e(&format!("req-hdr=0, null-body={}", n - 2), GET),
        (-(error::ICAP_SECTION as i32), 400)
    );
    // Longer: bytes between the head and the next section.
    assert_eq!(
        e(
            &format!("req-hdr=0, null-body={}", n + 2),
            &format!("{GET}xx")
        ),
        (-(error::ICAP_SECTION as i32), 400)
    );
    // The HTTP parser's own errors, answered with ICAP 400.
    let smuggle =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        e(&format!("req-hdr=0, null-body={}", smuggle.len()), smuggle),
        (-(error::CONTENT_LENGTH_AND_TRANSFER_ENCODING as i32), 400)
    );
    let bare = "GET / HTTP/1.1\nHost: a\r\n\r\n";
    assert_eq!(
        e(&format!("req-hdr=0, null-body={}", bare.len()), bare),
        (-(error::BARE_LF as i32), 400)
    );
}

#[test]
fn limits() {
    let m = reqmod(
        &format!("Encapsulated: req-hdr=0, null-body={}\r\n", GET.len()),
        GET,
        "",
    );
    // The whole message head over the limit: refused as soon as Encapsulated says so.
    let head_len = m.len() - GET.len();
    let p = parse_with(&m.as_bytes()[..head_len], (head_len + 10) as u32);
    assert_eq!(p.error(), (-(error::HEAD_TOO_LARGE as i32), 400));
    // An ICAP head that does not end within the limit.
    let p = parse_with(
        format!(
            "OPTIONS icap://h/ ICAP/1.0\r\nX-Pad: {}\r\n",
            "a".repeat(100)
        )
        .as_bytes(),
        64,
    );
    assert_eq!(p.error(), (-(error::HEAD_TOO_LARGE as i32), 400));
    assert_eq!(p.t[icap::ERROR_POS], 64);
    // Fits exactly.
    assert_eq!(parse_with(m.as_bytes(), m.len() as u32).rc, m.len() as i32);
    // More fields than MAX_FIELDS.
    let many = "X-A: 1\r\n".repeat(super::MAX_FIELDS + 1);
    let p = parse(&format!(
        "OPTIONS icap://h/ ICAP/1.0\r\n{many}Encapsulated: null-body=0\r\n\r\n"
    ));
    assert_eq!(p.error(), (-(error::TOO_MANY_HEADERS as i32), 400));
}

#[test]
fn small_tables_and_offsets() {
    let mut t = vec![0u32; icap::SIZE - 1];
    let mut head = vec![0u32; slot::HEADERS];
    assert_eq!(
        parse_icap_request(b"OPTIONS", 0, &mut t, &mut head),
        -(error::OUTPUT_TOO_SMALL as i32)
    );
    // A second message in the same buffer, parsed in place.
    let one = "OPTIONS icap://h/ ICAP/1.0\r\nEncapsulated: null-body=0\r\n\r\n";
    let both = format!("{one}{one}");
    let mut t = vec![0u32; icap::SIZE];
    let rc = parse_icap_request(both.as_bytes(), one.len(), &mut t, &mut head);
    assert_eq!(rc as usize, one.len());
    assert_eq!(t[icap::BODY] as usize, both.len());
    assert_eq!(t[icap::URI_START] as usize, one.len() + 8);
}
