//! Shared by the fuzz targets: table layout, limits picked from the mode byte, the
//! split property of the head parsers, and the rewrite plans. Each target includes
//! this module with `#[path]`, so every binary has its own copy and no target depends
//! on another.
#![allow(dead_code)]

use exaproxy_http::abi::{record, slot, NEED_MORE};
use exaproxy_http::{parse_request, parse_response, ForwardedFor, Plan, PlanOptions};

/// A table with room for the default 100 header records.
pub const TABLE: usize = slot::HEADERS + record::SIZE * 100;

#[derive(Clone, Copy)]
pub enum Kind {
    Request,
    /// A response to a request of this `method` id.
    Response(u32),
}

/// The limits the mode byte picks: the defaults (0) for even modes, small ones for odd
/// modes, so both the limit paths and the normal ones are reached.
pub fn limits(mode: u8) -> [u32; 3] {
    if mode & 1 == 1 {
        [
            u32::from(mode) + 16,
            u32::from(mode >> 3) + 1,
            u32::from(mode >> 5) + 1,
        ]
    } else {
        [0; 3]
    }
}

/// Parses `buf` as `kind` with `limits` into a fresh table of `records` header records.
pub fn parse(kind: Kind, buf: &[u8], limits: [u32; 3], records: usize) -> (i32, Vec<u32>) {
    let mut t = vec![0u32; slot::HEADERS + record::SIZE * records];
    t[..3].copy_from_slice(&limits);
    let rc = match kind {
        Kind::Request => parse_request(buf, 0, &mut t),
        Kind::Response(m) => parse_response(buf, 0, &mut t, m),
    };
    (rc, t)
}

/// The cuts to try: every one for a short input (the property is quadratic), else 64
/// spread over the input plus the one the mode byte names.
pub fn cuts(len: usize, mode: u8) -> Vec<usize> {
    if len <= 512 {
        return (0..len).collect();
    }
    let mut v: Vec<usize> = (0..64).map(|i| i * len / 64).collect();
    v.push(usize::from(mode) * len / 256);
    v.push(len - 1);
    v
}

/// parse(whole) == parse(prefix) for every prefix that holds the whole head (same
/// result, same table); a shorter prefix asks for more, or, when the whole is refused,
/// gives the same error at the same position with the same status.
pub fn assert_split(kind: Kind, input: &[u8], limits: [u32; 3], mode: u8) {
    let (whole, table) = parse(kind, input, limits, 100);
    for cut in cuts(input.len(), mode) {
        let (rc, t) = parse(kind, &input[..cut], limits, 100);
        if whole > 0 && cut >= whole as usize {
            assert_eq!(rc, whole, "cut at {cut}");
            assert_eq!(t, table, "cut at {cut}: table");
        } else if rc != NEED_MORE {
            assert!(
                whole < 0,
                "cut at {cut}: {rc}, the whole input gives {whole}"
            );
            assert_eq!(rc, whole, "cut at {cut}: error code");
            assert_eq!(
                (t[slot::ERROR_POS], t[slot::ERROR_STATUS]),
                (table[slot::ERROR_POS], table[slot::ERROR_STATUS]),
                "cut at {cut}: error position and status"
            );
        }
    }
}

/// Offsets of a complete head stay inside it and in order.
pub fn assert_spans(table: &[u32], end: u32, pairs: &[(usize, usize)]) {
    assert_eq!(table[slot::HEAD_END], end);
    for &(a, b) in pairs {
        assert!(table[a] <= table[b] && table[b] <= end);
    }
    for i in 0..table[slot::HEADER_COUNT] as usize {
        let r = slot::HEADERS + i * record::SIZE;
        assert!(table[r] < table[r + 1] && table[r + 1] < table[r + 2]);
        assert!(table[r + 2] <= table[r + 3] && table[r + 3] <= end);
    }
}

/// The bytes of the span `a..b` of a table.
pub fn span<'a>(buf: &'a [u8], t: &[u32], a: usize, b: usize) -> &'a [u8] {
    &buf[t[a] as usize..t[b] as usize]
}

/// One of three rewrite plans (as the proxy's options can make them), by `pick`.
pub fn plan(pick: u8) -> Plan {
    let mut o = PlanOptions {
        via: Some("exaproxy".into()),
        ..PlanOptions::default()
    };
    match pick % 3 {
        0 => {}
        1 => {
            o.via = None;
            o.via_response = true;
            o.forwarded_for = ForwardedFor::Replace;
            o.pass_proxy_authorization = true;
            o.remove_request = vec!["x-a".into()];
            o.remove_response = vec!["server".into()];
            o.add_request = vec![("X-Added".into(), "1".into())];
            o.add_response = vec![("X-Added".into(), "2".into())];
        }
        _ => o.forwarded_for = ForwardedFor::Leave,
    }
    assert_eq!(o.validate(), Ok(()));
    Plan::new(&o)
}
