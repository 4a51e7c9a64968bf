//! `scan_chunked`: golden cases, every split point, and a deterministic
//! mutation fuzz checked against a simple whole-buffer reference decoder.

mod common;
use common::Rng;

use exaproxy_http::abi::{chunk, error};
use exaproxy_http::scan_chunked;

/// Outcome of feeding a whole input: bytes of the message and whether it ended,
/// or the error code.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Done(usize),
    More,
    Error(u32),
}

/// Feeds `input` in pieces cut at `cuts` (sorted offsets), as a socket would.
fn feed(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut state = [0u32; chunk::SIZE];
    let mut begin = 0;
    let mut consumed = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        // The caller's buffer holds earlier bytes too: offsets are absolute.
        let n = scan_chunked(input, begin, end, &mut state);
        if n < 0 {
            return Outcome::Error((-n) as u32);
        }
        consumed += n as usize;
        if state[chunk::PHASE] == chunk::PHASE_DONE {
            assert!(n as usize <= end - begin);
            return Outcome::Done(consumed);
        }
        assert_eq!(
            n as usize,
            end - begin,
            "an unfinished body takes every byte"
        );
        begin = end;
    }
    Outcome::More
}

fn whole(input: &[u8]) -> Outcome {
    feed(input, &[])
}

/// The same outcome whole, cut once anywhere, cut twice anywhere (small inputs),
/// and byte by byte.
fn assert_split_invariant(input: &[u8]) -> Outcome {
    let expected = whole(input);
    for i in 0..=input.len() {
        assert_eq!(
            feed(input, &[i]),
            expected,
            "split at {i} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    if input.len() <= 48 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                assert_eq!(feed(input, &[i, j]), expected, "splits {i},{j}");
            }
        }
    }
    let every: Vec<usize> = (0..=input.len()).collect();
    assert_eq!(feed(input, &every), expected, "byte by byte");
    expected
}

const fn err(code: u32) -> Outcome {
    Outcome::Error(code)
}

#[test]
fn valid_bodies() {
    let cases: &[(&[u8], Outcome)] = &[
        (b"0\r\n\r\n", Outcome::Done(5)),
        (b"0\r\n\r\nNEXT", Outcome::Done(5)),
        (
            b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
            Outcome::Done(43),
        ),
        (b"a\r\n0123456789\r\n0\r\n\r\n", Outcome::Done(20)),
        (b"A\r\n0123456789\r\n00\r\n\r\n", Outcome::Done(21)),
        (b"1;name\r\nx\r\n0\r\n\r\n", Outcome::Done(16)),
        (b"1;name=value\r\nx\r\n0\r\n\r\n", Outcome::Done(22)),
        (b"1;a=\"q \\\" ;\"\r\nx\r\n0\r\n\r\n", Outcome::Done(22)),
        (b"1 ;a = b ; c\r\nx\r\n0;last\r\n\r\n", Outcome::Done(27)),
        (b"1;a=\"\"\r\nx\r\n0\r\n\r\n", Outcome::Done(16)),
        (
            b"0\r\nExpires: never\r\nX-Sum:\t  \xff abc \r\n\r\n",
            Outcome::Done(38),
        ),
        (b"0\r\nEmpty:\r\n\r\n", Outcome::Done(13)),
        (b"5\r\nhello\r\n", Outcome::More),
        (b"5\r\nhel", Outcome::More),
        (b"", Outcome::More),
        // Body bytes are not looked at: CRLFs and NULs inside data are data.
        (b"6\r\n\r\n0\r\n\0\r\n0\r\n\r\n", Outcome::Done(16)),
    ];
    for (input, expected) in cases {
        assert_eq!(
            assert_split_invariant(input),
            *expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn invalid_bodies() {
    use error::*;
    let cases: &[(&[u8], u32)] = &[
        (b"\r\n", CHUNK_SIZE),
        (b";a\r\n", CHUNK_SIZE),
        (b" 1\r\nx\r\n", CHUNK_SIZE),
        (b"\t1\r\nx\r\n", CHUNK_SIZE),
        (b"0x1\r\nx\r\n", CHUNK_SIZE),
        (b"-1\r\n", CHUNK_SIZE),
        (b"+1\r\n", CHUNK_SIZE),
        (b"1g\r\n", CHUNK_SIZE),
        (b"1_0\r\n", CHUNK_SIZE),
        (b"1 \r\nx\r\n", CHUNK_EXTENSION),
        (b"1;\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a \r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=b \r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=\"b\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=\"b\"c\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=b=c\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a@b\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=\"\x01\"\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a=\"\\\x7f\"\r\nx\r\n", CHUNK_EXTENSION),
        (b"1;a\rb\r\nx\r\n", BARE_CR),
        (b"1\n", BARE_LF),
        (b"1;a\n", BARE_LF),
        (b"1;a=\"x\n", BARE_LF),
        (b"1\r\r\n", BARE_CR),
        (b"1\rx", BARE_CR),
        (b"1\r\nxy", CHUNK_DATA_END),
        (b"1\r\nx\n", CHUNK_DATA_END),
        (b"1\r\nx\rx", CHUNK_DATA_END),
        (b"1\r\nx\r\r\n", CHUNK_DATA_END),
        (b"2\r\nx\r\n", CHUNK_DATA_END),
        (b"0\r\n\n", TRAILERS),
        (b"0\r\n\rx", TRAILERS),
        (b"0\r\n folded\r\n\r\n", TRAILERS),
        (b"0\r\nA: b\r\n c\r\n\r\n", TRAILERS),
        (b"0\r\nA : b\r\n\r\n", TRAILERS),
        (b"0\r\n: b\r\n\r\n", TRAILERS),
        (b"0\r\nA\r\n\r\n", TRAILERS),
        (b"0\r\nA: b\0c\r\n\r\n", TRAILERS),
        (b"0\r\nA: b\x7f\r\n\r\n", TRAILERS),
        (b"0\r\nA: b\nc\r\n\r\n", TRAILERS),
        (b"0\r\nA: b\rc\r\n\r\n", TRAILERS),
        (b"0\r\nA(: b\r\n\r\n", TRAILERS),
        (b"12345678901234567\r\n", CHUNK_SIZE_OVERFLOW),
        (b"20000000000000\r\n", CHUNK_SIZE_OVERFLOW),
        (b"ffffffffffffffff\r\n", CHUNK_SIZE_OVERFLOW),
    ];
    for (input, code) in cases {
        assert_eq!(
            assert_split_invariant(input),
            err(*code),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn largest_chunk_size_is_two_to_the_53_minus_one() {
    let mut state = [0u32; chunk::SIZE];
    let line = b"1FFFFFFFFFFFFF\r\n";
    assert_eq!(
        scan_chunked(line, 0, line.len(), &mut state),
        line.len() as i32
    );
    let remaining =
        u64::from(state[chunk::REMAINING_LO]) | (u64::from(state[chunk::REMAINING_HI]) << 32);
    assert_eq!(remaining, (1u64 << 53) - 1);
    // Sixteen digits are fine when the value fits.
    assert_eq!(
        whole(b"0000000000000001\r\nx\r\n0\r\n\r\n"),
        Outcome::Done(26)
    );
}

#[test]
fn data_spanning_many_reads_is_skipped_by_count() {
    // A 3 GiB chunk described by its size line, then fed as 1 MiB reads of a
    // reused buffer: the scanner must count across calls without looking.
    let mut state = [0u32; chunk::SIZE];
    let line = b"C0000000\r\n";
    assert_eq!(
        scan_chunked(line, 0, line.len(), &mut state),
        line.len() as i32
    );
    let block = vec![b'\n'; 1 << 20];
    for _ in 0..(3 * 1024) {
        assert_eq!(
            scan_chunked(&block, 0, block.len(), &mut state),
            block.len() as i32
        );
    }
    let tail = b"\r\n0\r\n\r\nrest";
    assert_eq!(scan_chunked(tail, 0, tail.len(), &mut state), 7);
    assert_eq!(state[chunk::PHASE], chunk::PHASE_DONE);
}

#[test]
fn size_line_is_bounded() {
    let mut line = b"1;a=\"".to_vec();
    line.resize(4096 - 3, b'x');
    line.extend_from_slice(b"\"\r\n");
    assert_eq!(line.len(), 4096);
    let mut body = line.clone();
    body.extend_from_slice(b"x\r\n0\r\n\r\n");
    assert_eq!(whole(&body), Outcome::Done(body.len()));

    let mut long = b"1;a=\"".to_vec();
    long.resize(4096 - 2, b'x');
    long.extend_from_slice(b"\"\r\n");
    assert_eq!(whole(&long), err(error::CHUNK_EXTENSION));
    // The bound holds over a line fed in pieces, before any CRLF arrives.
    assert_eq!(feed(&long[..4095], &[1000, 2000, 3000]), Outcome::More);
    assert_eq!(
        feed(&long[..4097], &[1000, 2000, 3000]),
        err(error::CHUNK_EXTENSION)
    );
}

#[test]
fn trailer_section_is_bounded() {
    let field =
        b"X-Pad: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n";
    let mut body = b"0\r\n".to_vec();
    let mut trailer_bytes = 0;
    while trailer_bytes + field.len() + 2 <= 16 * 1024 {
        body.extend_from_slice(field);
        trailer_bytes += field.len();
    }
    let fill = 16 * 1024 - 2 - trailer_bytes;
    // One last field sized so that the section is exactly 16 KiB with its CRLF.
    let mut last = b"X-Last: ".to_vec();
    last.resize(fill - 2, b'y');
    last.extend_from_slice(b"\r\n");
    body.extend_from_slice(&last);
    body.extend_from_slice(b"\r\n");
    assert_eq!(body.len() - 3, 16 * 1024);
    assert_eq!(whole(&body), Outcome::Done(body.len()));

    let mut over = body.clone();
    over.insert(5, b'z');
    assert_eq!(whole(&over), err(error::TRAILERS));
}

#[test]
fn counters_reset_between_chunks() {
    // Many long-but-legal size lines in a row must not add up to the bound.
    let mut body = Vec::new();
    for _ in 0..10 {
        body.extend_from_slice(b"1;");
        body.extend(std::iter::repeat_n(b'e', 3000));
        body.extend_from_slice(b"\r\nx\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(whole(&body), Outcome::Done(body.len()));
}

// ---------------------------------------------------------------------------
// Mutation fuzz against a reference decoder.

/// A plain whole-buffer decoder written from the RFC grammar, independent of the
/// incremental state machine. `None` means "incomplete" (it does not try to
/// reject an incomplete line early, so only complete verdicts are compared).
fn reference(input: &[u8]) -> Option<Result<usize, ()>> {
    fn tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }
    fn skip_ws(s: &[u8], mut i: usize) -> usize {
        while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
            i += 1;
        }
        i
    }
    fn token_end(s: &[u8], mut i: usize) -> usize {
        while i < s.len() && tchar(s[i]) {
            i += 1;
        }
        i
    }
    /// `chunk-size [ chunk-ext ]` without the CRLF; returns the size.
    fn size_line(line: &[u8]) -> Result<u64, ()> {
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 || digits > 16 {
            return Err(());
        }
        let size = u64::from_str_radix(std::str::from_utf8(&line[..digits]).unwrap(), 16)
            .map_err(|_| ())?;
        if size >= 1 << 53 {
            return Err(());
        }
        let mut i = digits;
        while i < line.len() {
            i = skip_ws(line, i);
            if line.get(i) != Some(&b';') {
                return Err(());
            }
            i = skip_ws(line, i + 1);
            let end = token_end(line, i);
            if end == i {
                return Err(());
            }
            i = end;
            let j = skip_ws(line, i);
            if line.get(j) == Some(&b'=') {
                i = skip_ws(line, j + 1);
                if line.get(i) == Some(&b'"') {
                    i += 1;
                    loop {
                        match line.get(i) {
                            None => return Err(()),
                            Some(b'"') => break,
                            Some(b'\\') => {
                                match line.get(i + 1) {
                                    Some(&c)
                                        if c == b'\t'
                                            || c == b' '
                                            || (0x21..=0x7e).contains(&c)
                                            || c >= 0x80 => {}
                                    _ => return Err(()),
                                }
                                i += 2;
                            }
                            Some(&c)
                                if c == b'\t'
                                    || c == b' '
                                    || c == 0x21
                                    || (0x23..=0x7e).contains(&c)
                                    || c >= 0x80 =>
                            {
                                i += 1
                            }
                            Some(_) => return Err(()),
                        }
                    }
                    i += 1;
                } else {
                    let end = token_end(line, i);
                    if end == i {
                        return Err(());
                    }
                    i = end;
                }
            }
        }
        Ok(size)
    }
    /// The next line ending in CRLF from `at`: `Some(Ok(line_end))`, an error for a
    /// bare CR or LF, or `None` when it has not arrived.
    fn line(input: &[u8], at: usize) -> Option<Result<usize, ()>> {
        let mut i = at;
        while i < input.len() {
            match input[i] {
                b'\n' => return Some(Err(())),
                b'\r' => {
                    return match input.get(i + 1) {
                        None => None,
                        Some(b'\n') => Some(Ok(i)),
                        Some(_) => Some(Err(())),
                    }
                }
                _ => i += 1,
            }
        }
        None
    }
    let mut pos = 0;
    loop {
        let end = match line(input, pos)? {
            Ok(end) => end,
            Err(()) => return Some(Err(())),
        };
        if end + 2 - pos > 4096 {
            return Some(Err(()));
        }
        let size = match size_line(&input[pos..end]) {
            Ok(size) => size,
            Err(()) => return Some(Err(())),
        };
        pos = end + 2;
        if size == 0 {
            break;
        }
        let data_end = pos.checked_add(size as usize)?;
        if input.len() < data_end + 2 {
            // Incomplete unless what has arrived after the data already is wrong.
            if input.len() > data_end && input[data_end] != b'\r' {
                return Some(Err(()));
            }
            return None;
        }
        if &input[data_end..data_end + 2] != b"\r\n" {
            return Some(Err(()));
        }
        pos = data_end + 2;
    }
    let trailers_start = pos;
    loop {
        let end = match line(input, pos)? {
            Ok(end) => end,
            Err(()) => return Some(Err(())),
        };
        if end + 2 - trailers_start > 16 * 1024 {
            return Some(Err(()));
        }
        let field = &input[pos..end];
        pos = end + 2;
        if field.is_empty() {
            return Some(Ok(pos));
        }
        let name = token_end(field, 0);
        if name == 0 || field.get(name) != Some(&b':') {
            return Some(Err(()));
        }
        if !field[name + 1..]
            .iter()
            .all(|&c| c == b'\t' || c == b' ' || (0x21..=0x7e).contains(&c) || c >= 0x80)
        {
            return Some(Err(()));
        }
    }
}

fn random_body(rng: &mut Rng) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..rng.below(4) {
        let size = 1 + rng.below(20);
        let digits = format!("{size:x}");
        body.extend_from_slice(
            if rng.below(2) == 0 {
                digits.to_uppercase()
            } else {
                digits
            }
            .as_bytes(),
        );
        for _ in 0..rng.below(3) {
            body.extend_from_slice(rng.pick(&[
                b";a",
                b" ;x=1",
                b";q=\"a b\\\"\"",
                b"; n = v",
                b";tok=t-1",
            ]));
        }
        body.extend_from_slice(b"\r\n");
        for _ in 0..size {
            body.push(rng.pick(&[b"a", b"\r", b"\n", b"0", b"\0"])[0]);
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(rng.pick(&[b"0", b"000", b"0;end"]));
    body.extend_from_slice(b"\r\n");
    for _ in 0..rng.below(3) {
        body.extend_from_slice(rng.pick(&[b"A: b\r\n", b"X-Trailer:\r\n", b"Sum: \t1\xfe\r\n"]));
    }
    body.extend_from_slice(b"\r\n");
    if rng.below(2) == 0 {
        body.extend_from_slice(b"GET / HTTP/1.1\r\n");
    }
    body
}

fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    const INTERESTING: &[u8] = b"\r\n \t;=\"\\:0fFx\0\x7f\xff";
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(body.len() + 1);
        match rng.below(5) {
            0 if at < body.len() => body[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => body.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if at < body.len() => {
                body.remove(at);
            }
            3 if at < body.len() => body[at] ^= 1 << rng.below(8),
            _ => body.truncate(at),
        }
    }
}

#[test]
fn mutations_agree_with_the_reference_and_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for round in 0..6000 {
        let mut body = random_body(&mut rng);
        if round % 4 != 0 {
            mutate(&mut rng, &mut body);
        }
        let got = whole(&body);
        match reference(&body) {
            Some(Ok(n)) => {
                assert_eq!(
                    got,
                    Outcome::Done(n),
                    "{:?}",
                    String::from_utf8_lossy(&body)
                );
                accepted += 1;
            }
            Some(Err(())) => {
                assert!(
                    matches!(got, Outcome::Error(_)),
                    "accepted {:?}: {got:?}",
                    String::from_utf8_lossy(&body)
                );
                rejected += 1;
            }
            None => assert!(
                got == Outcome::More || matches!(got, Outcome::Error(_)),
                "{got:?}"
            ),
        }
        if round % 8 == 0 {
            assert_split_invariant(&body);
        }
    }
    // The generator must exercise both sides, or the comparison proves little.
    assert!(
        accepted > 1500 && rejected > 1500,
        "accepted {accepted}, rejected {rejected}"
    );
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..20000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let mut state = [0u32; chunk::SIZE];
        // Also start from arbitrary (corrupted) states.
        for slot in state.iter_mut() {
            if rng.below(4) == 0 {
                *slot = rng.next() as u32;
            }
        }
        let n = scan_chunked(&bytes, 0, len, &mut state);
        assert!(n <= len as i32);
    }
}

#[test]
fn bodies_captured_from_real_peers() {
    // curl 7.88.1 uploading stdin with `-H 'Transfer-Encoding: chunked'`
    // (the body after the head, byte for byte, followed by a pipelined request).
    let curl =
        b"2a\r\nhello chunked world\nsecond line\nlate part\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    assert_eq!(assert_split_invariant(curl), Outcome::Done(53));
    // Node.js 20 `http` response with three writes and a trailer (`addTrailers`).
    let node = [
        &b"c\r\nfirst chunk\n\r\n12c\r\n"[..],
        &[b'a'; 300],
        b"\r\n6\r\nlast\r\n\r\n0\r\nX-Checksum: abc123\r\n\r\n",
    ]
    .concat();
    assert_eq!(node.len(), 360);
    assert_eq!(assert_split_invariant(&node), Outcome::Done(360));
}
