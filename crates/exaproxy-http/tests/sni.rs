//! `peek_sni`: ClientHellos captured from a real client, hand-built hellos for
//! each structural rule, every truncation, and mutations.
//!
//! The two captured records were taken once with OpenSSL 3.0.19 against a local
//! listener on 127.0.0.1 that recorded the first bytes it received:
//! `openssl s_client -servername example.test -connect 127.0.0.1:<port>` and the
//! same with `-noservername`.

mod common;
use common::Rng;

use exaproxy_http::abi::{error, sni, NEED_MORE};
use exaproxy_http::peek_sni;

const NOT_TLS: i32 = -(error::NOT_TLS as i32);
const BAD: i32 = -(error::TLS_RECORD as i32);

/// `openssl s_client -servername example.test` (TLS 1.3 capable, 318 bytes).
const OPENSSL_HELLO_SNI: [u8; 318] = [
    0x16, 0x03, 0x01, 0x01, 0x39, 0x01, 0x00, 0x01, 0x35, 0x03, 0x03, 0x08, 0xd5, 0x3d, 0x9c, 0x63,
    0x80, 0xce, 0x2c, 0x5d, 0xcb, 0xf4, 0xec, 0x04, 0xa6, 0x1b, 0xb5, 0xdc, 0xaa, 0x78, 0x8f, 0xb6,
    0xf3, 0xbc, 0xc4, 0xed, 0x70, 0xed, 0xc6, 0x9e, 0x96, 0x4e, 0xd5, 0x20, 0x75, 0x5d, 0x91, 0xc8,
    0x33, 0x37, 0x90, 0x14, 0xf2, 0x58, 0x07, 0xeb, 0x86, 0xb8, 0x17, 0x5e, 0x44, 0x3f, 0x71, 0xab,
    0xe7, 0x28, 0xa5, 0x78, 0xe8, 0x05, 0x28, 0x3b, 0x49, 0x1b, 0xbd, 0x95, 0x00, 0x3e, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d,
    0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xae,
    0x00, 0x00, 0x00, 0x11, 0x00, 0x0f, 0x00, 0x00, 0x0c, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
    0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00,
    0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01,
    0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00,
    0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08,
    0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04,
    0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06,
    0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d,
    0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x77, 0xba,
    0x37, 0x44, 0xcb, 0xb3, 0x84, 0x65, 0xd6, 0x60, 0x28, 0x42, 0x9e, 0xbb, 0xe1, 0xb4, 0x46, 0x63,
    0x26, 0xaf, 0x7a, 0x90, 0x62, 0x8e, 0x16, 0x70, 0x9f, 0x57, 0x92, 0xc3, 0x00, 0x69,
];

/// `openssl s_client -noservername`.
const OPENSSL_HELLO_NO_SNI: [u8; 297] = [
    0x16, 0x03, 0x01, 0x01, 0x24, 0x01, 0x00, 0x01, 0x20, 0x03, 0x03, 0x64, 0xea, 0xaa, 0xcf, 0xc7,
    0x67, 0x16, 0x5e, 0xbc, 0x40, 0x96, 0x51, 0x40, 0xb5, 0xae, 0xf5, 0x7f, 0xf1, 0xe8, 0xd8, 0x45,
    0x07, 0xcc, 0xe9, 0x85, 0xdd, 0x5c, 0x73, 0x25, 0xcc, 0xb9, 0x3a, 0x20, 0x61, 0x8a, 0x58, 0x7a,
    0xdc, 0xc4, 0xa4, 0xce, 0x19, 0x2c, 0x3e, 0x4c, 0x0b, 0x5d, 0xa3, 0xcc, 0xb0, 0x19, 0xd6, 0x66,
    0xf2, 0x87, 0x64, 0x77, 0x18, 0x52, 0xc7, 0x02, 0xef, 0x57, 0xe4, 0xdd, 0x00, 0x3e, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d,
    0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x99,
    0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d,
    0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03,
    0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
    0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09,
    0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01,
    0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09,
    0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00,
    0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x20, 0x0b, 0x72, 0xbf, 0xd2, 0x38, 0x1c,
    0x7a, 0xd1, 0xe2, 0xf0, 0xf0, 0x1e, 0x6f, 0x13, 0x10, 0x5a, 0x32, 0x04, 0xdf, 0x1a, 0x21, 0xa2,
    0xa2, 0x54, 0x0a, 0x01, 0xab, 0xd7, 0x15, 0x0a, 0x09,
];

fn peek(input: &[u8]) -> (i32, [u32; sni::SIZE]) {
    let mut table = [0xAAAA_AAAAu32; sni::SIZE];
    let rc = peek_sni(input, 0, &mut table);
    (rc, table)
}

fn name_of<'a>(input: &'a [u8], table: &[u32]) -> &'a [u8] {
    &input[table[sni::NAME_START] as usize..table[sni::NAME_END] as usize]
}

fn u16be(n: usize) -> [u8; 2] {
    (n as u16).to_be_bytes()
}

/// Prefixes `body` with a 2-byte length.
fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = u16be(body.len()).to_vec();
    v.extend_from_slice(body);
    v
}

fn extension(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend(vec16(data));
    e
}

/// server_name extension data holding `entries` of (name_type, name).
fn server_name_data(entries: &[(u8, &[u8])]) -> Vec<u8> {
    let mut list = Vec::new();
    for (kind, name) in entries {
        list.push(*kind);
        list.extend(vec16(name));
    }
    vec16(&list)
}

/// A ClientHello body (after the handshake header) with `extensions` (None: no
/// extensions block at all).
fn hello_body(extensions: Option<&[u8]>) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&[0x5A; 32]); // random
    b.push(32);
    b.extend_from_slice(&[0x11; 32]); // session id
    b.extend(vec16(&[0x13, 0x01, 0x13, 0x02, 0xC0, 0x2F])); // cipher suites
    b.extend_from_slice(&[1, 0]); // compression: null
    if let Some(ext) = extensions {
        b.extend(vec16(ext));
    }
    b
}

/// A record (header included) around a handshake message of `kind` and `body`.
fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![kind];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut r = vec![22, 3, 1];
    r.extend(vec16(&hs));
    r
}

fn hello_with(extensions: &[Vec<u8>]) -> Vec<u8> {
    record(1, &hello_body(Some(&extensions.concat())))
}

#[test]
fn captured_openssl_hello_with_sni() {
    let (rc, t) = peek(&OPENSSL_HELLO_SNI);
    assert_eq!(rc, 1);
    assert_eq!(t[sni::RECORD_LEN], 318);
    assert_eq!(name_of(&OPENSSL_HELLO_SNI, &t), b"example.test");
    // Every prefix of the record asks for more.
    for cut in 0..OPENSSL_HELLO_SNI.len() {
        assert_eq!(peek(&OPENSSL_HELLO_SNI[..cut]).0, NEED_MORE, "prefix {cut}");
    }
    // Spans are absolute when the record does not start the buffer; what
    // follows the record is not looked at.
    let mut buf = b"xyz".to_vec();
    buf.extend_from_slice(&OPENSSL_HELLO_SNI);
    buf.extend_from_slice(&[0xFF; 10]);
    let mut t = [0u32; sni::SIZE];
    assert_eq!(peek_sni(&buf, 3, &mut t), 1);
    assert_eq!(t[sni::RECORD_LEN], 318);
    assert_eq!(name_of(&buf, &t), b"example.test");
}

#[test]
fn captured_openssl_hello_without_sni() {
    let (rc, t) = peek(&OPENSSL_HELLO_NO_SNI);
    assert_eq!(rc, 1);
    assert_eq!(t[sni::RECORD_LEN], OPENSSL_HELLO_NO_SNI.len() as u32);
    assert_eq!([t[sni::NAME_START], t[sni::NAME_END]], [0, 0]);
}

#[test]
fn built_hellos() {
    let sni = extension(0, &server_name_data(&[(0, b"www.example.org")]));
    let alpn = extension(16, &vec16(b"\x02h2\x08http/1.1"));
    let empty = extension(0xFF01, &[0]);
    let input = hello_with(&[alpn.clone(), sni.clone(), empty.clone()]);
    let (rc, t) = peek(&input);
    assert_eq!(rc, 1);
    assert_eq!(t[sni::RECORD_LEN] as usize, input.len());
    assert_eq!(name_of(&input, &t), b"www.example.org");

    // No server_name, no extensions at all, an empty server_name (as a server
    // echoes it): no name, and still a valid hello.
    for input in [
        hello_with(std::slice::from_ref(&alpn)),
        hello_with(&[]),
        record(1, &hello_body(None)),
        hello_with(&[extension(0, &[])]),
    ] {
        let (rc, t) = peek(&input);
        assert_eq!(rc, 1, "{input:02x?}");
        assert_eq!([t[sni::NAME_START], t[sni::NAME_END]], [0, 0]);
    }
    // An unknown name type before the host_name is skipped.
    let input = hello_with(&[extension(
        0,
        &server_name_data(&[(7, b"other"), (0, b"a.test")]),
    )]);
    let (rc, t) = peek(&input);
    assert_eq!(rc, 1);
    assert_eq!(name_of(&input, &t), b"a.test");
    // Record versions 3.0 to 3.4 are all seen in the wild or allowed.
    for minor in 0..=4 {
        let mut input = hello_with(std::slice::from_ref(&sni));
        input[2] = minor;
        assert_eq!(peek(&input).0, 1);
    }
}

#[test]
fn malformed_hellos() {
    let sni = extension(0, &server_name_data(&[(0, b"a.test")]));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "two server_name extensions",
            hello_with(&[sni.clone(), sni.clone()]),
        ),
        (
            "two host names",
            hello_with(&[extension(
                0,
                &server_name_data(&[(0, b"a.test"), (0, b"b.test")]),
            )]),
        ),
        (
            "empty host name",
            hello_with(&[extension(0, &server_name_data(&[(0, b"")]))]),
        ),
        (
            "space in host name",
            hello_with(&[extension(0, &server_name_data(&[(0, b"a test")]))]),
        ),
        (
            "NUL in host name",
            hello_with(&[extension(0, &server_name_data(&[(0, b"a\0.test")]))]),
        ),
        (
            "non-ASCII host name",
            hello_with(&[extension(0, &server_name_data(&[(0, b"\xc3\xa9.test")]))]),
        ),
        (
            "host name over 255",
            hello_with(&[extension(0, &server_name_data(&[(0, &[b'a'; 256])]))]),
        ),
        (
            "empty server_name list",
            hello_with(&[extension(0, &vec16(&[]))]),
        ),
        (
            "bytes after the server_name list",
            hello_with(&[extension(
                0,
                &[server_name_data(&[(0, b"a")]), vec![0]].concat(),
            )]),
        ),
        (
            "server_name list longer than its extension",
            hello_with(&[extension(0, &[0, 9, 0, 0, 1, b'a'])]),
        ),
        (
            "name longer than its list",
            hello_with(&[extension(0, &[0, 4, 0, 0, 9, b'a'])]),
        ),
        ("extension longer than the block", {
            let mut ext = extension(16, b"abc");
            ext[3] = 9;
            hello_with(&[ext])
        }),
        (
            "a lone byte in the extensions block",
            hello_with(&[sni.clone(), vec![0]]),
        ),
        ("bytes after the extensions block", {
            let mut body = hello_body(Some(&sni));
            body.push(0);
            record(1, &body)
        }),
        ("bytes after the hello in its record", {
            let mut r = hello_with(std::slice::from_ref(&sni));
            r.push(0);
            let len = r.len() - 5;
            r[3..5].copy_from_slice(&u16be(len));
            r
        }),
        ("hello longer than its record", {
            let mut r = hello_with(std::slice::from_ref(&sni));
            r[8] += 1;
            r
        }),
        (
            "hello shorter than its fields",
            record(1, &hello_body(None)[..40]),
        ),
        ("session id over 32 bytes", {
            let mut body = hello_body(Some(&sni));
            body[34] = 33;
            body.insert(35, 0x11);
            record(1, &body)
        }),
        ("odd cipher suites length", {
            let mut b = vec![0x03, 0x03];
            b.extend_from_slice(&[0; 32]);
            b.push(0);
            b.extend(vec16(&[0x13, 0x01, 0x13]));
            b.extend_from_slice(&[1, 0]);
            record(1, &b)
        }),
        ("no cipher suites", {
            let mut b = vec![0x03, 0x03];
            b.extend_from_slice(&[0; 32]);
            b.push(0);
            b.extend(vec16(&[]));
            b.extend_from_slice(&[1, 0]);
            record(1, &b)
        }),
        ("no compression methods", {
            let mut b = vec![0x03, 0x03];
            b.extend_from_slice(&[0; 32]);
            b.push(0);
            b.extend(vec16(&[0x13, 0x01]));
            b.push(0);
            record(1, &b)
        }),
        (
            "ServerHello instead of ClientHello",
            record(2, &hello_body(Some(&sni))),
        ),
    ];
    for (what, input) in cases {
        assert_eq!(peek(&input).0, BAD, "{what}");
    }
}

#[test]
fn hello_split_over_two_records_is_refused() {
    let whole = hello_with(&[extension(0, &server_name_data(&[(0, b"a.test")]))]);
    let handshake = &whole[5..];
    let (first, second) = handshake.split_at(20);
    let mut two = vec![22, 3, 1];
    two.extend(vec16(first));
    two.extend_from_slice(&[22, 3, 1]);
    two.extend(vec16(second));
    assert_eq!(peek(&two).0, BAD);
}

#[test]
fn not_tls() {
    for input in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"CONNECT a:443 HTTP/1.1\r\n",
        b"\x17\x03\x03\x00\x10",
        b"\x16\x02\x00",
        b"\x16\x03\x05",
        b"\x80\x2e\x01\x03\x01",
    ] {
        assert_eq!(peek(input).0, NOT_TLS, "{input:02x?}");
    }
    // The record length is bounded before the record arrives.
    assert_eq!(peek(&[22, 3, 1, 0x48, 0x01]).0, BAD);
    assert_eq!(peek(&[22, 3, 1, 0x48, 0x00]).0, NEED_MORE);
    assert_eq!(peek(&[22, 3, 1, 0, 0]).0, BAD);
}

#[test]
fn short_table_and_out_of_range_start() {
    let mut short = [0u32; 2];
    assert_eq!(
        peek_sni(&OPENSSL_HELLO_SNI, 0, &mut short),
        -(error::OUTPUT_TOO_SMALL as i32)
    );
    let mut t = [0u32; sni::SIZE];
    assert_eq!(peek_sni(&OPENSSL_HELLO_SNI, 1000, &mut t), NEED_MORE);
}

#[test]
fn mutations_never_panic_and_spans_stay_inside() {
    let seeds = [OPENSSL_HELLO_SNI.to_vec(), OPENSSL_HELLO_NO_SNI.to_vec()];
    let mut rng = Rng(0xC0FFEE);
    let mut ok = 0;
    for round in 0..30000 {
        let mut input = seeds[round % 2].clone();
        for _ in 0..1 + rng.below(2) {
            let at = rng.below(input.len());
            match rng.below(3) {
                0 => input[at] = rng.next() as u8,
                1 => input[at] = input[at].wrapping_add(1),
                _ => input[at] = input[at].wrapping_sub(1),
            }
        }
        let (rc, t) = peek(&input);
        assert!(
            rc == 1 || rc == NEED_MORE || rc == BAD || rc == NOT_TLS,
            "{rc}"
        );
        if rc == 1 {
            ok += 1;
            let len = t[sni::RECORD_LEN] as usize;
            assert!(len <= input.len());
            assert!(t[sni::NAME_START] <= t[sni::NAME_END] && t[sni::NAME_END] as usize <= len);
        } else {
            assert_eq!(t, [0; sni::SIZE]);
        }
    }
    // Mutating random, key-share and cipher bytes keeps many hellos valid.
    assert!(ok > 3000, "{ok}");
}
