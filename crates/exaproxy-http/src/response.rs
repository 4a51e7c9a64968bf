//! Response head parsing and message length (RFC 9112 §4, §6.3). STUB: being written.
/// Parses the response head at `start`. `request_method` is the `METHOD_*` id of the
/// request it answers (HEAD and CONNECT change the body length rules).
pub fn parse_response(_buf: &[u8], _start: usize, _table: &mut [u32], _request_method: u32) -> i32 {
    0
}
