//! Unit tests of `parse_request`: one or more per slot and per error code.
use super::parse_request;
use crate::abi::{error, flag, form, header, method, record, scheme, slot, NEED_MORE};

const TABLE: usize = slot::HEADERS + record::SIZE * 100;

struct Parsed {
    rc: i32,
    t: Vec<u32>,
    input: Vec<u8>,
}

impl Parsed {
    fn span(&self, a: usize, b: usize) -> &str {
        std::str::from_utf8(&self.input[self.t[a] as usize..self.t[b] as usize]).unwrap()
    }
    fn method(&self) -> &str {
        self.span(slot::METHOD_START, slot::METHOD_END)
    }
    fn target(&self) -> &str {
        self.span(slot::TARGET_START, slot::TARGET_END)
    }
    fn host(&self) -> &str {
        self.span(slot::HOST_START, slot::HOST_END)
    }
    fn path(&self) -> &str {
        self.span(slot::PATH_START, slot::PATH_END)
    }
    fn header(&self, i: usize) -> (&str, &str, u32) {
        let r = slot::HEADERS + i * record::SIZE;
        (
            self.span(r, r + 1),
            self.span(r + 2, r + 3),
            self.t[r + record::NAME_ID],
        )
    }
    fn flags(&self) -> u32 {
        self.t[slot::FLAGS]
    }
    fn has(&self, f: u32) -> bool {
        self.flags() & f == f
    }
}

fn parse_with(input: &str, limits: [u32; 3], table_len: usize) -> Parsed {
    let mut t = vec![0xDEAD_BEEF; table_len];
    t[..3].copy_from_slice(&limits);
    let input = input.replace("\\r", "\r").replace("\\n", "\n");
    let rc = parse_request(input.as_bytes(), 0, &mut t);
    Parsed {
        rc,
        t,
        input: input.into_bytes(),
    }
}

fn parse(input: &str) -> Parsed {
    let p = parse_with(input, [0; 3], TABLE);
    assert!(
        p.rc > 0,
        "{input:?} gave {} at {}",
        p.rc,
        p.t[slot::ERROR_POS]
    );
    assert_eq!(p.rc as usize, p.input.len(), "{input:?}: consumed");
    p
}

/// Asserts `input` is rejected with `code` at `pos` and the code's status.
fn reject(input: &str, code: u32, pos: usize) {
    let p = parse_with(input, [0; 3], TABLE);
    assert_eq!(
        p.rc,
        -(code as i32),
        "{input:?}: got {} at {}",
        p.rc,
        p.t[slot::ERROR_POS]
    );
    assert_eq!(
        p.t[slot::ERROR_POS] as usize,
        pos,
        "{input:?}: error position"
    );
    assert_eq!(
        p.t[slot::ERROR_STATUS],
        u32::from(crate::abi::ERRORS[code as usize - 1].2)
    );
}

fn reject_code(input: &str, code: u32) {
    let p = parse_with(input, [0; 3], TABLE);
    assert_eq!(
        p.rc,
        -(code as i32),
        "{input:?}: got {} at {}",
        p.rc,
        p.t[slot::ERROR_POS]
    );
}

#[test]
fn minimal_request_fills_every_slot() {
    let p = parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(p.t[slot::METHOD], method::GET);
    assert_eq!(p.method(), "GET");
    assert_eq!(p.target(), "/");
    assert_eq!(p.t[slot::VERSION], 1);
    assert_eq!(p.t[slot::STATUS], 0);
    assert_eq!(p.t[slot::FORM], form::ORIGIN);
    assert_eq!(p.t[slot::SCHEME], scheme::NONE);
    assert_eq!(p.host(), "a");
    assert_eq!(p.t[slot::PORT], 0);
    assert_eq!(p.path(), "/");
    assert_eq!(p.t[slot::REASON_START], 0);
    assert_eq!(p.t[slot::REASON_END], 0);
    assert_eq!(p.t[slot::LENGTH_LO], 0);
    assert_eq!(p.t[slot::LENGTH_HI], 0);
    assert_eq!(p.t[slot::HEADER_COUNT], 1);
    assert_eq!(p.t[slot::HEAD_END] as usize, p.input.len());
    assert_eq!(p.t[slot::ERROR_POS], 0);
    assert_eq!(p.t[slot::ERROR_STATUS], 0);
    assert_eq!(
        p.flags(),
        flag::VERSION_11 | flag::HOST_HEADER | flag::BODY_NONE
    );
    assert_eq!(p.header(0), ("Host", "a", header::HOST));
    for s in 26..32 {
        assert_eq!(p.t[s], 0, "reserved slot {s}");
    }
    // The limits are left alone.
    assert_eq!(&p.t[..3], &[0, 0, 0]);
}

#[test]
fn start_offset_and_pipelining() {
    let two = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.0\r\n\r\n";
    let mut t = vec![0; TABLE];
    let n = parse_request(two, 0, &mut t);
    assert_eq!(n, 28);
    let m = parse_request(two, n as usize, &mut t);
    assert_eq!(m as usize, two.len() - 28);
    assert_eq!(t[slot::TARGET_START], 32);
    assert_eq!(t[slot::HEAD_END] as usize, two.len());
    assert_eq!(t[slot::FLAGS], flag::BODY_NONE, "HTTP/1.0 without Host");
    assert_eq!(t[slot::HEADER_COUNT], 0);
}

#[test]
fn need_more_for_every_prefix_and_bad_arguments() {
    let full = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
    for cut in 0..full.len() {
        let mut t = vec![0; TABLE];
        assert_eq!(
            parse_request(&full.as_bytes()[..cut], 0, &mut t),
            NEED_MORE,
            "cut at {cut}"
        );
    }
    let mut t = vec![0; TABLE];
    assert_eq!(
        parse_request(full.as_bytes(), full.len() + 5, &mut t),
        NEED_MORE
    );
    let mut short = vec![0; slot::HEADERS - 1];
    assert_eq!(
        parse_request(full.as_bytes(), 0, &mut short),
        -(error::OUTPUT_TOO_SMALL as i32)
    );
}

#[test]
fn leading_empty_lines_are_skipped() {
    let p = parse("\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    assert_eq!(p.t[slot::METHOD_START], 4);
    reject("\nGET / HTTP/1.0\r\n\r\n", error::BARE_LF, 0);
    reject("\rGET / HTTP/1.0\r\n\r\n", error::BARE_CR, 0);
}

#[test]
fn methods() {
    for (id, name) in crate::abi::METHODS.iter().skip(1) {
        let target = if *id == method::CONNECT { "h:1" } else { "/" };
        let p = parse(&format!("{name} {target} HTTP/1.0\r\n\r\n"));
        assert_eq!(p.t[slot::METHOD], *id);
        assert_eq!(p.method(), *name);
    }
    let p = parse("FOO-BAR!~ / HTTP/1.0\r\n\r\n");
    assert_eq!(p.t[slot::METHOD], method::OTHER);
    assert_eq!(p.method(), "FOO-BAR!~");
    reject("G(T / HTTP/1.1\r\n", error::METHOD, 1);
    reject("GET\r\n", error::REQUEST_LINE, 3);
    reject(" GET / HTTP/1.1\r\n", error::REQUEST_LINE, 0);
    reject("GET\t/ HTTP/1.1\r\n", error::REQUEST_LINE, 3);
    reject("\x01GET / HTTP/1.1\r\n", error::METHOD, 0);
}

#[test]
fn origin_form() {
    let p = parse("GET /a/b?c=d&e=%20#f HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    assert_eq!(p.t[slot::FORM], form::ORIGIN);
    assert_eq!(p.target(), "/a/b?c=d&e=%20#f");
    assert_eq!(p.path(), "/a/b?c=d&e=%20#f");
    assert_eq!(p.host(), "example.com");
    assert_eq!(p.t[slot::PORT], 8080);
    let p = parse("GET /{|}^\"`\\<> HTTP/1.1\r\nHost: [::1]\r\n\r\n");
    assert_eq!(p.host(), "::1");
}

#[test]
fn absolute_form() {
    let p = parse("GET http://example.com:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(p.t[slot::FORM], form::ABSOLUTE);
    assert_eq!(p.t[slot::SCHEME], scheme::HTTP);
    assert_eq!(p.host(), "example.com", "the target wins over Host");
    assert_eq!(p.t[slot::PORT], 81);
    assert_eq!(p.path(), "/p?q");
    let p = parse("GET HTTPS://[2001:db8::1]?q HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(p.t[slot::SCHEME], scheme::HTTPS);
    assert_eq!(p.host(), "2001:db8::1");
    assert_eq!(p.t[slot::PORT], 0);
    assert_eq!(p.path(), "?q");
    let p = parse("GET http://h HTTP/1.0\r\n\r\n");
    assert_eq!(p.path(), "", "empty path means /");
    assert_eq!(p.host(), "h");
    let p = parse("GET ftp://h/f HTTP/1.0\r\n\r\n");
    assert_eq!(p.t[slot::SCHEME], scheme::OTHER);
    assert_eq!(p.path(), "/f");
    reject("GET http://u@h/ HTTP/1.0\r\n\r\n", error::TARGET, 12);
    reject("GET http://h:99999/ HTTP/1.0\r\n\r\n", error::TARGET, 17);
    reject("GET http:/h/ HTTP/1.0\r\n\r\n", error::TARGET, 10);
    reject("GET http:// HTTP/1.0\r\n\r\n", error::TARGET, 11);
    reject("GET 1http://h/ HTTP/1.0\r\n\r\n", error::TARGET, 4);
    reject("GET h HTTP/1.0\r\n\r\n", error::TARGET, 4);
    reject("GET http://h:/ HTTP/1.0\r\n\r\n", error::TARGET, 13);
}

#[test]
fn authority_and_asterisk_forms() {
    let p = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(p.t[slot::FORM], form::AUTHORITY);
    assert_eq!(p.host(), "example.com");
    assert_eq!(p.t[slot::PORT], 443);
    assert_eq!(p.path(), "");
    assert_eq!(p.t[slot::PATH_START], p.t[slot::TARGET_END]);
    let p = parse("CONNECT [::1]:8443 HTTP/1.0\r\n\r\n");
    assert_eq!(p.host(), "::1");
    reject("CONNECT example.com HTTP/1.1\r\n", error::TARGET, 18);
    reject("CONNECT / HTTP/1.1\r\n", error::TARGET, 8);
    reject("CONNECT http://h:1/ HTTP/1.1\r\n", error::TARGET, 13);
    let p = parse("OPTIONS * HTTP/1.1\r\nHost: h:8\r\n\r\n");
    assert_eq!(p.t[slot::FORM], form::ASTERISK);
    assert_eq!(p.host(), "h");
    assert_eq!(p.t[slot::PORT], 8);
    assert_eq!(p.path(), "");
    reject("GET * HTTP/1.1\r\n", error::TARGET, 4);
    reject("OPTIONS ** HTTP/1.1\r\n", error::TARGET, 8);
}

#[test]
fn target_bytes_and_length() {
    reject("GET /a\x01 HTTP/1.1\r\n", error::TARGET, 6);
    reject("GET /a\x7f HTTP/1.1\r\n", error::TARGET, 6);
    reject("GET /\u{e9} HTTP/1.1\r\n", error::TARGET, 5);
    reject("GET /a\tb HTTP/1.1\r\n", error::TARGET, 6);
    reject("GET /a\r\n", error::REQUEST_LINE, 6);
    reject("GET  / HTTP/1.1\r\n", error::REQUEST_LINE, 4);
    let long = format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(99));
    assert!(parse_with(&long, [0, 100, 0], TABLE).rc > 0);
    let too_long = format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(100));
    let p = parse_with(&too_long, [0, 100, 0], TABLE);
    assert_eq!(p.rc, -(error::TARGET_TOO_LONG as i32));
    assert_eq!(p.t[slot::ERROR_POS], 104);
    assert_eq!(p.t[slot::ERROR_STATUS], 414);
    // Detected before the target ends.
    let p = parse_with(&too_long[..110], [0, 100, 0], TABLE);
    assert_eq!(p.rc, -(error::TARGET_TOO_LONG as i32));
    // Default limit 8192.
    let p = parse_with(
        &format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(8192)),
        [0; 3],
        TABLE,
    );
    assert_eq!(p.rc, -(error::TARGET_TOO_LONG as i32));
}

#[test]
fn versions() {
    assert_eq!(parse("GET / HTTP/1.0\r\n\r\n").t[slot::VERSION], 0);
    reject("GET / HTTP/2.0\r\n\r\n", error::VERSION_UNSUPPORTED, 11);
    reject("GET / HTTP/1.2\r\n\r\n", error::VERSION_UNSUPPORTED, 11);
    reject("GET / HTTP/0.9\r\n\r\n", error::VERSION_UNSUPPORTED, 11);
    let p = parse_with("GET / HTTP/3.0\r\n\r\n", [0; 3], TABLE);
    assert_eq!(p.t[slot::ERROR_STATUS], 505);
    reject("GET / HTTP/1.1x\r\n\r\n", error::VERSION, 14);
    reject("GET / HTTP/1.1 \r\n\r\n", error::VERSION, 14);
    reject("GET / http/1.1\r\n\r\n", error::VERSION, 6);
    reject("GET / HTTP/1\r\n\r\n", error::VERSION, 12);
    reject("GET / HTTP/a.1\r\n\r\n", error::VERSION, 11);
    reject("GET / HTTP/1.1\n\r\n", error::BARE_LF, 14);
    reject("GET / HTTP/1.1\rX\r\n", error::BARE_CR, 14);
}

#[test]
fn header_records() {
    let p = parse("GET / HTTP/1.1\r\nHost:a\r\nX-Empty:\r\nX-Pad: \t v  v \t \r\nCONTENT-length: 0\r\nx:é\r\n\r\n");
    assert_eq!(p.t[slot::HEADER_COUNT], 5);
    assert_eq!(p.header(0), ("Host", "a", header::HOST));
    assert_eq!(p.header(1), ("X-Empty", "", header::OTHER));
    assert_eq!(p.header(2), ("X-Pad", "v  v", header::OTHER));
    assert_eq!(p.header(3), ("CONTENT-length", "0", header::CONTENT_LENGTH));
    assert_eq!(
        p.header(4),
        ("x", "é", header::OTHER),
        "obs-text is allowed in values"
    );
}

#[test]
fn header_errors() {
    let rl = "GET / HTTP/1.1\r\n"; // 16 bytes
    reject(
        &format!("{rl}Host: a\r\n folded\r\n\r\n"),
        error::OBS_FOLD,
        25,
    );
    reject(&format!("{rl}\tx: y\r\n\r\n"), error::OBS_FOLD, 16);
    reject(
        &format!("{rl}Host : a\r\n\r\n"),
        error::SPACE_BEFORE_COLON,
        20,
    );
    reject(
        &format!("{rl}Host\t: a\r\n\r\n"),
        error::SPACE_BEFORE_COLON,
        20,
    );
    reject(&format!("{rl}Ho(st: a\r\n\r\n"), error::HEADER_NAME, 18);
    reject(&format!("{rl}: a\r\n\r\n"), error::HEADER_NAME, 16);
    reject(&format!("{rl}Host\r\n\r\n"), error::HEADER_NAME, 20);
    reject(&format!("{rl}Host: a\rb\r\n\r\n"), error::BARE_CR, 23);
    reject(&format!("{rl}Host: a\nX: b\r\n\r\n"), error::BARE_LF, 23);
    reject(&format!("{rl}Host: a\r\n\n"), error::BARE_LF, 25);
    reject(&format!("{rl}Host: a\r\n\r\r"), error::BARE_CR, 25);
    reject(&format!("{rl}X: a\x00b\r\n\r\n"), error::HEADER_VALUE, 20);
    reject(&format!("{rl}X: a\x7fb\r\n\r\n"), error::HEADER_VALUE, 20);
    reject(&format!("{rl}X: a\x0bb\r\n\r\n"), error::HEADER_VALUE, 20);
    assert!(
        parse_with(&format!("{rl}Host: a\r\nX: a\tb\r\n\r\n"), [0; 3], TABLE).rc > 0,
        "HTAB is fine"
    );
}

#[test]
fn limits() {
    let req = "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert!(parse_with(req, [0, 0, 3], TABLE).rc > 0);
    let p = parse_with(req, [0, 0, 2], TABLE);
    assert_eq!(
        (p.rc, p.t[slot::ERROR_POS], p.t[slot::ERROR_STATUS]),
        (-(error::TOO_MANY_HEADERS as i32), 28, 431)
    );
    // The table length caps the count too.
    let p = parse_with(req, [0, 0, 0], slot::HEADERS + 2 * record::SIZE + 4);
    assert_eq!(p.rc, -(error::TOO_MANY_HEADERS as i32));
    assert!(parse_with(req, [0, 0, 0], slot::HEADERS + 3 * record::SIZE).rc > 0);
    // Head limit: exactly at the limit is fine, one byte less is not.
    assert!(parse_with(req, [req.len() as u32, 0, 0], TABLE).rc > 0);
    let p = parse_with(req, [req.len() as u32 - 1, 0, 0], TABLE);
    assert_eq!(
        (p.rc, p.t[slot::ERROR_POS], p.t[slot::ERROR_STATUS]),
        (-(error::HEAD_TOO_LARGE as i32), req.len() as u32 - 1, 431)
    );
    // Detected as soon as the limit is passed, before the head ends.
    let p = parse_with(&req[..20], [10, 0, 0], TABLE);
    assert_eq!(p.rc, -(error::HEAD_TOO_LARGE as i32));
    let p = parse_with(&req[..10], [10, 0, 0], TABLE);
    assert_eq!(p.rc, NEED_MORE);
    // Default head limit 65536.
    let big = format!("GET / HTTP/1.0\r\nX: {}\r\n\r\n", "v".repeat(70000));
    assert_eq!(
        parse_with(&big, [0; 3], TABLE).rc,
        -(error::HEAD_TOO_LARGE as i32)
    );
    let many: String = (0..101).map(|i| format!("X{i}: v\r\n")).collect();
    assert_eq!(
        parse_with(&format!("GET / HTTP/1.0\r\n{many}\r\n"), [0; 3], TABLE * 2).rc,
        -(error::TOO_MANY_HEADERS as i32)
    );
}

#[test]
fn content_length() {
    let p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4294967301\r\n\r\n");
    assert!(p.has(flag::CONTENT_LENGTH));
    assert!(!p.has(flag::BODY_NONE));
    assert_eq!((p.t[slot::LENGTH_LO], p.t[slot::LENGTH_HI]), (5, 1));
    let p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert!(p.has(flag::CONTENT_LENGTH | flag::BODY_NONE));
    let p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740991\r\n\r\n");
    assert_eq!(
        (p.t[slot::LENGTH_LO], p.t[slot::LENGTH_HI]),
        (u32::MAX, (1 << 21) - 1)
    );
    let rl = "POST / HTTP/1.1\r\nHost: a\r\n"; // 26 bytes
    reject(
        &format!("{rl}Content-Length: 1\r\nContent-Length: 1\r\n\r\n"),
        error::CONTENT_LENGTH_MULTIPLE,
        45,
    );
    reject(
        &format!("{rl}Content-Length: 42, 42\r\n\r\n"),
        error::CONTENT_LENGTH_MULTIPLE,
        44,
    );
    reject(
        &format!("{rl}Content-Length: 42 42\r\n\r\n"),
        error::CONTENT_LENGTH_MULTIPLE,
        44,
    );
    reject(
        &format!("{rl}Content-Length: \r\n\r\n"),
        error::CONTENT_LENGTH_INVALID,
        42,
    );
    reject(
        &format!("{rl}Content-Length: 4x\r\n\r\n"),
        error::CONTENT_LENGTH_INVALID,
        43,
    );
    reject(
        &format!("{rl}Content-Length: 9007199254740992\r\n\r\n"),
        error::CONTENT_LENGTH_INVALID,
        57,
    );
    reject(
        &format!("{rl}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        error::CONTENT_LENGTH_AND_TRANSFER_ENCODING,
        45,
    );
    reject(
        &format!("{rl}Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
        error::CONTENT_LENGTH_AND_TRANSFER_ENCODING,
        54,
    );
    let p = parse_with(&format!("{rl}Content-Length: x\r\n\r\n"), [0; 3], TABLE);
    assert_eq!(p.t[slot::ERROR_STATUS], 400);
}

#[test]
fn transfer_encoding() {
    let p = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n");
    assert!(p.has(flag::CHUNKED));
    assert!(!p.has(flag::BODY_NONE) && !p.has(flag::CONTENT_LENGTH));
    let p = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(p.has(flag::CHUNKED));
    let rl = "POST / HTTP/1.1\r\nHost: a\r\n"; // 26 bytes
    reject(
        &format!("{rl}Transfer-Encoding: chunked, gzip\r\n\r\n"),
        error::TRANSFER_ENCODING_NOT_CHUNKED,
        26,
    );
    reject(
        &format!("{rl}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"),
        error::TRANSFER_ENCODING_NOT_CHUNKED,
        26,
    );
    reject(
        &format!("{rl}Transfer-Encoding: identity\r\n\r\n"),
        error::TRANSFER_ENCODING_NOT_CHUNKED,
        26,
    );
    reject(
        &format!("{rl}Transfer-Encoding: chunked, chunked\r\n\r\n"),
        error::TRANSFER_ENCODING_CHUNKED_TWICE,
        54,
    );
    reject(
        &format!("{rl}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        error::TRANSFER_ENCODING_CHUNKED_TWICE,
        73,
    );
    reject(
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        error::TRANSFER_ENCODING_NOT_CHUNKED,
        17,
    );
}

#[test]
fn host() {
    let p = parse("GET / HTTP/1.0\r\n\r\n");
    assert!(!p.has(flag::HOST_HEADER));
    assert_eq!((p.t[slot::HOST_START], p.t[slot::HOST_END]), (0, 0));
    reject("GET / HTTP/1.1\r\nX: y\r\n\r\n", error::HOST_MISSING, 22);
    reject(
        "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        error::HOST_MULTIPLE,
        25,
    );
    reject(
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        error::HOST_INVALID,
        23,
    );
    reject(
        "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n",
        error::HOST_INVALID,
        23,
    );
    reject(
        "GET / HTTP/1.1\r\nHost: h:x\r\n\r\n",
        error::HOST_INVALID,
        24,
    );
    reject("GET / HTTP/1.1\r\nHost: \r\n\r\n", error::HOST_INVALID, 22);
    reject(
        "GET http://a/ HTTP/1.1\r\nHost: a/\r\n\r\n",
        error::HOST_INVALID,
        31,
    );
    // CONNECT needs Host in HTTP/1.1 too.
    reject("CONNECT a:1 HTTP/1.1\r\n\r\n", error::HOST_MISSING, 22);
}

#[test]
fn connection_upgrade_expect_flags() {
    let p = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert!(p.has(
        flag::CONNECTION_KEEP_ALIVE | flag::CONNECTION_UPGRADE | flag::UPGRADE | flag::IS_UPGRADE
    ));
    assert!(!p.has(flag::CONNECTION_CLOSE));
    let p = parse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n");
    assert!(p.has(flag::UPGRADE) && !p.has(flag::IS_UPGRADE));
    let p = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n");
    assert!(p.has(flag::CONNECTION_UPGRADE) && !p.has(flag::IS_UPGRADE));
    let p = parse("GET / HTTP/1.0\r\nProxy-Connection: Keep-Alive\r\nConnection: CLOSE\r\n\r\n");
    assert!(p.has(flag::CONNECTION_KEEP_ALIVE | flag::CONNECTION_CLOSE));
    let p = parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
    assert!(p.has(flag::EXPECT_CONTINUE) && !p.has(flag::EXPECT_OTHER));
    let p = parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
    assert!(!p.has(flag::EXPECT_CONTINUE), "ignored in HTTP/1.0");
    let p = parse("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert!(
        p.has(flag::CONNECTION_UPGRADE | flag::UPGRADE) && !p.has(flag::IS_UPGRADE),
        "no upgrade in HTTP/1.0"
    );
    let p = parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n");
    assert!(p.has(flag::EXPECT_OTHER) && !p.has(flag::EXPECT_CONTINUE));
}

#[test]
fn a_previous_result_never_leaks() {
    let mut t = vec![0; TABLE];
    assert!(
        parse_request(
            b"POST http://a:1/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
            0,
            &mut t
        ) > 0
    );
    let rc = parse_request(b"GET / HTTP/1.0\r\n\r\n", 0, &mut t);
    assert!(rc > 0);
    assert_eq!(t[slot::LENGTH_LO], 0);
    assert_eq!(t[slot::PORT], 0);
    assert_eq!(t[slot::SCHEME], 0);
    assert_eq!(t[slot::HEADER_COUNT], 0);
    let rc = parse_request(b"GET / HTTP/1.1\r\n\r\n", 0, &mut t);
    assert_eq!(rc, -(error::HOST_MISSING as i32));
    assert!(parse_request(b"GET / HTTP/1.0\r\n\r\n", 0, &mut t) > 0);
    assert_eq!((t[slot::ERROR_POS], t[slot::ERROR_STATUS]), (0, 0));
}

#[test]
fn reject_code_helper_is_used() {
    reject_code(
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        error::CONTENT_LENGTH_INVALID,
    );
}
