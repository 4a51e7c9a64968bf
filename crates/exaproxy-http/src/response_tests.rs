//! Unit tests of `parse_response`: every slot, every framing rule, the 502 status.
use super::parse_response;
use crate::abi::{error, flag, header, method, record, slot, NEED_MORE};

const TABLE: usize = slot::HEADERS + record::SIZE * 100;
const FRAMING: u32 = flag::BODY_NONE
    | flag::INTERIM
    | flag::TUNNEL
    | flag::CONTENT_LENGTH
    | flag::CHUNKED
    | flag::BODY_UNTIL_CLOSE;

fn run(input: &str, request_method: u32, limits: [u32; 3]) -> (i32, Vec<u32>) {
    let mut t = vec![0xFFFF_FFFF; TABLE];
    t[..3].copy_from_slice(&limits);
    let rc = parse_response(input.as_bytes(), 0, &mut t, request_method);
    (rc, t)
}

fn parse(input: &str, request_method: u32) -> Vec<u32> {
    let (rc, t) = run(input, request_method, [0; 3]);
    assert_eq!(
        rc as usize,
        input.len(),
        "{input:?}: got {rc} at {}",
        t[slot::ERROR_POS]
    );
    assert_eq!(
        (t[slot::FLAGS] & FRAMING).count_ones(),
        1,
        "{input:?}: exactly one framing flag"
    );
    t
}

fn framing(input: &str, request_method: u32) -> u32 {
    parse(input, request_method)[slot::FLAGS] & FRAMING
}

fn reject(input: &str, code: u32, pos: usize) {
    let (rc, t) = run(input, method::GET, [0; 3]);
    assert_eq!(
        rc,
        -(code as i32),
        "{input:?}: got {rc} at {}",
        t[slot::ERROR_POS]
    );
    assert_eq!(
        t[slot::ERROR_POS] as usize,
        pos,
        "{input:?}: error position"
    );
    assert_eq!(
        t[slot::ERROR_STATUS],
        502,
        "{input:?}: a bad response is a 502"
    );
}

#[test]
fn status_line_and_slots() {
    let input = "HTTP/1.1 200 OK fine\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n";
    let t = parse(input, method::GET);
    assert_eq!(t[slot::STATUS], 200);
    assert_eq!(t[slot::VERSION], 1);
    assert_eq!(
        &input[t[slot::REASON_START] as usize..t[slot::REASON_END] as usize],
        "OK fine"
    );
    assert_eq!(
        t[slot::FLAGS],
        flag::VERSION_11 | flag::CONTENT_LENGTH | flag::CONNECTION_KEEP_ALIVE
    );
    assert_eq!((t[slot::LENGTH_LO], t[slot::LENGTH_HI]), (12, 0));
    assert_eq!(t[slot::HEADER_COUNT], 2);
    assert_eq!(t[slot::HEAD_END] as usize, input.len());
    assert_eq!(t[slot::HEADERS + record::NAME_ID], header::CONTENT_LENGTH);
    for s in [
        slot::METHOD,
        slot::METHOD_START,
        slot::METHOD_END,
        slot::TARGET_START,
        slot::TARGET_END,
        slot::FORM,
        slot::SCHEME,
        slot::HOST_START,
        slot::HOST_END,
        slot::PORT,
        slot::PATH_START,
        slot::PATH_END,
        slot::ERROR_POS,
        slot::ERROR_STATUS,
    ] {
        assert_eq!(t[s], 0, "slot {s} is cleared in a response");
    }
    let t = parse("HTTP/1.0 404 \r\n\r\n", method::GET);
    assert_eq!((t[slot::STATUS], t[slot::VERSION]), (404, 0));
    assert_eq!(t[slot::REASON_START], t[slot::REASON_END]);
    let t = parse("HTTP/1.1 599\r\n\r\n", method::GET);
    assert_eq!(t[slot::REASON_START], 12);
    assert_eq!(t[slot::REASON_END], 12);
    let t = parse("\r\nHTTP/1.1 200 \u{e9}\t\r\n\r\n", method::GET);
    assert_eq!(
        t[slot::REASON_END] - t[slot::REASON_START],
        3,
        "obs-text and HTAB in a reason"
    );
}

#[test]
fn status_line_errors() {
    reject("HTTP/1.1 20 OK\r\n\r\n", error::STATUS_LINE, 11);
    reject("HTTP/1.1 2000 OK\r\n\r\n", error::STATUS_LINE, 12);
    reject("HTTP/1.1 099 OK\r\n\r\n", error::STATUS_LINE, 9);
    reject("HTTP/1.1  200 OK\r\n\r\n", error::STATUS_LINE, 9);
    reject("HTTP/1.1\t200 OK\r\n\r\n", error::STATUS_LINE, 8);
    reject("HTTP/1.1 200 O\x01K\r\n\r\n", error::STATUS_LINE, 14);
    reject("HTTP/1.1 200 OK\n\r\n", error::BARE_LF, 15);
    reject("HTTP/1.1 200 OK\rX\r\n", error::BARE_CR, 15);
    reject("HTTP/1.1 200 OK\r\nX: y\n\r\n", error::BARE_LF, 21);
    reject("http/1.1 200 OK\r\n\r\n", error::STATUS_LINE, 0);
    reject("HTTP/1.x 200 OK\r\n\r\n", error::STATUS_LINE, 7);
    reject("HTTP/2.0 200 OK\r\n\r\n", error::VERSION_UNSUPPORTED, 5);
    reject("GET / HTTP/1.1\r\n\r\n", error::STATUS_LINE, 0);
    reject("\nHTTP/1.1 200 OK\r\n\r\n", error::BARE_LF, 0);
}

#[test]
fn header_errors_are_502() {
    let sl = "HTTP/1.1 200 OK\r\n"; // 17 bytes
    reject(&format!("{sl} x: y\r\n\r\n"), error::OBS_FOLD, 17);
    reject(&format!("{sl}X : y\r\n\r\n"), error::SPACE_BEFORE_COLON, 18);
    reject(&format!("{sl}X: \x00\r\n\r\n"), error::HEADER_VALUE, 20);
    reject(
        &format!("{sl}Content-Length: 1\r\nContent-Length: 1\r\n\r\n"),
        error::CONTENT_LENGTH_MULTIPLE,
        36,
    );
    reject(
        &format!("{sl}Content-Length: 1, 1\r\n\r\n"),
        error::CONTENT_LENGTH_MULTIPLE,
        34,
    );
    reject(
        &format!("{sl}Content-Length: +1\r\n\r\n"),
        error::CONTENT_LENGTH_INVALID,
        33,
    );
    reject(
        &format!("{sl}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        error::CONTENT_LENGTH_AND_TRANSFER_ENCODING,
        36,
    );
    reject(
        &format!("{sl}Transfer-Encoding: chunked, chunked\r\n\r\n"),
        error::TRANSFER_ENCODING_CHUNKED_TWICE,
        45,
    );
    let (rc, t) = run(&format!("{sl}A: 1\r\nB: 2\r\n\r\n"), method::GET, [0, 0, 1]);
    assert_eq!(
        (rc, t[slot::ERROR_POS], t[slot::ERROR_STATUS]),
        (-(error::TOO_MANY_HEADERS as i32), 23, 502)
    );
    let (rc, t) = run(&format!("{sl}A: 1\r\n"), method::GET, [20, 0, 0]);
    assert_eq!(
        (rc, t[slot::ERROR_POS], t[slot::ERROR_STATUS]),
        (-(error::HEAD_TOO_LARGE as i32), 20, 502)
    );
}

#[test]
fn message_length_rules() {
    let get = method::GET;
    // RFC 9112 §6.3 rule 1: HEAD, 1xx, 204, 304 have no body.
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method::HEAD),
        flag::BODY_NONE
    );
    assert_eq!(
        framing("HTTP/1.1 204 No\r\nContent-Length: 5\r\n\r\n", get),
        flag::BODY_NONE
    );
    assert_eq!(
        framing("HTTP/1.1 304 No\r\nTransfer-Encoding: chunked\r\n\r\n", get),
        flag::BODY_NONE
    );
    assert_eq!(framing("HTTP/1.1 100 Continue\r\n\r\n", get), flag::INTERIM);
    assert_eq!(
        framing("HTTP/1.1 103 Early\r\nLink: </a>\r\n\r\n", method::HEAD),
        flag::INTERIM
    );
    assert_eq!(
        framing("HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n", get),
        flag::TUNNEL
    );
    // Rule 2: 2xx to CONNECT is a tunnel, other statuses are not.
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\n\r\n", method::CONNECT),
        flag::TUNNEL
    );
    assert_eq!(
        framing(
            "HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n",
            method::CONNECT
        ),
        flag::CONTENT_LENGTH
    );
    // Rules 4–8.
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            get
        ),
        flag::CHUNKED
    );
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            get
        ),
        flag::BODY_UNTIL_CLOSE
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", get),
        flag::BODY_UNTIL_CLOSE
    );
    assert_eq!(
        framing("HTTP/1.0 200 OK\r\n\r\n", get),
        flag::BODY_UNTIL_CLOSE
    );
    let t = parse("HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\n", get);
    assert_eq!((t[slot::LENGTH_LO], t[slot::LENGTH_HI]), (0, 1));
    // The announced length is kept even when the status decides the framing.
    let t = parse("HTTP/1.1 304 No\r\nContent-Length: 7\r\n\r\n", get);
    assert_eq!(t[slot::LENGTH_LO], 7);
}

#[test]
fn connection_flags() {
    let t = parse(
        "HTTP/1.1 101 S\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        method::GET,
    );
    assert_eq!(
        t[slot::FLAGS],
        flag::VERSION_11 | flag::TUNNEL | flag::CONNECTION_UPGRADE | flag::UPGRADE
    );
    let t = parse(
        "HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        method::GET,
    );
    assert_eq!(
        t[slot::FLAGS],
        flag::CONTENT_LENGTH | flag::CONNECTION_CLOSE
    );
    // Host and Expect mean nothing in a response: no checks, no flags.
    let t = parse(
        "HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nExpect: x\r\n\r\n",
        method::GET,
    );
    assert_eq!(t[slot::FLAGS], flag::VERSION_11 | flag::BODY_UNTIL_CLOSE);
}

#[test]
fn need_more_and_bad_arguments() {
    let full = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    for cut in 0..full.len() {
        let mut t = vec![0; TABLE];
        assert_eq!(
            parse_response(&full.as_bytes()[..cut], 0, &mut t, method::GET),
            NEED_MORE,
            "cut at {cut}"
        );
    }
    let mut short = vec![0; slot::HEADERS - 1];
    assert_eq!(
        parse_response(full.as_bytes(), 0, &mut short, method::GET),
        -(error::OUTPUT_TOO_SMALL as i32)
    );
    let two = format!("{full}hello{full}");
    let mut t = vec![0; TABLE];
    let at = full.len() + 5;
    assert_eq!(
        parse_response(two.as_bytes(), at, &mut t, method::GET) as usize,
        full.len()
    );
    assert_eq!(t[slot::HEAD_END] as usize, two.len());
    assert_eq!(t[slot::REASON_START] as usize, at + 13);
}
