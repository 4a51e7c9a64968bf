//! libFuzzer target: `parse_request` on arbitrary bytes. The first byte (the mode)
//! picks the limits (default or small), the rewrite plan and the rewrite bits.
//!
//! Properties, beyond "no panic":
//! - every offset of a complete head lies inside it, in order;
//! - parse(whole) == parse(any prefix that holds the head), and a shorter prefix asks
//!   for more or gives the same error at the same position (a head split across reads
//!   is parsed as if it came at once);
//! - a parsed head rewrites (`rewrite_request`) into a head that parses again to the
//!   same request: method, version, authority, path, framing and length.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use common::{assert_spans, assert_split, limits, parse, plan, span, Kind};
use exaproxy_http::abi::{error, flag, form, method, slot};
use exaproxy_http::rewrite_request;
use libfuzzer_sys::fuzz_target;

/// The request the rewritten head must still be: `input` parsed into `t`.
fn assert_rewrite_keeps_semantics(input: &[u8], t: &[u32], mode: u8) {
    let plan = plan(mode >> 1);
    let bits = u32::from(mode >> 4);
    let mut out = vec![0u8; input.len() * 2 + 4096];
    let n = rewrite_request(&plan, input, t, &mut out, b"192.0.2.1", bits);
    if n == -(error::TOO_MANY_HEADERS as i32) {
        // Connection names more fields than the rewriter bounds: refused, never half done.
        return;
    }
    assert!(n > 0, "rewrite_request gave {n}");
    let out = &out[..n as usize];
    // The proxy's own lines may pass the client's limits: re-parse with room to spare.
    let (rc, r) = parse(Kind::Request, out, [0, 0, 1000], 1000);
    assert_eq!(
        rc,
        n,
        "the output must parse: {:?}",
        String::from_utf8_lossy(out)
    );
    let show = || String::from_utf8_lossy(out).into_owned();
    assert_eq!(r[slot::METHOD], t[slot::METHOD], "{}", show());
    assert_eq!(
        span(out, &r, slot::METHOD_START, slot::METHOD_END),
        span(input, t, slot::METHOD_START, slot::METHOD_END)
    );
    assert_eq!(r[slot::VERSION], t[slot::VERSION], "{}", show());
    assert_eq!(
        span(out, &r, slot::HOST_START, slot::HOST_END).to_ascii_lowercase(),
        span(input, t, slot::HOST_START, slot::HOST_END).to_ascii_lowercase(),
        "host of {}",
        show()
    );
    assert_eq!(r[slot::PORT], t[slot::PORT], "port of {}", show());
    let path = |buf: &[u8], t: &[u32]| {
        let p = span(buf, t, slot::PATH_START, slot::PATH_END);
        let p = p.split(|&b| b == b'#').next().unwrap_or_default();
        // An absolute-form path may be empty or start at its query: origin-form adds "/".
        if p.first() == Some(&b'/') {
            p.to_vec()
        } else {
            [b"/", p].concat()
        }
    };
    let was = t[slot::FORM];
    let expected_form = match was {
        form::ABSOLUTE
            if t[slot::METHOD] == method::OPTIONS && t[slot::PATH_START] == t[slot::PATH_END] =>
        {
            form::ASTERISK
        }
        form::ABSOLUTE => form::ORIGIN,
        other => other,
    };
    assert_eq!(r[slot::FORM], expected_form, "form of {}", show());
    if expected_form == form::ORIGIN {
        assert_eq!(path(out, &r), path(input, t), "path of {}", show());
    }
    let framing = flag::CONTENT_LENGTH | flag::CHUNKED | flag::BODY_NONE;
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
    let (rc, table) = parse(Kind::Request, input, limits, 100);
    assert!(rc as i64 <= input.len() as i64);
    if rc > 0 {
        assert_spans(
            &table,
            rc as u32,
            &[
                (slot::METHOD_START, slot::METHOD_END),
                (slot::TARGET_START, slot::TARGET_END),
                (slot::HOST_START, slot::HOST_END),
                (slot::PATH_START, slot::PATH_END),
            ],
        );
    } else if rc < 0 {
        assert!(table[slot::ERROR_POS] as usize <= input.len());
    }
    assert_split(Kind::Request, input, limits, mode);
    if rc > 0 {
        assert_rewrite_keeps_semantics(&input[..rc as usize], &table, mode);
    }
});
