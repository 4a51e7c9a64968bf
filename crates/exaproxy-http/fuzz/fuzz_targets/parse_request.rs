//! libFuzzer target: `parse_request` on arbitrary bytes. The first byte picks the
//! limits (default or small) so both the limit paths and the normal ones are hit.
#![no_main]

use exaproxy_http::abi::{record, slot, NEED_MORE};
use exaproxy_http::parse_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let mut table = vec![0u32; slot::HEADERS + record::SIZE * 100];
    if mode & 1 == 1 {
        table[..3].copy_from_slice(&[
            u32::from(mode) + 16,
            u32::from(mode >> 3) + 1,
            u32::from(mode >> 5) + 1,
        ]);
    }
    let limits = [table[0], table[1], table[2]];
    let rc = parse_request(input, 0, &mut table);
    assert!(rc as i64 <= input.len() as i64);
    if rc > 0 {
        let end = rc as u32;
        assert_eq!(table[slot::HEAD_END], end);
        for (a, b) in [
            (slot::METHOD_START, slot::METHOD_END),
            (slot::TARGET_START, slot::TARGET_END),
            (slot::HOST_START, slot::HOST_END),
            (slot::PATH_START, slot::PATH_END),
        ] {
            assert!(table[a] <= table[b] && table[b] <= end);
        }
        for i in 0..table[slot::HEADER_COUNT] as usize {
            let r = slot::HEADERS + i * record::SIZE;
            assert!(table[r] < table[r + 1] && table[r + 1] < table[r + 2]);
            assert!(table[r + 2] <= table[r + 3] && table[r + 3] <= end);
        }
    } else if rc < 0 {
        assert!(table[slot::ERROR_POS] as usize <= input.len());
    }
    // Any prefix gives NEED_MORE or the same result.
    if !input.is_empty() {
        let cut = usize::from(mode) * input.len() / 256;
        let mut t = vec![0u32; table.len()];
        t[..3].copy_from_slice(&limits);
        let prefix = parse_request(&input[..cut], 0, &mut t);
        assert!(prefix == NEED_MORE || prefix == rc);
    }
});
