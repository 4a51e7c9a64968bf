//! Server name from a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3). STUB: being written.
/// Peeks at the first TLS record at `start`. Returns 1 when the table is filled,
/// `NEED_MORE` when the record is incomplete, or `-code`.
pub fn peek_sni(_buf: &[u8], _start: usize, _table: &mut [u32]) -> i32 {
    0
}
