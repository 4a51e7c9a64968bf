//! Differential test against `httparse` (an independent parser) on well-formed
//! requests: generated ones and every corpus request we accept. Where both accept,
//! method, target, version, header names and values, and the consumed length must
//! agree. (httparse checks less than we do, so only our accepted inputs are compared.)

mod corpus;

use exaproxy_http::abi::{record, slot};
use exaproxy_http::parse_request;

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
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn string(&mut self, alphabet: &[u8], min: usize, max: usize) -> String {
        let n = min + self.below(max - min + 1);
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const TCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const PATH: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%";
const VALUE: &[u8] = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t";

/// A random well-formed HTTP/1.x request head.
fn generate(rng: &mut XorShift) -> String {
    let method = rng.pick(&[
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "PURGE", "X-CUSTOM",
    ]);
    let target = match rng.below(4) {
        0 => format!(
            "http://{}.example:{}/{}",
            rng.string(b"abcdefgh", 1, 8),
            1 + rng.below(65535),
            rng.string(PATH, 0, 40)
        ),
        _ => format!("/{}", rng.string(PATH, 0, 60)),
    };
    let minor = rng.below(2);
    let mut head = format!(
        "{method} {target} HTTP/1.{minor}\r\nHost: {}.test\r\n",
        rng.string(b"abcdefghij-", 1, 12)
    );
    for _ in 0..rng.below(12) {
        let name = match rng.below(3) {
            0 => rng
                .pick(&[
                    "Accept",
                    "User-Agent",
                    "Cookie",
                    "Referer",
                    "Via",
                    "X-Forwarded-For",
                    "Connection",
                ])
                .to_string(),
            _ => rng.string(TCHARS, 1, 20),
        };
        if name.eq_ignore_ascii_case("host")
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        let ows = |rng: &mut XorShift| rng.pick(&["", " ", "  ", "\t"]).to_string();
        let value = rng.string(VALUE, 0, 80);
        let (pre, post) = (ows(rng), ows(rng));
        head.push_str(&format!("{name}:{pre}{value}{post}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Compares both parsers on `input`; returns false when we do not accept it.
fn compare(input: &[u8]) -> bool {
    let mut t = vec![0u32; slot::HEADERS + record::SIZE * 100];
    let rc = parse_request(input, 0, &mut t);
    if rc <= 0 {
        return false;
    }
    let show = String::from_utf8_lossy(input);
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut headers);
    let status = req
        .parse(input)
        .unwrap_or_else(|e| panic!("httparse rejects {show:?}: {e}"));
    assert_eq!(
        status,
        httparse::Status::Complete(rc as usize),
        "consumed length of {show:?}"
    );
    let span = |a: usize, b: usize| &input[t[a] as usize..t[b] as usize];
    assert_eq!(
        req.method.unwrap().as_bytes(),
        span(slot::METHOD_START, slot::METHOD_END),
        "{show:?}"
    );
    assert_eq!(
        req.path.unwrap().as_bytes(),
        span(slot::TARGET_START, slot::TARGET_END),
        "{show:?}"
    );
    assert_eq!(req.version.unwrap() as u32, t[slot::VERSION], "{show:?}");
    assert_eq!(
        req.headers.len(),
        t[slot::HEADER_COUNT] as usize,
        "{show:?}"
    );
    for (i, h) in req.headers.iter().enumerate() {
        let r = slot::HEADERS + i * record::SIZE;
        assert_eq!(
            h.name.as_bytes(),
            span(r, r + 1),
            "header {i} name of {show:?}"
        );
        let theirs = h.value.trim_ascii_end();
        assert_eq!(theirs, span(r + 2, r + 3), "header {i} value of {show:?}");
    }
    true
}

#[test]
fn agrees_with_httparse_on_generated_requests() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let n = 5000;
    let mut accepted = 0;
    for _ in 0..n {
        let head = generate(&mut rng);
        assert!(
            compare(head.as_bytes()),
            "we reject a generated well-formed request: {head:?}"
        );
        accepted += 1;
    }
    assert_eq!(accepted, n);
}

#[test]
fn agrees_with_httparse_on_accepted_corpus_requests() {
    if corpus::corpus_dir().is_none() {
        return;
    }
    let mut compared = 0;
    for case in corpus::read_cases("request") {
        // The first head of the input only: httparse parses one head.
        if compare(&case.input) {
            compared += 1;
        }
    }
    eprintln!("differential: {compared} accepted corpus requests compared with httparse");
    assert!(compared > 10);
}
