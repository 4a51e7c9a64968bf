//! HAProxy PROXY protocol v1 and v2 (`doc/proxy-protocol.txt`, rev. 2020/03/05).
//!
//! A listener configured for the PROXY protocol calls [`parse_proxy_header`] on
//! the first bytes of each connection until it returns a complete header, and
//! takes the real client address from the result table (`abi::proxy`).
//!
//! The spec says to abort on anything malformed and never to process a partial
//! header, so the parser is strict, and it rejects a prefix as soon as no valid
//! header can start with it (a plain HTTP request on a PROXY listener is refused
//! at its first byte, without waiting for 107 bytes).
//!
//! Result table: `COMMAND` is 1 only when `FAMILY` is 4 or 6 and the addresses
//! are filled in; LOCAL, `UNKNOWN`, and the families we do not route (UNSPEC, UDP,
//! UNIX) give `COMMAND` 0 and `FAMILY` 0: use the socket's own endpoints.

//!
//! | module | job |
//! |---|---|
//! | `v1` | the text line `PROXY TCP4 …\r\n` |
//! | `v2` | the binary header and its TLVs |
//! | `crc32c` | the checksum a v2 CRC32C TLV carries |

use crate::abi::{error, proxy, NEED_MORE};

mod crc32c;
mod v1;
mod v2;

pub use crc32c::crc32c;

/// What a version parser returns: `Ok(0)` while the header is incomplete,
/// `Ok(length)` when complete, or an error code.
type Parsed = Result<usize, u32>;

/// Parses a PROXY header at `buf[start..]` into `table` (`abi::proxy`).
///
/// Returns the header's length in bytes when complete (the connection's data
/// starts after it), `NEED_MORE` while it is incomplete but still valid so far,
/// or `-PROXY_PROTOCOL`. Never panics: a `start` past the buffer means no bytes
/// yet, and a table shorter than `proxy::SIZE` slots gives `-OUTPUT_TOO_SMALL`.
pub fn parse_proxy_header(buf: &[u8], start: usize, table: &mut [u32]) -> i32 {
    if table.len() < proxy::SIZE {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    table[..proxy::SIZE].fill(0);
    let input = buf.get(start..).unwrap_or_default();
    let result = match input.first() {
        None => Ok(0),
        Some(b'P') => v1::parse(input, table),
        Some(0x0D) => v2::parse(input, start, table),
        Some(_) => Err(error::PROXY_PROTOCOL),
    };
    match result {
        Ok(0) => {
            table[..proxy::SIZE].fill(0);
            NEED_MORE
        }
        Ok(n) => n as i32,
        Err(code) => {
            table[..proxy::SIZE].fill(0);
            -(code as i32)
        }
    }
}
