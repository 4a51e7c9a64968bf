//! Deterministic mutation fuzzing of both head parsers.
//!
//! Seeds are the corpus inputs and a few heads of our own; each iteration mutates
//! one (flip, insert an interesting byte, delete, duplicate a slice, splice two
//! seeds, truncate), parses it as a request and as a response with random limits,
//! start offset and table length, and checks the invariants: no panic, consumed ≤
//! input, every offset of the table inside the head and in order, errors with a
//! valid code, position and status, and a random prefix giving `NEED_MORE` or the
//! same result.
//!
//! The default is 20 000 iterations with a fixed seed, so a failure reproduces.
//! For a longer run: `FUZZ_ITERATIONS=2000000 cargo test --release -p exaproxy-http
//! --test fuzz` (and `FUZZ_SEED=<n>` for another sequence). Coverage-guided fuzzing
//! lives in `crates/exaproxy-http/fuzz` (cargo-fuzz).

mod corpus;

use exaproxy_http::abi::{error, flag, record, slot, ERRORS, NEED_MORE};
use exaproxy_http::{parse_request, parse_response};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[u8] = b"\r\n\r\n \t:,;/?#@[]%0123456789aAzZ-\x00\x01\x7f\x80\xff\"=*";
const WORDS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"Host: a\r\n",
    b"Content-Length: 5\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: close, upgrade\r\n",
    b"Upgrade: websocket\r\n",
    b"HTTP/1.1",
    b"http://",
    b"CONNECT ",
    b"OPTIONS * ",
    b"[::1]",
    b":65535",
];

fn mutate(rng: &mut XorShift, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if at < v.len() => {
                let n = 1 + rng.below(8).min(v.len() - at - 1);
                v.drain(at..at + n);
            }
            3 if !v.is_empty() => {
                let s = rng.below(v.len());
                let e = (s + 1 + rng.below(32)).min(v.len());
                let chunk = v[s..e].to_vec();
                v.splice(at..at, chunk);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let s = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[s..]);
            }
            5 => v.truncate(at),
            _ => {
                let w = WORDS[rng.below(WORDS.len())];
                v.splice(at..at, w.iter().copied());
            }
        }
    }
    v
}

/// Parses and checks every invariant; returns the result code.
fn check(
    input: &[u8],
    start: usize,
    limits: [u32; 3],
    table_len: usize,
    response: Option<u32>,
) -> i32 {
    let mut t = vec![0x5A5A_5A5A; table_len];
    let n = table_len.min(3);
    t[..n].copy_from_slice(&limits[..n]);
    let rc = match response {
        None => parse_request(input, start, &mut t),
        Some(m) => parse_response(input, start, &mut t, m),
    };
    let ctx = || {
        format!(
            "{:?} start {start} limits {limits:?} table {table_len} response {response:?}",
            String::from_utf8_lossy(input)
        )
    };
    assert_eq!(&t[..n], &limits[..n], "limits are never written: {}", ctx());
    if rc > 0 {
        let end = start + rc as usize;
        assert!(end <= input.len(), "consumed past the input: {}", ctx());
        assert_eq!(t[slot::HEAD_END] as usize, end, "{}", ctx());
        let inside = |a: usize, b: usize| {
            let (s, e) = (t[a] as usize, t[b] as usize);
            assert!(
                s <= e && e <= end && (s >= start || (s == 0 && e == 0)),
                "span {a}..{b} = {s}..{e} outside {start}..{end}: {}",
                ctx()
            );
        };
        for (a, b) in [
            (slot::METHOD_START, slot::METHOD_END),
            (slot::TARGET_START, slot::TARGET_END),
            (slot::HOST_START, slot::HOST_END),
            (slot::PATH_START, slot::PATH_END),
            (slot::REASON_START, slot::REASON_END),
        ] {
            inside(a, b);
        }
        let count = t[slot::HEADER_COUNT] as usize;
        assert!(
            slot::HEADERS + count * record::SIZE <= table_len,
            "{}",
            ctx()
        );
        let mut previous_end = start;
        for i in 0..count {
            let r = slot::HEADERS + i * record::SIZE;
            let (ns, ne, vs, ve) = (
                t[r] as usize,
                t[r + 1] as usize,
                t[r + 2] as usize,
                t[r + 3] as usize,
            );
            assert!(
                previous_end <= ns && ns < ne && ne < vs && vs <= ve && ve <= end,
                "record {i}: {}",
                ctx()
            );
            assert_eq!(input[ne], b':', "{}", ctx());
            assert!(
                (t[r + 4] as usize) < exaproxy_http::abi::HEADERS.len(),
                "{}",
                ctx()
            );
            previous_end = ve;
        }
        assert_eq!(t[slot::ERROR_POS], 0, "{}", ctx());
        assert_eq!(t[slot::ERROR_STATUS], 0, "{}", ctx());
        let f = t[slot::FLAGS];
        if response.is_none() {
            assert!(t[slot::VERSION] <= 1);
            assert!(t[slot::TARGET_START] > t[slot::METHOD_END], "{}", ctx());
            assert_ne!(
                f & (flag::CHUNKED | flag::CONTENT_LENGTH),
                flag::CHUNKED | flag::CONTENT_LENGTH,
                "{}",
                ctx()
            );
            let (ps, pe) = (t[slot::PATH_START], t[slot::PATH_END]);
            assert!(
                ps >= t[slot::TARGET_START] && pe == t[slot::TARGET_END],
                "path inside the target: {}",
                ctx()
            );
        } else {
            let framing = flag::BODY_NONE
                | flag::INTERIM
                | flag::TUNNEL
                | flag::CONTENT_LENGTH
                | flag::CHUNKED
                | flag::BODY_UNTIL_CLOSE;
            assert_eq!((f & framing).count_ones(), 1, "one framing flag: {}", ctx());
            assert!((100..=999).contains(&t[slot::STATUS]), "{}", ctx());
        }
    } else if rc < 0 {
        let code = (-rc) as usize;
        assert!((1..=ERRORS.len()).contains(&code), "{}", ctx());
        assert!(
            code != error::OUTPUT_TOO_SMALL as usize || table_len < slot::HEADERS,
            "{}",
            ctx()
        );
        if table_len >= slot::HEADERS {
            let pos = t[slot::ERROR_POS] as usize;
            assert!(
                pos >= start && pos <= input.len(),
                "error position {pos}: {}",
                ctx()
            );
            let status = if response.is_some() {
                502
            } else {
                u32::from(ERRORS[code - 1].2)
            };
            assert_eq!(t[slot::ERROR_STATUS], status, "{}", ctx());
        }
    }
    rc
}

#[test]
fn mutations_keep_every_invariant() {
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for sub in ["request", "response"] {
        seeds.extend(
            corpus::read_cases(sub)
                .into_iter()
                .map(|c| c.input)
                .filter(|i| !i.is_empty()),
        );
    }
    // Valid heads of our own, so that mutations often stay close to acceptance.
    for own in [
        &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET http://example.com:8080/p?q HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
        b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        b"PUT /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"HTTP/1.0 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        for _ in 0..20 {
            seeds.push(own.to_vec());
        }
    }
    let mut rng = XorShift(seed | 1);
    let mut outcomes = [0usize; 3];
    for _ in 0..iterations {
        let input = mutate(&mut rng, &seeds);
        let start = if rng.below(8) == 0 {
            rng.below(input.len() + 1)
        } else {
            0
        };
        let limits = if rng.below(4) == 0 {
            [
                rng.below(200) as u32,
                rng.below(40) as u32,
                rng.below(6) as u32,
            ]
        } else {
            [0, 0, 0]
        };
        let table_len = match rng.below(10) {
            0 => rng.below(slot::HEADERS + 20),
            _ => slot::HEADERS + record::SIZE * 100,
        };
        for response in [None, Some(rng.below(28) as u32)] {
            let rc = check(&input, start, limits, table_len, response);
            outcomes[(rc.signum() + 1) as usize] += 1;
            // A random prefix: NEED_MORE, or the same result.
            if input.len() > start {
                let cut = start + rng.below(input.len() - start);
                let prefix_rc = check(&input[..cut], start, limits, table_len, response);
                assert!(
                    prefix_rc == NEED_MORE || prefix_rc == rc,
                    "prefix {cut} of {:?} gives {prefix_rc}, whole {rc}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
    eprintln!(
        "fuzz: {iterations} inputs: {} rejected, {} incomplete, {} complete parses",
        outcomes[0], outcomes[1], outcomes[2]
    );
    assert!(outcomes[2] > 0 && outcomes[0] > 0);
}
