//! libFuzzer target: `peek_sni` on arbitrary bytes. Spans stay inside the
//! record; prefixes of a complete record ask for more.
#![no_main]

use exaproxy_http::abi::{sni, NEED_MORE};
use exaproxy_http::peek_sni;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let mut table = [0u32; sni::SIZE];
    let rc = peek_sni(input, 0, &mut table);
    if rc == 1 {
        let len = table[sni::RECORD_LEN] as usize;
        assert!(len <= input.len());
        assert!(table[sni::NAME_START] <= table[sni::NAME_END]);
        assert!(table[sni::NAME_END] as usize <= len);
        let cut = usize::from(mode) * len / 256;
        assert_eq!(
            peek_sni(&input[..cut], 0, &mut [0u32; sni::SIZE]),
            NEED_MORE
        );
    } else {
        assert!(rc <= NEED_MORE);
        assert_eq!(table, [0; sni::SIZE]);
    }
});
