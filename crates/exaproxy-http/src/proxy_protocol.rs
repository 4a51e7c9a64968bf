//! HAProxy PROXY protocol v1 and v2 (`doc/proxy-protocol.txt`). STUB: being written.
/// Parses a PROXY header at `start`. Returns bytes consumed, `NEED_MORE`, or `-code`.
pub fn parse_proxy_header(_buf: &[u8], _start: usize, _table: &mut [u32]) -> i32 {
    0
}
