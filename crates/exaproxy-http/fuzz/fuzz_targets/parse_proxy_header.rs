//! libFuzzer target: `parse_proxy_header` on arbitrary bytes (the first byte, the
//! mode, is not part of the input; it picks a cut when the input is long).
//!
//! Properties, beyond "no panic":
//! - a complete header's spans lie inside it and its family matches its command;
//! - parse(whole) == parse(any prefix that holds the header), same table; a shorter
//!   prefix asks for more, or gives the same rejection when the whole is rejected
//!   (a header split across reads is read as if it came at once);
//! - a rejected parse leaves the table zeroed.
#![no_main]

use exaproxy_http::abi::{proxy, NEED_MORE};
use exaproxy_http::parse_proxy_header;
use libfuzzer_sys::fuzz_target;

fn parse(input: &[u8]) -> (i32, [u32; proxy::SIZE]) {
    let mut table = [0u32; proxy::SIZE];
    (parse_proxy_header(input, 0, &mut table), table)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let (rc, table) = parse(input);
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
    let cuts: Vec<usize> = if input.len() <= 1024 {
        (0..input.len()).collect()
    } else {
        vec![usize::from(mode) * input.len() / 256, input.len() - 1]
    };
    for cut in cuts {
        let (prefix, t) = parse(&input[..cut]);
        if rc > 0 && cut >= rc as usize {
            assert_eq!((prefix, t), (rc, table), "cut at {cut}");
        } else if prefix != NEED_MORE {
            assert!(rc < 0, "cut at {cut}: {prefix}, the whole gives {rc}");
            assert_eq!(prefix, rc, "a rejected prefix stays rejected");
        }
    }
});
