//! libFuzzer target: `parse_icap_request` on arbitrary bytes. The first byte (the mode)
//! picks the limits: the ICAP limit (default or small) and the encapsulated head's.
//!
//! Properties, beyond "no panic":
//! - a complete message's spans lie inside what was consumed, in order, and `BODY` is
//!   where the consumed bytes end;
//! - an error carries a position inside the input and an ICAP status (400, 500, 501, 505);
//! - parse(whole) == parse(any prefix that holds the message), tables included, and a
//!   shorter prefix asks for more or gives the same error at the same position (a message
//!   split across reads is parsed as if it came at once).
#![no_main]

#[path = "common/mod.rs"]
mod common;

use common::{cuts, limits};
use exaproxy_http::abi::{icap, record, slot, NEED_MORE};
use exaproxy_http::parse_icap_request;
use libfuzzer_sys::fuzz_target;

fn parse(buf: &[u8], mode: u8) -> (i32, Vec<u32>, Vec<u32>) {
    let mut t = vec![0u32; icap::SIZE];
    if mode & 2 == 2 {
        t[icap::LIMIT_HEAD] = u32::from(mode) + 32;
    }
    let mut head = vec![0u32; slot::HEADERS + record::SIZE * 100];
    head[..3].copy_from_slice(&limits(mode));
    let rc = parse_icap_request(buf, 0, &mut t, &mut head);
    (rc, t, head)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let whole = parse(input, mode);
    let (rc, t, _) = &whole;
    assert!(*rc as i64 <= input.len() as i64);
    if *rc > 0 {
        assert_eq!(t[icap::BODY], *rc as u32);
        assert!(t[icap::HEAD_END] <= *rc as u32);
        for a in [
            icap::URI_START,
            icap::SERVICE_START,
            icap::REQ_HDR_START,
            icap::RES_HDR_START,
            icap::CLIENT_IP_START,
            icap::USER_START,
            icap::GROUPS_START,
        ] {
            assert!(t[a] <= t[a + 1] && t[a + 1] <= *rc as u32, "span at slot {a}");
        }
    } else if *rc < 0 {
        assert!(t[icap::ERROR_POS] as usize <= input.len());
        assert!(matches!(t[icap::ERROR_STATUS], 400 | 500 | 501 | 505));
    }
    for cut in cuts(input.len(), mode) {
        let part = parse(&input[..cut], mode);
        if *rc > 0 && cut >= *rc as usize {
            assert_eq!(part, whole, "cut at {cut}");
        } else if part.0 != NEED_MORE {
            assert!(*rc < 0, "cut at {cut}: {}, the whole input gives {rc}", part.0);
            assert_eq!(part.0, *rc, "cut at {cut}: error code");
            assert_eq!(
                part.1[icap::ERROR_POS..=icap::ERROR_STATUS],
                t[icap::ERROR_POS..=icap::ERROR_STATUS],
                "cut at {cut}: error position and status"
            );
        }
    }
});
