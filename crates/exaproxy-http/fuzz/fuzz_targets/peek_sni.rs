//! libFuzzer target: `peek_sni` on arbitrary bytes (the first byte, the mode, is not
//! part of the input; it picks a cut when the record is long).
//!
//! Properties, beyond "no panic":
//! - a found name lies inside the record, and the record inside the input;
//! - every prefix shorter than the record asks for more, and the record alone (or
//!   any longer prefix) gives the same result and table (a ClientHello split across
//!   reads is read as if it came at once);
//! - anything else leaves the table zeroed.
#![no_main]

use exaproxy_http::abi::{sni, NEED_MORE};
use exaproxy_http::peek_sni;
use libfuzzer_sys::fuzz_target;

fn peek(input: &[u8]) -> (i32, [u32; sni::SIZE]) {
    let mut table = [0u32; sni::SIZE];
    (peek_sni(input, 0, &mut table), table)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let (rc, table) = peek(input);
    if rc == 1 {
        let len = table[sni::RECORD_LEN] as usize;
        assert!(len <= input.len());
        assert!(table[sni::NAME_START] <= table[sni::NAME_END]);
        assert!(table[sni::NAME_END] as usize <= len);
        let cuts: Vec<usize> = if len <= 1024 {
            (0..len).collect()
        } else {
            vec![usize::from(mode) * len / 256, len - 1]
        };
        for cut in cuts {
            assert_eq!(peek(&input[..cut]).0, NEED_MORE, "cut at {cut}");
        }
        assert_eq!(peek(&input[..len]), (rc, table), "the record alone");
    } else {
        assert!(rc <= NEED_MORE);
        assert_eq!(table, [0; sni::SIZE]);
    }
});
