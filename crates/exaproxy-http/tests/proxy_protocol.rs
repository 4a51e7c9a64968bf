//! `parse_proxy_header`: the spec's test vectors, headers captured from a real
//! HAProxy 2.6 (`send-proxy` / `send-proxy-v2 proxy-v2-options
//! crc32c,unique-id,ssl,authority`), hand-built v2 headers, and mutations.

mod common;
use common::Rng;

use exaproxy_http::abi::{error, proxy, NEED_MORE};
use exaproxy_http::parse_proxy_header;
use exaproxy_http::proxy_protocol::crc32c;

const BAD: i32 = -(error::PROXY_PROTOCOL as i32);

/// Captured from HAProxy 2.6 `server … send-proxy` (then the client's request).
const HAPROXY_V1: &[u8] =
    b"PROXY TCP4 127.0.0.1 127.0.0.1 45100 47101\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

/// Captured from HAProxy 2.6 `server … send-proxy-v2 proxy-v2-options
/// crc32c,unique-id,ssl,authority` for a plain-TCP client (so the SSL TLV says
/// "no SSL" and no AUTHORITY is sent), followed by the client's request.
const HAPROXY_V2: [u8; 114] = [
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x47,
    0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x8c, 0xb2, 0xb7, 0xfe, 0x03, 0x00, 0x04, 0x14,
    0x5c, 0x29, 0x84, 0x05, 0x00, 0x29, 0x37, 0x46, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x3a, 0x38,
    0x43, 0x42, 0x32, 0x5f, 0x37, 0x46, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x3a, 0x42, 0x37, 0x46,
    0x45, 0x5f, 0x36, 0x42, 0x30, 0x37, 0x30, 0x33, 0x35, 0x39, 0x5f, 0x30, 0x30, 0x30, 0x31, 0x20,
    0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54,
    0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x61, 0x0d, 0x0a,
    0x0d, 0x0a,
];

const SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

fn parse(input: &[u8]) -> (i32, [u32; proxy::SIZE]) {
    let mut table = [0xAAAA_AAAAu32; proxy::SIZE];
    let n = parse_proxy_header(input, 0, &mut table);
    (n, table)
}

/// Every strict prefix of a valid header must ask for more, never fail.
fn assert_prefixes_need_more(header: &[u8]) {
    for cut in 0..header.len() {
        assert_eq!(
            parse(&header[..cut]).0,
            NEED_MORE,
            "prefix of {cut} bytes of {header:02x?}"
        );
    }
}

fn addr(table: &[u32], at: usize) -> [u32; 4] {
    [table[at], table[at + 1], table[at + 2], table[at + 3]]
}

/// A v2 header: signature, `ver_cmd`, `family`, the length of `body`, `body`.
fn v2(ver_cmd: u8, family: u8, body: &[u8]) -> Vec<u8> {
    let mut h = SIGNATURE.to_vec();
    h.push(ver_cmd);
    h.push(family);
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(body);
    h
}

fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut t = vec![kind];
    t.extend_from_slice(&(value.len() as u16).to_be_bytes());
    t.extend_from_slice(value);
    t
}

const IPV4_BLOCK: [u8; 12] = [192, 0, 2, 1, 198, 51, 100, 7, 0x1F, 0x90, 0x01, 0xBB]; // ports 8080 → 443

#[test]
fn spec_v1_vector() {
    let input =
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let (n, t) = parse(input);
    assert_eq!(n, 47);
    assert_eq!(&input[n as usize..n as usize + 3], b"GET");
    assert_eq!(
        [
            t[proxy::VERSION],
            t[proxy::COMMAND],
            t[proxy::FAMILY],
            t[proxy::SRC_PORT],
            t[proxy::DST_PORT]
        ],
        [1, 1, 4, 56324, 443]
    );
    assert_eq!(addr(&t, proxy::SRC_ADDR), [0xC0A8_0001, 0, 0, 0]);
    assert_eq!(addr(&t, proxy::DST_ADDR), [0xC0A8_000B, 0, 0, 0]);
    assert_eq!([t[proxy::AUTHORITY_START], t[proxy::AUTHORITY_END]], [0, 0]);
    assert_prefixes_need_more(&input[..47]);
}

#[test]
fn haproxy_v1() {
    let (n, t) = parse(HAPROXY_V1);
    assert_eq!(n, 44);
    assert_eq!(
        [t[proxy::FAMILY], t[proxy::SRC_PORT], t[proxy::DST_PORT]],
        [4, 45100, 47101]
    );
    assert_eq!(addr(&t, proxy::SRC_ADDR), [0x7F00_0001, 0, 0, 0]);
}

#[test]
fn haproxy_v2_with_crc32c_unique_id_and_ssl() {
    let (n, t) = parse(&HAPROXY_V2);
    assert_eq!(n, 16 + 0x47);
    assert_eq!(&HAPROXY_V2[n as usize..n as usize + 4], b"GET ");
    assert_eq!(
        [
            t[proxy::VERSION],
            t[proxy::COMMAND],
            t[proxy::FAMILY],
            t[proxy::SRC_PORT],
            t[proxy::DST_PORT]
        ],
        [2, 1, 4, 0x8CB2, 0xB7FE]
    );
    assert_eq!(addr(&t, proxy::SRC_ADDR), [0x7F00_0001, 0, 0, 0]);
    assert_eq!(addr(&t, proxy::DST_ADDR), [0x7F00_0001, 0, 0, 0]);
    assert_prefixes_need_more(&HAPROXY_V2[..n as usize]);
    // Any change to the checksummed bytes is caught by the CRC32C TLV (except a
    // change of the TLV's own type byte, at 28, which removes the checksum).
    for at in (16..n as usize).filter(|&at| at != 28) {
        let mut changed = HAPROXY_V2;
        changed[at] ^= 0x01;
        assert_eq!(parse(&changed).0, BAD, "flipped byte {at}");
    }
}

#[test]
fn spec_reject_vectors() {
    let mut v1_108 = b"PROXY UNKNOWN ".to_vec();
    v1_108.resize(108, b'x');
    for bad in [
        &b"PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n"[..],
        b"PROXY TCP4 1.2.3.4  5.6.7.8 80 80\r\n",
        b"PROXY  TCP4 1.2.3.4 5.6.7.8 80 80\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 80 80\n",
        &v1_108,
    ] {
        assert_eq!(parse(bad).0, BAD, "{:?}", String::from_utf8_lossy(bad));
    }
    let version_1 = v2(0x11, 0x11, &IPV4_BLOCK);
    let command_2 = v2(0x22, 0x11, &IPV4_BLOCK);
    let family_4x = v2(0x21, 0x41, &IPV4_BLOCK);
    let truncated = v2(0x21, 0x11, &IPV4_BLOCK[..11]);
    for bad in [version_1, command_2, family_4x, truncated] {
        assert_eq!(parse(&bad).0, BAD, "{bad:02x?}");
        // Each is refused from the first byte that makes it wrong, without waiting.
        assert_eq!(parse(&bad[..16]).0, BAD, "{bad:02x?}");
    }
}

#[test]
fn v1_forms() {
    let tcp6 = b"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 65535 0\r\n";
    let (n, t) = parse(tcp6);
    assert_eq!(n as usize, tcp6.len());
    assert_eq!(
        [
            t[proxy::COMMAND],
            t[proxy::FAMILY],
            t[proxy::SRC_PORT],
            t[proxy::DST_PORT]
        ],
        [1, 6, 65535, 0]
    );
    assert_eq!(addr(&t, proxy::SRC_ADDR), [0x2001_0db8, 0, 0, 1]);
    assert_eq!(addr(&t, proxy::DST_ADDR), [0, 0, 0xffff, 0xC000_0201]);

    // The longest TCP6 line (104 bytes) fits.
    let longest = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert_eq!(longest.len(), 104);
    assert_eq!(parse(longest).0, 104);
    assert_prefixes_need_more(longest);

    // UNKNOWN, short and long: the socket's endpoints are used.
    for unknown in [
        &b"PROXY UNKNOWN\r\n"[..],
        b"PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 65535\r\n",
    ] {
        let (n, t) = parse(unknown);
        assert_eq!(n as usize, unknown.len());
        assert_eq!(
            [t[proxy::VERSION], t[proxy::COMMAND], t[proxy::FAMILY]],
            [1, 0, 0]
        );
        assert_eq!(addr(&t, proxy::SRC_ADDR), [0; 4]);
    }
    // A 107-byte line is the longest accepted.
    let mut line = b"PROXY UNKNOWN ".to_vec();
    line.resize(105, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(parse(&line).0, 107);
    assert_prefixes_need_more(&line);
}

#[test]
fn v1_rejects() {
    for bad in [
        &b"PROXY TCP4 1.2.3.4 5.6.7.8 80 80 \r\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 80 80 80\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 80 65536\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 80\r\n",
        b"PROXY TCP4 1.2.3.04 5.6.7.8 80 80\r\n",
        b"PROXY TCP4 1.2.3.256 5.6.7.8 80 80\r\n",
        b"PROXY TCP4 ::1 5.6.7.8 80 80\r\n",
        b"PROXY TCP6 1.2.3.4 ::1 80 80\r\n",
        b"PROXY TCP6 1::2::3 ::1 80 80\r\n",
        b"PROXY TCP5 1.2.3.4 5.6.7.8 80 80\r\n",
        b"PROXY tcp4 1.2.3.4 5.6.7.8 80 80\r\n",
        b"PROXY UNKNOWNX\r\n",
        b"PROXY \r\n",
        b"PROXY\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 80 80\r\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 80 80\rx",
        b"PROXY UNKNOWN\n",
        b"PROXY UNKNOWN\rx",
        b"PROXY UNKNOWN a\nb\r\n",
        b"proxy TCP4 1.2.3.4 5.6.7.8 80 80\r\n",
    ] {
        assert_eq!(parse(bad).0, BAD, "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn hopeless_prefixes_are_rejected_at_once() {
    for bad in [
        &b"G"[..],
        b"GET / HTTP/1.1\r\n",
        b"\x16\x03\x01",
        b"PROXI",
        b"PROXYX",
        b"PROXY X",
        b"PROXY TCP5",
        b"PROXY TCP44",
        b"PROXY TCP4 1.2.3.4  ",
        b"PROXY TCP4 1.2.3.4 x",
        b"PROXY TCP4 1 2 3 4 5",
        b"\r\n\r\n\0\r\nQUIX",
        &SIGNATURE[..5],
        b"\r\n\r\x0b",
    ] {
        let looks_valid = bad == &SIGNATURE[..5];
        assert_eq!(
            parse(bad).0,
            if looks_valid { NEED_MORE } else { BAD },
            "{bad:02x?}"
        );
    }
    // No CRLF in the first 107 bytes of a line: rejected without waiting further.
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.resize(106, b'x');
    assert_eq!(parse(&long).0, BAD);
    assert_eq!(parse(&long[..105]).0, NEED_MORE);
}

#[test]
fn v2_families() {
    let (n, t) = parse(&v2(0x21, 0x11, &IPV4_BLOCK));
    assert_eq!(n, 28);
    assert_eq!(
        [
            t[proxy::COMMAND],
            t[proxy::FAMILY],
            t[proxy::SRC_PORT],
            t[proxy::DST_PORT]
        ],
        [1, 4, 8080, 443]
    );
    assert_eq!(addr(&t, proxy::SRC_ADDR), [0xC000_0201, 0, 0, 0]);
    assert_eq!(addr(&t, proxy::DST_ADDR), [0xC633_6407, 0, 0, 0]);

    let mut block6 = Vec::new();
    block6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    block6.extend_from_slice(&[
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
    ]);
    block6.extend_from_slice(&[0xff, 0xff, 0x00, 0x50]);
    let (n, t) = parse(&v2(0x21, 0x21, &block6));
    assert_eq!(n, 52);
    assert_eq!(
        [
            t[proxy::COMMAND],
            t[proxy::FAMILY],
            t[proxy::SRC_PORT],
            t[proxy::DST_PORT]
        ],
        [1, 6, 65535, 80]
    );
    assert_eq!(addr(&t, proxy::SRC_ADDR), [0x2001_0db8, 0, 0, 1]);
    assert_eq!(
        addr(&t, proxy::DST_ADDR),
        [0xfe80_0000, 0, 0x1234_5678, 0x9abc_def0]
    );

    // UDP, UNIX and UNSPEC under PROXY: accepted, addresses not used.
    for (family, block_len) in [
        (0x12u8, 12usize),
        (0x22, 36),
        (0x31, 216),
        (0x32, 216),
        (0x00, 0),
    ] {
        let mut body = vec![7u8; block_len];
        body.extend(tlv(0x04, b"pad"));
        let header = v2(0x21, family, &body);
        let (n, t) = parse(&header);
        assert_eq!(n as usize, header.len(), "family {family:#x}");
        assert_eq!(
            [t[proxy::VERSION], t[proxy::COMMAND], t[proxy::FAMILY]],
            [2, 0, 0]
        );
        assert_eq!(addr(&t, proxy::SRC_ADDR), [0; 4]);
        // The address block must be there in full.
        if block_len > 0 {
            assert_eq!(parse(&v2(0x21, family, &vec![0; block_len - 1])).0, BAD);
        }
    }
}

#[test]
fn v2_local_skips_its_length() {
    // LOCAL ignores whatever follows, even bytes that would be invalid TLVs.
    for body in [&[][..], &IPV4_BLOCK[..], &[0xFF, 0xFF][..]] {
        for family in [0x00u8, 0x11, 0x21] {
            let header = v2(0x20, family, body);
            let (n, t) = parse(&header);
            assert_eq!(n as usize, header.len());
            assert_eq!(
                [t[proxy::VERSION], t[proxy::COMMAND], t[proxy::FAMILY]],
                [2, 0, 0]
            );
            assert_prefixes_need_more(&header);
        }
    }
    // Up to the largest header: 16 + 65535 bytes.
    let big = v2(0x20, 0x00, &vec![0u8; 65535]);
    assert_eq!(parse(&big).0, 65551);
    assert_eq!(parse(&big[..65550]).0, NEED_MORE);
}

#[test]
fn v2_authority_span_is_absolute() {
    let mut body = IPV4_BLOCK.to_vec();
    body.extend(tlv(0x01, b"h2"));
    body.extend(tlv(0x02, b"example.test"));
    let header = v2(0x21, 0x11, &body);
    let mut buf = b"junk".to_vec();
    buf.extend_from_slice(&header);
    let mut t = [0u32; proxy::SIZE];
    assert_eq!(parse_proxy_header(&buf, 4, &mut t), header.len() as i32);
    let span = t[proxy::AUTHORITY_START] as usize..t[proxy::AUTHORITY_END] as usize;
    assert_eq!(&buf[span], b"example.test");

    let mut twice = body.clone();
    twice.extend(tlv(0x02, b"other.test"));
    assert_eq!(parse(&v2(0x21, 0x11, &twice)).0, BAD);
}

#[test]
fn v2_crc32c() {
    let build = |crc: Option<[u8; 4]>| {
        let mut body = IPV4_BLOCK.to_vec();
        body.extend(tlv(0x02, b"a.test"));
        body.extend(tlv(0x03, &[0; 4]));
        let mut header = v2(0x21, 0x11, &body);
        let at = header.len() - 4;
        let value = crc.unwrap_or_else(|| crc32c(&header).to_be_bytes());
        header[at..].copy_from_slice(&value);
        header
    };
    let good = build(None);
    assert_eq!(parse(&good).0, good.len() as i32);
    assert_eq!(parse(&build(Some([0; 4]))).0, BAD);
    let mut wrong = good.clone();
    wrong[16] ^= 0x80;
    assert_eq!(parse(&wrong).0, BAD);
    // A CRC32C TLV must be 4 bytes long.
    let mut body = IPV4_BLOCK.to_vec();
    body.extend(tlv(0x03, &[0; 3]));
    assert_eq!(parse(&v2(0x21, 0x11, &body)).0, BAD);
}

#[test]
fn v2_tlv_bounds() {
    let with = |tlvs: &[u8]| {
        let mut body = IPV4_BLOCK.to_vec();
        body.extend_from_slice(tlvs);
        parse(&v2(0x21, 0x11, &body)).0
    };
    let ok = |tlvs: &[u8]| 16 + 12 + tlvs.len() as i32;
    assert_eq!(with(&tlv(0x04, &[])), ok(&tlv(0x04, &[])));
    assert_eq!(with(&[0x04, 0x00]), BAD, "a TLV header cut short");
    assert_eq!(with(&[0x04]), BAD);
    assert_eq!(
        with(&[0x04, 0x00, 0x02, 0x00]),
        BAD,
        "a value running past len"
    );
    let unique = tlv(0x05, &[b'u'; 128]);
    assert_eq!(with(&unique), ok(&unique));
    assert_eq!(with(&tlv(0x05, &[b'u'; 129])), BAD);
    // Unknown, custom and experimental types are skipped.
    let mut skipped = Vec::new();
    for kind in [0x30u8, 0xE0, 0xEA, 0xF0, 0xF8, 0xFF, 0x99] {
        skipped.extend(tlv(kind, &[kind; 3]));
    }
    assert_eq!(with(&skipped), ok(&skipped));
    // SSL: client + verify, then sub-TLVs bounded by the SSL TLV itself.
    let mut ssl = vec![0x01, 0, 0, 0, 0];
    ssl.extend(tlv(0x21, b"TLSv1.3"));
    ssl.extend(tlv(0x22, b"client cn"));
    let good = tlv(0x20, &ssl);
    assert_eq!(with(&good), ok(&good));
    assert_eq!(
        with(&tlv(0x20, &[1, 0, 0, 0])),
        BAD,
        "SSL shorter than its fixed part"
    );
    let mut overrun = vec![0x01, 0, 0, 0, 0];
    overrun.extend_from_slice(&[0x21, 0x00, 0x09, b'x']);
    let mut outer = tlv(0x20, &overrun);
    outer.extend(tlv(0x04, &[0; 8])); // the sub-TLV would fit in len, not in its parent
    assert_eq!(with(&outer), BAD);
}

#[test]
fn mutations_never_panic_and_errors_are_final() {
    let seeds: Vec<Vec<u8>> = vec![
        HAPROXY_V1.to_vec(),
        HAPROXY_V2.to_vec(),
        b"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.1 65535 0\r\n".to_vec(),
        b"PROXY UNKNOWN\r\n".to_vec(),
        v2(0x20, 0x00, &[1, 2, 3]),
        {
            let mut ssl = vec![0x01, 0, 0, 0, 0];
            ssl.extend(tlv(0x21, b"TLSv1.3"));
            let mut body = IPV4_BLOCK.to_vec();
            body.extend(tlv(0x20, &ssl));
            body.extend(tlv(0x02, b"a"));
            v2(0x21, 0x11, &body)
        },
    ];
    let mut rng = Rng(7);
    let mut outcomes = [0usize; 3];
    for round in 0..20000 {
        let mut input = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(input.len() + 1);
            match rng.below(4) {
                0 if at < input.len() => input[at] = rng.next() as u8,
                1 => input.insert(at, b" \r\n.:0\x00\x20\x21"[rng.below(8)]),
                2 if at < input.len() => {
                    input.remove(at);
                }
                _ => input.truncate(at),
            }
        }
        let (n, t) = parse(&input);
        assert!(n <= input.len() as i32);
        outcomes[(n.signum() + 1) as usize] += 1;
        if n < 0 {
            assert_eq!(t, [0; proxy::SIZE], "a failed parse leaves a zeroed table");
            // Once rejected, more bytes never make it valid.
            let mut longer = input.clone();
            longer.extend_from_slice(b"\r\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
            assert!(parse(&longer).0 < 0, "{input:02x?}");
        }
        if n > 0 {
            // A valid header's prefixes only ever ask for more.
            assert_prefixes_need_more(&input[..n as usize]);
            if t[proxy::AUTHORITY_END] > 0 {
                assert!(
                    t[proxy::AUTHORITY_START] <= t[proxy::AUTHORITY_END]
                        && t[proxy::AUTHORITY_END] <= n as u32
                );
            }
        }
    }
    assert!(
        outcomes.iter().all(|&c| c > 500),
        "rejected/need-more/complete: {outcomes:?}"
    );
}

#[test]
fn short_table_and_out_of_range_start() {
    let mut short = [0u32; 4];
    assert_eq!(
        parse_proxy_header(HAPROXY_V1, 0, &mut short),
        -(error::OUTPUT_TOO_SMALL as i32)
    );
    let mut t = [0u32; proxy::SIZE];
    assert_eq!(
        parse_proxy_header(HAPROXY_V1, HAPROXY_V1.len() + 5, &mut t),
        NEED_MORE
    );
}
