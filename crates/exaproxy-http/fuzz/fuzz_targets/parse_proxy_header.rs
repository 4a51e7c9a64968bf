//! libFuzzer target: `parse_proxy_header` on arbitrary bytes. A complete header's
//! prefixes must all ask for more; a rejected prefix must stay rejected.
#![no_main]

use exaproxy_http::abi::{proxy, NEED_MORE};
use exaproxy_http::parse_proxy_header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let mut table = [0u32; proxy::SIZE];
    let rc = parse_proxy_header(input, 0, &mut table);
    assert!(rc as i64 <= input.len() as i64);
    if rc > 0 {
        assert!(table[proxy::AUTHORITY_START] <= table[proxy::AUTHORITY_END]);
        assert!(table[proxy::AUTHORITY_END] as i32 <= rc);
        if table[proxy::COMMAND] == 1 {
            assert!(table[proxy::FAMILY] == 4 || table[proxy::FAMILY] == 6);
        }
    } else if rc < 0 {
        assert_eq!(table, [0; proxy::SIZE]);
    }
    let cut = usize::from(mode) * input.len() / 256;
    let prefix = parse_proxy_header(&input[..cut], 0, &mut [0u32; proxy::SIZE]);
    if rc > 0 && cut < rc as usize {
        assert_eq!(prefix, NEED_MORE);
    }
    if prefix < 0 {
        assert_eq!(prefix, rc, "a rejected prefix stays rejected");
    }
});
