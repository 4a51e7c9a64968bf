//! PROXY protocol v2: the binary header, its addresses and its TLVs
//! (proxy-protocol.txt §2.2).

use super::crc32c::crc32c_update;
use super::Parsed;
use crate::abi::{error, proxy};

/// The v2 signature (12 bytes).
const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];
/// The fixed part of a v2 header: signature, version/command, family, length.
const V2_FIXED: usize = 16;

const TLV_AUTHORITY: u8 = 0x02;
const TLV_CRC32C: u8 = 0x03;
const TLV_UNIQUE_ID: u8 = 0x05;
const TLV_SSL: u8 = 0x20;
const MAX_UNIQUE_ID: usize = 128;
/// The SSL TLV's fixed part before its sub-TLVs: `client` (1) and `verify` (4).
const SSL_FIXED: usize = 5;

/// Parses a v2 header; `Ok(0)` means "incomplete". `base` is the header's
/// absolute offset (spans in the table are absolute).
pub(super) fn parse(input: &[u8], base: usize, table: &mut [u32]) -> Parsed {
    let bad = error::PROXY_PROTOCOL;
    let shown = input.len().min(V2_SIGNATURE.len());
    if input[..shown] != V2_SIGNATURE[..shown] {
        return Err(bad);
    }
    let is_proxy = match input.get(12) {
        None => return Ok(0),
        Some(0x20) => false,
        Some(0x21) => true,
        Some(_) => return Err(bad), // version other than 2 or command other than LOCAL/PROXY
    };
    let Some(&family) = input.get(13) else {
        return Ok(0);
    };
    let address_len = match family {
        0x00 => 0,
        0x11 | 0x12 => 12,
        0x21 | 0x22 => 36,
        0x31 | 0x32 => 216,
        _ => return Err(bad),
    };
    if input.len() < V2_FIXED {
        return Ok(0);
    }
    let len = usize::from(u16::from_be_bytes([input[14], input[15]]));
    if is_proxy && len < address_len {
        return Err(bad);
    }
    let total = V2_FIXED + len;
    if input.len() < total {
        return Ok(0);
    }
    let header = &input[..total];
    table[proxy::VERSION] = 2;
    if !is_proxy {
        // LOCAL (health checks): skip `len` bytes, use the socket's endpoints.
        return Ok(total);
    }
    let addresses = &header[V2_FIXED..V2_FIXED + address_len];
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let port = |b: &[u8]| u32::from(u16::from_be_bytes([b[0], b[1]]));
    match family {
        0x11 => {
            table[proxy::COMMAND] = 1;
            table[proxy::FAMILY] = 4;
            table[proxy::SRC_ADDR] = be(&addresses[0..4]);
            table[proxy::DST_ADDR] = be(&addresses[4..8]);
            table[proxy::SRC_PORT] = port(&addresses[8..10]);
            table[proxy::DST_PORT] = port(&addresses[10..12]);
        }
        0x21 => {
            table[proxy::COMMAND] = 1;
            table[proxy::FAMILY] = 6;
            for i in 0..4 {
                table[proxy::SRC_ADDR + i] = be(&addresses[4 * i..]);
                table[proxy::DST_ADDR + i] = be(&addresses[16 + 4 * i..]);
            }
            table[proxy::SRC_PORT] = port(&addresses[32..34]);
            table[proxy::DST_PORT] = port(&addresses[34..36]);
        }
        // UNSPEC, UDP, UNIX: accepted, but the socket's endpoints are used.
        _ => {}
    }
    walk_tlvs(header, V2_FIXED + address_len, base, table)?;
    Ok(total)
}

/// Walks the TLVs in `header[from..]`: every length inside its parent, the
/// AUTHORITY span recorded, a CRC32C verified, SSL sub-TLVs walked.
fn walk_tlvs(header: &[u8], from: usize, base: usize, table: &mut [u32]) -> Result<(), u32> {
    let bad = error::PROXY_PROTOCOL;
    let mut at = from;
    while at < header.len() {
        let (kind, value_start, value_end) = tlv_at(header, at, header.len())?;
        let value = &header[value_start..value_end];
        match kind {
            TLV_AUTHORITY => {
                if table[proxy::AUTHORITY_END] != 0 {
                    return Err(bad); // two authorities: which one would be true?
                }
                table[proxy::AUTHORITY_START] = (base + value_start) as u32;
                table[proxy::AUTHORITY_END] = (base + value_end) as u32;
            }
            TLV_CRC32C => {
                if value.len() != 4 {
                    return Err(bad);
                }
                let expected = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                // The checksum covers the whole header with its own field zeroed.
                let crc = crc32c_update(!0, &header[..value_start]);
                let crc = crc32c_update(crc, &[0; 4]);
                let crc = !crc32c_update(crc, &header[value_end..]);
                if crc != expected {
                    return Err(bad);
                }
            }
            TLV_UNIQUE_ID if value.len() > MAX_UNIQUE_ID => return Err(bad),
            TLV_SSL => {
                if value.len() < SSL_FIXED {
                    return Err(bad);
                }
                let mut sub = value_start + SSL_FIXED;
                while sub < value_end {
                    sub = tlv_at(header, sub, value_end)?.2;
                }
            }
            _ => {} // ALPN, NOOP, NETNS, custom, experimental, future: skipped
        }
        at = value_end;
    }
    Ok(())
}

/// The TLV at `header[at..limit]`: `(type, value_start, value_end)`, or an error
/// when its header or value would run past `limit`.
fn tlv_at(header: &[u8], at: usize, limit: usize) -> Result<(u8, usize, usize), u32> {
    if limit - at < 3 {
        return Err(error::PROXY_PROTOCOL);
    }
    let len = usize::from(u16::from_be_bytes([header[at + 1], header[at + 2]]));
    let value_end = at + 3 + len;
    if value_end > limit {
        return Err(error::PROXY_PROTOCOL);
    }
    Ok((header[at], at + 3, value_end))
}
