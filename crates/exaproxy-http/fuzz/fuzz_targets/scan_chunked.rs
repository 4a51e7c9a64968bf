//! libFuzzer target: `scan_chunked` on arbitrary bytes, whole and split. The
//! first two bytes pick two cut points; the body must give the same outcome
//! however it is cut (bytes of the message, or the same error).
#![no_main]

use exaproxy_http::abi::chunk;
use exaproxy_http::scan_chunked;
use libfuzzer_sys::fuzz_target;

/// Feeds `input` cut at `cuts`; returns (bytes in the message, done) or the error.
fn feed(input: &[u8], cuts: &[usize]) -> Result<(usize, bool), i32> {
    let mut state = [0u32; chunk::SIZE];
    let mut begin = 0;
    let mut consumed = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        let n = scan_chunked(input, begin, end, &mut state);
        if n < 0 {
            return Err(n);
        }
        assert!(n as usize <= end - begin);
        consumed += n as usize;
        if state[chunk::PHASE] == chunk::PHASE_DONE {
            return Ok((consumed, true));
        }
        assert_eq!(
            n as usize,
            end - begin,
            "an unfinished body takes every byte"
        );
        begin = end;
    }
    Ok((consumed, false))
}

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let whole = feed(input, &[]);
    let mut cuts = [
        usize::from(a) * input.len() / 256,
        usize::from(b) * input.len() / 256,
    ];
    cuts.sort_unstable();
    assert_eq!(feed(input, &cuts), whole);
    if input.len() <= 512 {
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(feed(input, &every), whole);
    }
});
