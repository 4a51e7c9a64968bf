//! Request head parsing (RFC 9112 §2–§3, §5, §6). STUB: being written.
/// Parses the request head starting at `start`; see [`crate::abi`] for the table.
/// Returns bytes consumed (> 0), `abi::NEED_MORE`, or `-code`.
pub fn parse_request(_buf: &[u8], _start: usize, _table: &mut [u32]) -> i32 {
    0
}
