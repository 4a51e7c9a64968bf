//! The values that decide where a message ends and what the connection does next:
//! `Content-Length`, `Transfer-Encoding`, `Connection`, `Expect` (RFC 9112 §6,
//! RFC 9110 §7.6.1, §10.1.1). Strict on purpose: every ambiguity a smuggling
//! attack could use is an error with its own code.

use crate::abi::{error, flag};
use crate::byte_class::is_tchar;

/// The largest Content-Length accepted: 2^53 - 1, so JS can hold it in a number.
pub const MAX_CONTENT_LENGTH: u64 = (1 << 53) - 1;

/// Parses one Content-Length field value `buf[start..end]` (already trimmed).
/// A list (`42, 42` or `42 42`) is `CONTENT_LENGTH_MULTIPLE` even when the
/// members agree; anything else that is not one decimal number in range is
/// `CONTENT_LENGTH_INVALID`. Errors carry the offending offset.
pub fn content_length(buf: &[u8], start: usize, end: usize) -> Result<u64, (u32, usize)> {
    let mut value = 0u64;
    let mut i = start;
    while i < end && buf[i].is_ascii_digit() {
        value = value * 10 + u64::from(buf[i] - b'0');
        if value > MAX_CONTENT_LENGTH {
            return Err((error::CONTENT_LENGTH_INVALID, i));
        }
        i += 1;
    }
    if i == end && i > start {
        return Ok(value);
    }
    if i > start && looks_like_a_list(&buf[i..end]) {
        return Err((error::CONTENT_LENGTH_MULTIPLE, i));
    }
    Err((
        error::CONTENT_LENGTH_INVALID,
        i.min(end.saturating_sub(1)).max(start),
    ))
}

/// `rest` (after a first number) is separators and numbers, with at least one more number.
fn looks_like_a_list(rest: &[u8]) -> bool {
    rest.iter()
        .all(|&c| c.is_ascii_digit() || matches!(c, b',' | b' ' | b'\t'))
        && rest.iter().any(u8::is_ascii_digit)
}

/// `Transfer-Encoding` codings seen so far, across all its field lines.
#[derive(Default, Clone, Copy, Debug)]
pub struct TransferCodings {
    /// A Transfer-Encoding field was present.
    pub present: bool,
    /// The last coding seen is `chunked`.
    pub chunked_last: bool,
    /// `chunked` was seen.
    pub chunked_seen: bool,
    /// `chunked` carried parameters (`chunked;custom_param`): one past the `chunked` token,
    /// where the forwarded value is cut (see [`TransferCodings::add`]).
    pub chunked_cut: Option<usize>,
}

impl TransferCodings {
    /// Adds the codings of one field value `buf[start..end]` (trimmed): a
    /// comma-separated list of `token *( OWS ";" OWS parameter )`, empty elements
    /// allowed (RFC 9110 §5.6.1). `chunked` twice is an error at once; a coding that
    /// is not a token is `TRANSFER_ENCODING_NOT_CHUNKED` (no framing can be derived).
    pub fn add(&mut self, buf: &[u8], start: usize, end: usize) -> Result<(), (u32, usize)> {
        self.present = true;
        let mut i = start;
        let mut any = false;
        while i < end {
            let c = buf[i];
            if c == b',' || c == b' ' || c == b'\t' {
                i += 1;
                continue;
            }
            let token_start = i;
            while i < end && is_tchar(buf[i]) {
                i += 1;
            }
            if i == token_start {
                return Err((error::TRANSFER_ENCODING_NOT_CHUNKED, i));
            }
            any = true;
            let is_chunked = buf[token_start..i].eq_ignore_ascii_case(b"chunked");
            if is_chunked {
                if self.chunked_seen {
                    return Err((error::TRANSFER_ENCODING_CHUNKED_TWICE, token_start));
                }
                self.chunked_seen = true;
            }
            self.chunked_last = is_chunked;
            let token_end = i;
            // Parameters (`; name=value`) do not change the coding, but must be well formed.
            // `chunked` defines none (RFC 9112 §7.1), yet the transfer-coding grammar allows
            // them (http-desync-guardian counts `chunked;custom_param` as compliant): they are
            // accepted, a bare name included, and cut from the value forwarded
            // (`Flag.CHUNKED_PARAMETERS`), so that no next hop comparing the value with
            // `chunked` disagrees with us about the framing. The body is framed by our own
            // scanner either way.
            loop {
                while i < end && (buf[i] == b' ' || buf[i] == b'\t') {
                    i += 1;
                }
                if i >= end || buf[i] == b',' {
                    break;
                }
                if buf[i] != b';' {
                    return Err((error::TRANSFER_ENCODING_NOT_CHUNKED, i));
                }
                i = skip_parameter(buf, i + 1, end, is_chunked)
                    .ok_or((error::TRANSFER_ENCODING_NOT_CHUNKED, i))?;
                if is_chunked {
                    self.chunked_cut = Some(token_end);
                }
            }
        }
        if !any {
            // An empty field: whatever came before, the last coding is not chunked.
            self.chunked_last = false;
        }
        Ok(())
    }
}

/// Skips `OWS name=value` (value a token or a quoted-string) from `i`, or a bare `OWS name`
/// when `bare_name` is allowed; the end of it, or None when it is not well formed.
fn skip_parameter(buf: &[u8], mut i: usize, end: usize, bare_name: bool) -> Option<usize> {
    let tchars = |mut i: usize| {
        let from = i;
        while i < end && is_tchar(buf[i]) {
            i += 1;
        }
        (i > from).then_some(i)
    };
    while i < end && (buf[i] == b' ' || buf[i] == b'\t') {
        i += 1;
    }
    i = tchars(i)?;
    if bare_name && (i >= end || matches!(buf[i], b' ' | b'\t' | b',' | b';')) {
        return Some(i);
    }
    if i >= end || buf[i] != b'=' {
        return None;
    }
    i += 1;
    if i < end && buf[i] == b'"' {
        i += 1;
        while i < end && buf[i] != b'"' {
            if buf[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        (i < end).then_some(i + 1)
    } else {
        tchars(i)
    }
}

/// `CONNECTION_*` flags for the tokens of one Connection / Proxy-Connection value.
pub fn connection_flags(buf: &[u8], start: usize, end: usize) -> u32 {
    let mut flags = 0;
    for token in buf[start..end].split(|&c| c == b',') {
        let token = trim(token);
        if token.eq_ignore_ascii_case(b"close") {
            flags |= flag::CONNECTION_CLOSE;
        } else if token.eq_ignore_ascii_case(b"keep-alive") {
            flags |= flag::CONNECTION_KEEP_ALIVE;
        } else if token.eq_ignore_ascii_case(b"upgrade") {
            flags |= flag::CONNECTION_UPGRADE;
        }
    }
    flags
}

/// `EXPECT_CONTINUE` for `100-continue`, else `EXPECT_OTHER`.
pub fn expect_flags(buf: &[u8], start: usize, end: usize) -> u32 {
    if buf[start..end].eq_ignore_ascii_case(b"100-continue") {
        flag::EXPECT_CONTINUE
    } else {
        flag::EXPECT_OTHER
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cl(s: &str) -> Result<u64, u32> {
        content_length(s.as_bytes(), 0, s.len()).map_err(|(c, p)| {
            assert!(p < s.len().max(1), "{s:?}: position {p}");
            c
        })
    }

    #[test]
    fn content_length_values() {
        assert_eq!(cl("0"), Ok(0));
        assert_eq!(cl("42"), Ok(42));
        assert_eq!(cl("007"), Ok(7));
        assert_eq!(cl("9007199254740991"), Ok(MAX_CONTENT_LENGTH));
        assert_eq!(cl("9007199254740992"), Err(error::CONTENT_LENGTH_INVALID));
        assert_eq!(
            cl("99999999999999999999999"),
            Err(error::CONTENT_LENGTH_INVALID)
        );
        assert_eq!(cl(""), Err(error::CONTENT_LENGTH_INVALID));
        assert_eq!(cl("-1"), Err(error::CONTENT_LENGTH_INVALID));
        assert_eq!(cl("+1"), Err(error::CONTENT_LENGTH_INVALID));
        assert_eq!(cl("1x"), Err(error::CONTENT_LENGTH_INVALID));
        assert_eq!(cl("0x10"), Err(error::CONTENT_LENGTH_INVALID));
        assert_eq!(cl("42, 42"), Err(error::CONTENT_LENGTH_MULTIPLE));
        assert_eq!(cl("42,42"), Err(error::CONTENT_LENGTH_MULTIPLE));
        assert_eq!(cl("42 42"), Err(error::CONTENT_LENGTH_MULTIPLE));
        assert_eq!(cl("42,"), Err(error::CONTENT_LENGTH_INVALID));
    }

    fn te(values: &[&str]) -> Result<(bool, bool), u32> {
        let mut t = TransferCodings::default();
        for v in values {
            t.add(v.as_bytes(), 0, v.len()).map_err(|(c, _)| c)?;
        }
        Ok((t.chunked_last, t.chunked_seen))
    }

    #[test]
    fn transfer_codings() {
        assert_eq!(te(&["chunked"]), Ok((true, true)));
        assert_eq!(te(&["CHUNKED"]), Ok((true, true)));
        assert_eq!(te(&["gzip, chunked"]), Ok((true, true)));
        assert_eq!(te(&["gzip", "chunked"]), Ok((true, true)));
        assert_eq!(te(&["gzip;q=1 , chunked"]), Ok((true, true)));
        assert!(te(&["chunked;"]).is_err());
        assert!(te(&["chunked;\"="]).is_err());
        assert!(te(&["chunked;a=\"open"]).is_err());
        assert!(te(&["chunked;a =b"]).is_err(), "no space before =");
        assert!(
            te(&["gzip;x, chunked"]).is_err(),
            "a bare name only on chunked"
        );
        assert!(te(&["gzip;q"]).is_err());
        assert!(te(&["gzip;q=\"1, 2\", chunked"]).is_ok());
        assert_eq!(te(&["chunked, gzip"]), Ok((false, true)));
        assert_eq!(te(&["chunked", "gzip"]), Ok((false, true)));
        assert_eq!(te(&["gzip"]), Ok((false, false)));
        assert_eq!(te(&["chunkedx"]), Ok((false, false)));
        assert_eq!(te(&[""]), Ok((false, false)));
        assert_eq!(te(&["chunked", ""]), Ok((false, true)));
        assert_eq!(
            te(&["chunked, chunked"]),
            Err(error::TRANSFER_ENCODING_CHUNKED_TWICE)
        );
        assert_eq!(
            te(&["chunked", "chunked"]),
            Err(error::TRANSFER_ENCODING_CHUNKED_TWICE)
        );
        assert_eq!(
            te(&["chunked", "gzip, Chunked"]),
            Err(error::TRANSFER_ENCODING_CHUNKED_TWICE)
        );
        assert_eq!(
            te(&["chunked gzip"]),
            Err(error::TRANSFER_ENCODING_NOT_CHUNKED)
        );
        assert_eq!(
            te(&["\"chunked\""]),
            Err(error::TRANSFER_ENCODING_NOT_CHUNKED)
        );
    }

    /// Where the forwarded value is cut, for values whose `chunked` has parameters.
    fn cut(values: &[&str]) -> Option<usize> {
        let mut t = TransferCodings::default();
        for v in values {
            t.add(v.as_bytes(), 0, v.len()).unwrap();
        }
        t.chunked_cut
    }

    #[test]
    fn chunked_parameters_are_accepted_and_cut() {
        assert_eq!(te(&["chunked;custom_param"]), Ok((true, true)));
        assert_eq!(te(&["chunked;foo=bar"]), Ok((true, true)));
        assert_eq!(te(&["gzip, Chunked ; a=\"x, y\" ;b"]), Ok((true, true)));
        assert_eq!(te(&["chunked;x", "gzip"]), Ok((false, true)));
        assert_eq!(cut(&["chunked;custom_param"]), Some(7));
        assert_eq!(cut(&["gzip, chunked ;q=1,"]), Some(13));
        assert_eq!(cut(&["gzip;q=1", "chunked"]), None);
        assert_eq!(cut(&["chunked"]), None);
    }

    #[test]
    fn connection_tokens() {
        let f = |s: &str| connection_flags(s.as_bytes(), 0, s.len());
        assert_eq!(f("close"), flag::CONNECTION_CLOSE);
        assert_eq!(f("Keep-Alive"), flag::CONNECTION_KEEP_ALIVE);
        assert_eq!(
            f("keep-alive, Upgrade"),
            flag::CONNECTION_KEEP_ALIVE | flag::CONNECTION_UPGRADE
        );
        assert_eq!(
            f(" ,upgrade ,, close"),
            flag::CONNECTION_UPGRADE | flag::CONNECTION_CLOSE
        );
        assert_eq!(f("closed, x-upgrade"), 0);
        let e = |s: &str| expect_flags(s.as_bytes(), 0, s.len());
        assert_eq!(e("100-Continue"), flag::EXPECT_CONTINUE);
        assert_eq!(e("100-continue, foo"), flag::EXPECT_OTHER);
    }
}
