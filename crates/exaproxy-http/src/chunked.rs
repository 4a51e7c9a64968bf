//! Chunked body boundary scanner (RFC 9112 §7.1).
//!
//! The proxy forwards chunked bodies exactly as they arrived; it only needs to
//! know where the message ends, so that the connection can carry the next one.
//! [`scan_chunked`] walks the framing (size lines, the CRLF after each chunk's
//! data, the trailer section) and skips over chunk data without looking at it.
//!
//! All state lives in the caller's `state` array (`abi::chunk`), zeroed at the
//! start of each body, so a body can be fed in pieces split anywhere.
//!
//! Strictness, because a lenient framing parser is how request smuggling starts:
//! - chunk-size is `1*HEXDIG`: no sign, no `0x`, no leading or trailing
//!   whitespace, at most 16 digits, at most 2^53 - 1 (the largest length the
//!   JS side can count exactly);
//! - chunk extensions follow `*( BWS ";" BWS name [ BWS "=" BWS value ] )`, with
//!   a token name and a token or quoted-string value; a size line is at most
//!   [`MAX_SIZE_LINE`] bytes;
//! - every framing line ends in CRLF: a CR not followed by LF is `BARE_CR`, a LF
//!   not preceded by CR is `BARE_LF`; chunk data must be followed by exactly CRLF;
//! - the trailer section follows the header field rules (token name, colon with
//!   no whitespace before it, no obs-fold, no control bytes in values) and is at
//!   most [`MAX_TRAILERS`] bytes; any fault there is `TRAILERS`.

use crate::abi::{chunk, error};

/// Longest size line accepted (size, extensions and CRLF).
pub const MAX_SIZE_LINE: u32 = 4096;
/// Longest trailer section accepted (all field lines and the final CRLF).
pub const MAX_TRAILERS: u32 = 16 * 1024;
/// Most hex digits in a chunk-size (leading zeros included).
const MAX_SIZE_DIGITS: u32 = 16;
/// Largest chunk size: lengths must stay exact in a JS number.
const MAX_CHUNK_SIZE: u64 = (1 << 53) - 1;

/// Extra state slot: hex digits seen in the current chunk-size.
const DIGITS: usize = 4;

// Phases (`state[chunk::PHASE]`). A zeroed state is the start of a size line.
/// Reading the hex digits of a chunk-size.
const SIZE: u32 = 0;
/// Whitespace (BWS) after the size or an extension: only `;` may end it.
const EXT_WS: u32 = 1;
/// After `;`: BWS, then the first byte of an extension name.
const EXT_NAME_START: u32 = 2;
/// Inside an extension name.
const EXT_NAME: u32 = 3;
/// After an extension name and whitespace: `=`, `;` or more whitespace.
const EXT_AFTER_NAME: u32 = 4;
/// After `=`: BWS, then a token or a quoted-string.
const EXT_VALUE_START: u32 = 5;
/// Inside a token value.
const EXT_VALUE: u32 = 6;
/// Inside a quoted-string value.
const EXT_QUOTED: u32 = 7;
/// After a backslash in a quoted-string.
const EXT_QUOTED_ESCAPE: u32 = 8;
/// Right after a quoted-string: whitespace, `;` or CR.
const EXT_QUOTED_END: u32 = 9;
/// The CR of the size line was seen; LF must follow.
const SIZE_LF: u32 = 10;
/// Inside chunk data (`REMAINING` bytes left).
const DATA: u32 = 11;
/// Chunk data ended; CR must follow.
const DATA_CR: u32 = 12;
/// CR after chunk data seen; LF must follow.
const DATA_LF: u32 = 13;
/// At the start of a trailer line (or of the final CRLF).
const TRAILER_START: u32 = 14;
/// Inside a trailer field name.
const TRAILER_NAME: u32 = 15;
/// Inside a trailer field value.
const TRAILER_VALUE: u32 = 16;
/// CR of a trailer field line seen; LF must follow.
const TRAILER_LF: u32 = 17;
/// CR of the empty line that ends the trailer section seen; LF must follow.
const END_LF: u32 = 18;

/// `tchar` (RFC 9110 §5.6.2).
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// `qdtext` (RFC 9110 §5.6.4): HTAB, SP, VCHAR except `"` and `\`, obs-text.
const fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

/// Bytes allowed in a field value: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.5).
const fn is_field_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

const fn hex_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u64),
        b'a'..=b'f' => Some((b - b'a' + 10) as u64),
        b'A'..=b'F' => Some((b - b'A' + 10) as u64),
        _ => None,
    }
}

/// The error for a byte that cannot continue a size line.
fn size_line_error(b: u8, default: u32) -> u32 {
    match b {
        b'\n' => error::BARE_LF,
        _ => default,
    }
}

/// Scans `buf[start..end]` as the continuation of a chunked body whose state is
/// in `state` (see `abi::chunk`; zero it before the first call of each body).
///
/// Returns how many of those bytes belong to the message: all of them while the
/// body goes on, or, when the body ended inside the range, the count up to and
/// including the CRLF that ends the trailer section (then
/// `state[chunk::PHASE] == chunk::PHASE_DONE`, and later calls return 0).
/// Returns `-code` on a framing error; the state is then meaningless.
///
/// Never panics: `start`/`end` past the buffer are clamped to it, a range longer
/// than `i32::MAX` bytes is scanned only that far (call again for the rest), and a
/// `state` shorter than `chunk::SIZE` slots gives `-OUTPUT_TOO_SMALL`.
pub fn scan_chunked(buf: &[u8], start: usize, end: usize, state: &mut [u32]) -> i32 {
    if state.len() < chunk::SIZE {
        return -(error::OUTPUT_TOO_SMALL as i32);
    }
    let end = end
        .min(buf.len())
        .min(start.saturating_add(i32::MAX as usize));
    let start = start.min(end);
    match scan(&buf[start..end], state) {
        Ok(n) => n as i32,
        Err(code) => -(code as i32),
    }
}

/// The scanner proper over `bytes`; returns bytes that belong to the message.
fn scan(bytes: &[u8], state: &mut [u32]) -> Result<usize, u32> {
    let mut phase = state[chunk::PHASE];
    if phase == chunk::PHASE_DONE {
        return Ok(0);
    }
    let mut remaining =
        u64::from(state[chunk::REMAINING_LO]) | (u64::from(state[chunk::REMAINING_HI]) << 32);
    let mut count = state[chunk::COUNT];
    let mut digits = state[DIGITS];
    let mut i = 0;
    let len = bytes.len();

    while i < len {
        if phase == DATA {
            // The only phase that covers many bytes: skip them without a look.
            let take = remaining.min((len - i) as u64);
            i += take as usize;
            remaining -= take;
            if remaining == 0 {
                phase = DATA_CR;
            }
            continue;
        }
        let b = bytes[i];
        i += 1;
        if phase < DATA {
            // A size line (digits, extensions, CRLF): bounded as a whole.
            count = count.saturating_add(1);
            if count > MAX_SIZE_LINE {
                return Err(error::CHUNK_EXTENSION);
            }
        } else if phase >= TRAILER_START {
            count = count.saturating_add(1);
            if count > MAX_TRAILERS {
                return Err(error::TRAILERS);
            }
        }
        phase = match phase {
            SIZE => {
                if let Some(v) = hex_value(b) {
                    digits = digits.saturating_add(1);
                    if digits > MAX_SIZE_DIGITS {
                        return Err(error::CHUNK_SIZE_OVERFLOW);
                    }
                    remaining = (remaining << 4) | v;
                    if remaining > MAX_CHUNK_SIZE {
                        return Err(error::CHUNK_SIZE_OVERFLOW);
                    }
                    SIZE
                } else if digits == 0 {
                    // Empty size, leading whitespace, sign, `0x`…: all the same fault.
                    return Err(size_line_error(b, error::CHUNK_SIZE));
                } else {
                    match b {
                        b'\r' => SIZE_LF,
                        b';' => EXT_NAME_START,
                        b' ' | b'\t' => EXT_WS,
                        _ => return Err(size_line_error(b, error::CHUNK_SIZE)),
                    }
                }
            }
            // BWS is allowed only before a `;` (RFC 9112 §7.1.1), never before CRLF.
            EXT_WS => match b {
                b' ' | b'\t' => EXT_WS,
                b';' => EXT_NAME_START,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_NAME_START => match b {
                b' ' | b'\t' => EXT_NAME_START,
                _ if is_tchar(b) => EXT_NAME,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_NAME => match b {
                _ if is_tchar(b) => EXT_NAME,
                b' ' | b'\t' => EXT_AFTER_NAME,
                b'=' => EXT_VALUE_START,
                b';' => EXT_NAME_START,
                b'\r' => SIZE_LF,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_AFTER_NAME => match b {
                b' ' | b'\t' => EXT_AFTER_NAME,
                b'=' => EXT_VALUE_START,
                b';' => EXT_NAME_START,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_VALUE_START => match b {
                b' ' | b'\t' => EXT_VALUE_START,
                b'"' => EXT_QUOTED,
                _ if is_tchar(b) => EXT_VALUE,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_VALUE => match b {
                _ if is_tchar(b) => EXT_VALUE,
                b' ' | b'\t' => EXT_WS,
                b';' => EXT_NAME_START,
                b'\r' => SIZE_LF,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_QUOTED => match b {
                b'"' => EXT_QUOTED_END,
                b'\\' => EXT_QUOTED_ESCAPE,
                _ if is_qdtext(b) => EXT_QUOTED,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            EXT_QUOTED_ESCAPE => {
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                if is_field_byte(b) {
                    EXT_QUOTED
                } else {
                    return Err(size_line_error(b, error::CHUNK_EXTENSION));
                }
            }
            EXT_QUOTED_END => match b {
                b' ' | b'\t' => EXT_WS,
                b';' => EXT_NAME_START,
                b'\r' => SIZE_LF,
                _ => return Err(size_line_error(b, error::CHUNK_EXTENSION)),
            },
            SIZE_LF => {
                if b != b'\n' {
                    return Err(error::BARE_CR);
                }
                count = 0;
                digits = 0;
                if remaining == 0 {
                    // The last chunk: the trailer section follows.
                    TRAILER_START
                } else {
                    DATA
                }
            }
            DATA_CR => match b {
                b'\r' => DATA_LF,
                _ => return Err(error::CHUNK_DATA_END),
            },
            DATA_LF => match b {
                b'\n' => SIZE,
                _ => return Err(error::CHUNK_DATA_END),
            },
            TRAILER_START => match b {
                b'\r' => END_LF,
                // A field line starting with whitespace is obs-fold (or worse).
                _ if is_tchar(b) => TRAILER_NAME,
                _ => return Err(error::TRAILERS),
            },
            TRAILER_NAME => match b {
                _ if is_tchar(b) => TRAILER_NAME,
                b':' => TRAILER_VALUE,
                _ => return Err(error::TRAILERS),
            },
            TRAILER_VALUE => match b {
                b'\r' => TRAILER_LF,
                _ if is_field_byte(b) => TRAILER_VALUE,
                _ => return Err(error::TRAILERS),
            },
            TRAILER_LF => match b {
                b'\n' => TRAILER_START,
                _ => return Err(error::TRAILERS),
            },
            END_LF => {
                if b != b'\n' {
                    return Err(error::TRAILERS);
                }
                state[chunk::PHASE] = chunk::PHASE_DONE;
                state[chunk::REMAINING_LO] = 0;
                state[chunk::REMAINING_HI] = 0;
                state[chunk::COUNT] = count;
                state[DIGITS] = 0;
                return Ok(i);
            }
            // A state this scanner never writes: the caller's array was changed.
            _ => return Err(error::CHUNK_SIZE),
        };
    }

    state[chunk::PHASE] = phase;
    state[chunk::REMAINING_LO] = remaining as u32;
    state[chunk::REMAINING_HI] = (remaining >> 32) as u32;
    state[chunk::COUNT] = count;
    state[DIGITS] = digits;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(input: &[u8]) -> (i32, [u32; chunk::SIZE]) {
        let mut state = [0u32; chunk::SIZE];
        let n = scan_chunked(input, 0, input.len(), &mut state);
        (n, state)
    }

    #[test]
    fn whole_body_ends_after_final_crlf() {
        let body = b"4\r\nWiki\r\n5;a=b\r\npedia\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let (n, state) = scan_all(body);
        assert_eq!(n as usize, body.len() - b"GET / HTTP/1.1\r\n".len());
        assert_eq!(state[chunk::PHASE], chunk::PHASE_DONE);
    }

    #[test]
    fn partial_body_consumes_everything() {
        let (n, state) = scan_all(b"10\r\n0123456789");
        assert_eq!(n, 14);
        assert_eq!(state[chunk::PHASE], DATA);
        assert_eq!(state[chunk::REMAINING_LO], 6);
    }

    #[test]
    fn done_state_consumes_nothing() {
        let mut state = [0u32; chunk::SIZE];
        state[chunk::PHASE] = chunk::PHASE_DONE;
        assert_eq!(scan_chunked(b"0\r\n\r\n", 0, 5, &mut state), 0);
    }

    #[test]
    fn size_rules() {
        let err = |s: &[u8]| scan_all(s).0;
        assert_eq!(err(b"\r\n"), -(error::CHUNK_SIZE as i32));
        assert_eq!(err(b" 1\r\n"), -(error::CHUNK_SIZE as i32));
        assert_eq!(err(b"0x1\r\n"), -(error::CHUNK_SIZE as i32));
        assert_eq!(err(b"+1\r\n"), -(error::CHUNK_SIZE as i32));
        assert_eq!(err(b"1 \r\n"), -(error::CHUNK_EXTENSION as i32));
        assert_eq!(err(b"1\n"), -(error::BARE_LF as i32));
        assert_eq!(err(b"1\rx"), -(error::BARE_CR as i32));
        assert_eq!(
            err(b"00000000000000001\r\n"),
            -(error::CHUNK_SIZE_OVERFLOW as i32)
        );
        // 2^53 - 1 is the largest size; 16 digits with leading zeros are fine.
        assert_eq!(err(b"1fffffffffffff\r\n"), 16);
        assert_eq!(err(b"001fffffffffffff\r\n"), 18);
        assert_eq!(
            err(b"20000000000000\r\n"),
            -(error::CHUNK_SIZE_OVERFLOW as i32)
        );
    }

    #[test]
    fn short_state_is_an_error_not_a_panic() {
        let mut state = [0u32; 3];
        assert_eq!(
            scan_chunked(b"0\r\n\r\n", 0, 5, &mut state),
            -(error::OUTPUT_TOO_SMALL as i32)
        );
    }

    #[test]
    fn out_of_range_offsets_are_clamped() {
        let mut state = [0u32; chunk::SIZE];
        assert_eq!(scan_chunked(b"xx0\r\n\r\n", 2, 99, &mut state), 5);
        assert_eq!(state[chunk::PHASE], chunk::PHASE_DONE);
        let mut state = [0u32; chunk::SIZE];
        assert_eq!(scan_chunked(b"0\r\n", 9, 2, &mut state), 0);
    }
}
