//! Split consistency: a head parsed from any prefix of its bytes gives `NEED_MORE`
//! or the same error as the whole input, and once the prefix holds the whole head
//! the same result and the same table. Run over every corpus input (accepted or
//! rejected, as request and as response) and the inputs below, with default and
//! with small limits, and at a non-zero start offset.

mod corpus;

use exaproxy_http::abi::{method, record, slot, NEED_MORE};
use exaproxy_http::{parse_request, parse_response};

const TABLE: usize = slot::HEADERS + record::SIZE * 100;

/// Inputs of our own: edge cases of each rule, valid and not.
const OWN: &[&str] = &[
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\n\r\nGET http://[::1]:8080/p?q HTTP/1.1\r\nHost: x\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Connection: keep-alive\r\n\r\n",
    "OPTIONS * HTTP/1.0\r\n\r\n",
    "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789",
    "POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n",
    "POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
    "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "GET / HTTP/1.1\r\nX: y\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n",
    "GET / HTTP/1.1\nHost: a\r\n\r\n",
    "GET /\x7f HTTP/1.1\r\n",
    "GET / HTTP/2.0\r\n",
    "GET http://u@h/ HTTP/1.1\r\n",
    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nExpect: 100-continue\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
];

#[derive(Clone, Copy)]
enum Kind {
    Request,
    Response(u32),
}

fn parse(kind: Kind, buf: &[u8], start: usize, limits: [u32; 3]) -> (i32, Vec<u32>) {
    let mut t = vec![0u32; TABLE];
    t[..3].copy_from_slice(&limits);
    let rc = match kind {
        Kind::Request => parse_request(buf, start, &mut t),
        Kind::Response(m) => parse_response(buf, start, &mut t, m),
    };
    (rc, t)
}

/// Asserts the split property of `input`; returns whether the whole parsed.
fn check(kind: Kind, input: &[u8], limits: [u32; 3]) -> bool {
    let (whole, table) = parse(kind, input, 0, limits);
    let show = || String::from_utf8_lossy(input).into_owned();
    for cut in 0..input.len() {
        let (rc, t) = parse(kind, &input[..cut], 0, limits);
        if whole > 0 && cut >= whole as usize {
            assert_eq!(rc, whole, "{:?} cut at {cut}", show());
            assert_eq!(t, table, "{:?} cut at {cut}: table", show());
        } else if rc != NEED_MORE {
            assert!(
                whole < 0,
                "{:?} cut at {cut}: {rc}, whole gives {whole}",
                show()
            );
            assert_eq!(rc, whole, "{:?} cut at {cut}: error code", show());
            assert_eq!(
                (t[slot::ERROR_POS], t[slot::ERROR_STATUS]),
                (table[slot::ERROR_POS], table[slot::ERROR_STATUS]),
                "{:?} cut at {cut}: error position and status",
                show()
            );
        }
    }
    // Same input at offset 3 of a larger buffer: every offset shifts by 3.
    let mut shifted = b"ABC".to_vec();
    shifted.extend_from_slice(input);
    let (rc, t) = parse(kind, &shifted, 3, limits);
    assert_eq!(rc, whole, "{:?} at offset 3", show());
    if whole > 0 {
        let offsets = [
            slot::METHOD_START,
            slot::METHOD_END,
            slot::TARGET_START,
            slot::TARGET_END,
            slot::HOST_START,
            slot::HOST_END,
            slot::PATH_START,
            slot::PATH_END,
            slot::REASON_START,
            slot::REASON_END,
            slot::HEAD_END,
        ];
        for s in offsets {
            if table[s] != 0 || t[s] != 0 {
                assert_eq!(t[s], table[s] + 3, "{:?} at offset 3: slot {s}", show());
            }
        }
    } else if whole < 0 {
        assert_eq!(t[slot::ERROR_POS], table[slot::ERROR_POS] + 3);
    }
    whole > 0
}

fn all_inputs() -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = OWN.iter().map(|s| s.as_bytes().to_vec()).collect();
    for sub in ["request", "response"] {
        inputs.extend(corpus::read_cases(sub).into_iter().map(|c| c.input));
    }
    inputs
}

#[test]
fn every_split_gives_the_same_result() {
    let inputs = all_inputs();
    let (mut accepted, mut rejected) = (0, 0);
    for input in &inputs {
        for kind in [
            Kind::Request,
            Kind::Response(method::GET),
            Kind::Response(method::HEAD),
            Kind::Response(method::CONNECT),
        ] {
            for limits in [[0, 0, 0], [48, 12, 2]] {
                if check(kind, input, limits) {
                    accepted += 1;
                } else {
                    rejected += 1;
                }
            }
        }
    }
    eprintln!(
        "split: {} inputs, {accepted} complete and {rejected} rejected-or-incomplete parses, each at every offset",
        inputs.len()
    );
    // The corpus brings most inputs; without it (skipped, see corpus/mod.rs) only our own run.
    if corpus::corpus_dir().is_some() {
        assert!(accepted > 100 && rejected > 100);
    }
}
