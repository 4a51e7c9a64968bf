//! libFuzzer target: `parse_response` on arbitrary bytes. The first byte (the mode)
//! picks the limits (default or small), the request method (HEAD, CONNECT… change the
//! framing), the rewrite plan and the rewrite bits.
//!
//! Properties, beyond "no panic":
//! - every offset of a complete head lies inside it, in order;
//! - parse(whole) == parse(any prefix that holds the head), and a shorter prefix asks
//!   for more or gives the same error at the same position;
//! - a parsed head rewrites (`rewrite_response`) into a head that parses again to the
//!   same response: status, reason, version, framing, length, tunnel or interim.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use common::{assert_spans, assert_split, limits, parse, plan, span, Kind};
use exaproxy_http::abi::{error, flag, slot};
use exaproxy_http::rewrite_response;
use libfuzzer_sys::fuzz_target;

fn assert_rewrite_keeps_semantics(input: &[u8], t: &[u32], mode: u8, method: u32) {
    let plan = plan(mode >> 1);
    let bits = u32::from(mode >> 4);
    let mut out = vec![0u8; input.len() * 2 + 4096];
    let mut t = t.to_vec();
    let n = rewrite_response(&plan, input, &mut t, &mut out, bits);
    if n == -(error::TOO_MANY_HEADERS as i32) {
        // Connection names more fields than the rewriter bounds: refused, never half done.
        return;
    }
    assert!(n > 0, "rewrite_response gave {n}");
    let out = &out[..n as usize];
    let show = || String::from_utf8_lossy(out).into_owned();
    let (rc, r) = parse(Kind::Response(method), out, [0, 0, 1000], 1000);
    assert_eq!(rc, n, "the output must parse: {}", show());
    assert_eq!(r[slot::STATUS], t[slot::STATUS], "{}", show());
    assert_eq!(r[slot::VERSION], t[slot::VERSION], "{}", show());
    assert_eq!(
        span(out, &r, slot::REASON_START, slot::REASON_END),
        span(input, &t, slot::REASON_START, slot::REASON_END)
    );
    let framing = flag::CONTENT_LENGTH
        | flag::CHUNKED
        | flag::BODY_NONE
        | flag::BODY_UNTIL_CLOSE
        | flag::TUNNEL
        | flag::INTERIM;
    assert_eq!(
        r[slot::FLAGS] & framing,
        t[slot::FLAGS] & framing,
        "framing of {}",
        show()
    );
    assert_eq!(
        (r[slot::LENGTH_LO], r[slot::LENGTH_HI]),
        (t[slot::LENGTH_LO], t[slot::LENGTH_HI])
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let limits = limits(mode);
    let method = u32::from(mode >> 2) % 28;
    let (rc, table) = parse(Kind::Response(method), input, limits, 100);
    assert!(rc as i64 <= input.len() as i64);
    if rc > 0 {
        assert_spans(&table, rc as u32, &[(slot::REASON_START, slot::REASON_END)]);
    } else if rc < 0 {
        assert!(table[slot::ERROR_POS] as usize <= input.len());
    }
    assert_split(Kind::Response(method), input, limits, mode);
    if rc > 0 {
        assert_rewrite_keeps_semantics(&input[..rc as usize], &table, mode, method);
    }
});
