//! Head parser throughput: `cargo bench -p exaproxy-http --bench parse`.
//!
//! Plain `std::time::Instant` timing (no harness): each case is parsed in a tight
//! loop after a warm-up, best of several rounds, reported as ns per head and MB/s.
#![allow(clippy::print_stdout)]

use exaproxy_http::abi::{method, record, slot};
use exaproxy_http::{parse_request, parse_response};
use std::hint::black_box;
use std::time::Instant;

/// A typical browser request through a forward proxy: 12 header lines, ~500 bytes.
const BROWSER: &[u8] =
    b"GET http://www.example.com/articles/2024/how-to-parse-http.html?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-GB,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: http://www.example.com/\r\n\
Cookie: session=4f2a9c1e77b0; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Proxy-Connection: keep-alive\r\n\
Sec-GPC: 1\r\n\
Priority: u=0, i\r\n\
Cache-Control: max-age=0\r\n\r\n";

const MINIMAL: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Mon, 25 Nov 2024 10:00:00 GMT\r\n\
Server: nginx/1.24.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 15320\r\n\
Connection: keep-alive\r\n\
Cache-Control: private, max-age=0\r\n\
Set-Cookie: id=a3fWa; Max-Age=2592000; Path=/; HttpOnly\r\n\
Vary: Accept-Encoding\r\n\r\n";

fn bench(name: &str, input: &[u8], parse: impl Fn(&[u8], &mut [u32]) -> i32) {
    let mut table = vec![0u32; slot::HEADERS + record::SIZE * 100];
    let rc = parse(input, &mut table);
    assert_eq!(rc as usize, input.len(), "{name} must parse completely");
    let iterations = 200_000;
    let mut best = f64::MAX;
    for round in 0..7 {
        let started = Instant::now();
        for _ in 0..iterations {
            black_box(parse(black_box(input), black_box(&mut table)));
        }
        let ns = started.elapsed().as_nanos() as f64 / iterations as f64;
        if round > 0 {
            best = best.min(ns); // round 0 warms caches and branch predictors
        }
    }
    let mbps = input.len() as f64 / best * 1e3;
    println!(
        "{name:<34} {:>4} bytes  {best:>7.1} ns/head  {mbps:>7.0} MB/s",
        input.len()
    );
}

fn main() {
    bench("request: browser, 12 headers", BROWSER, |b, t| {
        parse_request(b, 0, t)
    });
    bench("request: minimal", MINIMAL, |b, t| parse_request(b, 0, t));
    bench("response: 8 headers", RESPONSE, |b, t| {
        parse_response(b, 0, t, method::GET)
    });
}
