//! Byte classes of HTTP/1.x heads (RFC 9110 §5.5, §5.6.2; RFC 9112 §3.2) and the
//! scanners that run over them. A module of its own because both the head scanner
//! (`head.rs`) and the framing-field parsers (`framing.rs`) need them, and neither
//! should depend on the other.

/// Builds a 256-entry byte class table from a predicate on `c: u8`, at compile time.
macro_rules! class_table {
    (|$c:ident| $pred:expr) => {{
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let $c = b as u8;
            t[b] = $pred;
            b += 1;
        }
        t
    }};
}

/// `tchar` (RFC 9110 §5.6.2): the bytes of methods, field names and codings.
pub static TCHAR: [bool; 256] = class_table!(|c| c.is_ascii_alphanumeric()
    || matches!(
        c,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    ));

/// Bytes allowed inside a field value: HTAB, SP, VCHAR and obs-text (0x80–0xFF).
pub static FIELD_VALUE: [bool; 256] =
    class_table!(|c| c == b'\t' || c == b' ' || (c >= 0x21 && c != 0x7F));

/// Bytes allowed in a request-target: visible ASCII (0x21–0x7E). Like llhttp's
/// strict mode this is wider than RFC 3986 (`{`, `|`, `"`… appear in real
/// traffic) but excludes every control, space, DEL and non-ASCII byte.
pub static TARGET: [bool; 256] = class_table!(|c| c >= 0x21 && c <= 0x7E);

/// The offset of the first byte at or after `i` that is not in `class`, or
/// `buf.len()`. An iterator, so the loop has no bounds checks.
#[inline(always)]
pub fn scan(buf: &[u8], i: usize, class: &[bool; 256]) -> usize {
    match buf[i..].iter().position(|&c| !class[c as usize]) {
        Some(n) => i + n,
        None => buf.len(),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `x` is below `n` (exact for n <= 128; bytes >= 0x80 never count).
#[inline(always)]
const fn has_less(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * n as u64) & !x & HIGHS != 0
}

/// Whether some byte of `x` equals `b`.
#[inline(always)]
const fn has_byte(x: u64, b: u8) -> bool {
    let y = x ^ (ONES * b as u64);
    y.wrapping_sub(ONES) & !y & HIGHS != 0
}

/// [`scan`] for long runs: eight bytes at a time while the word surely holds only
/// bytes of `class`, one at a time in a word that may not. `suspect(word)` must
/// be true whenever the word holds a byte outside `class` (it may also be true
/// for some bytes inside it, such as HTAB in a field value).
#[inline(always)]
fn scan_words(
    buf: &[u8],
    mut i: usize,
    class: &[bool; 256],
    suspect: impl Fn(u64) -> bool,
) -> usize {
    while let Some(chunk) = buf.get(i..i + 8) {
        let word = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        if suspect(word) {
            if let Some(k) = chunk.iter().position(|&c| !class[c as usize]) {
                return i + k;
            }
        }
        i += 8;
    }
    scan(buf, i, class)
}

/// The end of a run of field-value bytes (HTAB, SP, VCHAR, obs-text) from `i`.
#[inline]
pub fn scan_field_value(buf: &[u8], i: usize) -> usize {
    scan_words(buf, i, &FIELD_VALUE, |w| {
        has_less(w, 0x20) || has_byte(w, 0x7F)
    })
}

/// The end of a run of request-target bytes (0x21–0x7E) from `i`.
#[inline]
pub fn scan_target(buf: &[u8], i: usize) -> usize {
    scan_words(buf, i, &TARGET, |w| {
        has_less(w, 0x21) || has_byte(w, 0x7F) || w & HIGHS != 0
    })
}

/// Whether `c` is a `tchar`.
#[inline]
pub fn is_tchar(c: u8) -> bool {
    TCHAR[c as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_scans_match_the_byte_scan_for_every_byte_at_every_position() {
        for b in 0..=255u8 {
            for len in [1, 7, 8, 9, 16, 23] {
                for p in 0..len {
                    let mut buf = vec![b'a'; len];
                    buf[p] = b;
                    for start in [0, 1.min(len)] {
                        assert_eq!(
                            scan_field_value(&buf, start),
                            scan(&buf, start, &FIELD_VALUE),
                            "{b:#x} at {p}"
                        );
                        assert_eq!(
                            scan_target(&buf, start),
                            scan(&buf, start, &TARGET),
                            "{b:#x} at {p}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn byte_classes() {
        let tchars: Vec<u8> = (0..=255u8).filter(|&c| is_tchar(c)).collect();
        assert_eq!(tchars.len(), 26 * 2 + 10 + 15);
        assert!(
            FIELD_VALUE[b'\t' as usize]
                && FIELD_VALUE[0x80]
                && FIELD_VALUE[0xFF]
                && FIELD_VALUE[b' ' as usize]
        );
        assert!(
            !FIELD_VALUE[0]
                && !FIELD_VALUE[b'\r' as usize]
                && !FIELD_VALUE[b'\n' as usize]
                && !FIELD_VALUE[0x7F]
        );
        assert!(TARGET[b'!' as usize] && TARGET[b'~' as usize]);
        assert!(
            !TARGET[b' ' as usize] && !TARGET[0x7F] && !TARGET[0x80] && !TARGET[b'\t' as usize]
        );
    }
}
