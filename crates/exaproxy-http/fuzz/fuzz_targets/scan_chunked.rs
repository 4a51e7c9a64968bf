//! libFuzzer target: `scan_chunked` on arbitrary bytes. The first two bytes pick two
//! cut points.
//!
//! Properties, beyond "no panic":
//! - the body gives the same outcome however it is cut (in three pieces, or one byte
//!   at a time): the bytes of the message, or the same error;
//! - the outcome agrees with a slow reference written from RFC 9112 §7.1 below: a
//!   recursive descent over the whole buffer that finds each line's first bad byte,
//!   then applies the size limits by position, where the scanner is one state machine
//!   fed byte by byte.
#![no_main]

use exaproxy_http::abi::{chunk, error};
use exaproxy_http::chunked::{MAX_SIZE_LINE, MAX_TRAILERS};
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

/// Why the reference stopped: the input ran out, or the byte at `.0` is bad.
enum Stop {
    More,
    Bad(usize, u32),
}

type Step<T> = Result<T, Stop>;

/// The reference: a chunked body over the whole of `b`.
struct Reference<'a> {
    b: &'a [u8],
}

fn tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}
fn ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}
fn field_byte(c: u8) -> bool {
    c == b'\t' || c == b' ' || (c >= 0x21 && c != 0x7F)
}
fn qdtext(c: u8) -> bool {
    field_byte(c) && c != b'"' && c != b'\\'
}

impl Reference<'_> {
    fn at(&self, i: usize) -> Step<u8> {
        self.b.get(i).copied().ok_or(Stop::More)
    }
    /// A size-line fault at `i`: a lone LF is named as such.
    fn bad(&self, i: usize, code: u32) -> Stop {
        Stop::Bad(
            i,
            if self.b[i] == b'\n' {
                error::BARE_LF
            } else {
                code
            },
        )
    }
    fn skip_ws(&self, mut i: usize) -> Step<usize> {
        while ws(self.at(i)?) {
            i += 1;
        }
        Ok(i)
    }
    /// `CRLF` with the CR at `i`: the index after it.
    fn crlf(&self, i: usize) -> Step<usize> {
        match self.at(i + 1)? {
            b'\n' => Ok(i + 2),
            _ => Err(Stop::Bad(i + 1, error::BARE_CR)),
        }
    }
    /// After a size or an extension value: `;` starts the next extension, CR ends the
    /// line, whitespace must be followed by `;` (BWS before CRLF is not allowed).
    fn after_item(&self, i: usize, code: u32) -> Step<usize> {
        match self.at(i)? {
            b'\r' => self.crlf(i),
            b';' => self.extension(i + 1),
            c if ws(c) => {
                let j = self.skip_ws(i)?;
                match self.at(j)? {
                    b';' => self.extension(j + 1),
                    _ => Err(self.bad(j, error::CHUNK_EXTENSION)),
                }
            }
            _ => Err(self.bad(i, code)),
        }
    }
    /// `BWS token [ BWS "=" BWS ( token / quoted-string ) ]` from `i`, then the rest.
    fn extension(&self, i: usize) -> Step<usize> {
        let ext = error::CHUNK_EXTENSION;
        let mut i = self.skip_ws(i)?;
        if !tchar(self.at(i)?) {
            return Err(self.bad(i, ext));
        }
        while tchar(self.at(i)?) {
            i += 1;
        }
        match self.at(i)? {
            b'\r' => return self.crlf(i),
            b';' => return self.extension(i + 1),
            b'=' => {}
            c if ws(c) => {
                let j = self.skip_ws(i)?;
                match self.at(j)? {
                    b'=' => i = j,
                    b';' => return self.extension(j + 1),
                    _ => return Err(self.bad(j, ext)),
                }
            }
            _ => return Err(self.bad(i, ext)),
        }
        let mut i = self.skip_ws(i + 1)?;
        match self.at(i)? {
            b'"' => {
                i += 1;
                loop {
                    match self.at(i)? {
                        b'"' => return self.after_item(i + 1, ext),
                        b'\\' if field_byte(self.at(i + 1)?) => i += 2,
                        b'\\' => return Err(self.bad(i + 1, ext)),
                        c if qdtext(c) => i += 1,
                        _ => return Err(self.bad(i, ext)),
                    }
                }
            }
            c if tchar(c) => {
                while tchar(self.at(i)?) {
                    i += 1;
                }
                self.after_item(i, ext)
            }
            _ => Err(self.bad(i, ext)),
        }
    }
    /// A size line from `i`: (index after its CRLF, size).
    fn size_line(&self, start: usize) -> Step<(usize, u64)> {
        let mut i = start;
        let mut size: u64 = 0;
        while let Some(d) = (self.at(i)? as char).to_digit(16) {
            size = size * 16 + u64::from(d);
            if i - start >= 16 || size >= 1 << 53 {
                return Err(Stop::Bad(i, error::CHUNK_SIZE_OVERFLOW));
            }
            i += 1;
        }
        if i == start {
            return Err(self.bad(i, error::CHUNK_SIZE));
        }
        Ok((self.after_item(i, error::CHUNK_SIZE)?, size))
    }
    /// The trailer section from `i`: the index after its final CRLF.
    fn trailers(&self, mut i: usize) -> Step<usize> {
        let bad = |i| Stop::Bad(i, error::TRAILERS);
        loop {
            match self.at(i)? {
                b'\r' => {
                    return match self.at(i + 1)? {
                        b'\n' => Ok(i + 2),
                        _ => Err(bad(i + 1)),
                    }
                }
                c if tchar(c) => {}
                _ => return Err(bad(i)),
            }
            while tchar(self.at(i)?) {
                i += 1;
            }
            if self.at(i)? != b':' {
                return Err(bad(i));
            }
            i += 1;
            while self.at(i)? != b'\r' {
                if !field_byte(self.b[i]) {
                    return Err(bad(i));
                }
                i += 1;
            }
            if self.at(i + 1)? != b'\n' {
                return Err(bad(i + 1));
            }
            i += 2;
        }
    }
    /// A bounded part from `start`: over `limit` bytes, `code` at the first byte past it.
    fn bounded<T>(
        &self,
        start: usize,
        limit: u32,
        code: u32,
        r: Step<T>,
        end: impl Fn(&T) -> usize,
    ) -> Result<Option<T>, u32> {
        let limit = start + limit as usize;
        match r {
            Ok(v) if end(&v) > limit => Err(code),
            Ok(v) => Ok(Some(v)),
            Err(Stop::Bad(at, _)) if at >= limit => Err(code),
            Err(Stop::Bad(_, c)) => Err(c),
            Err(Stop::More) if self.b.len() > limit => Err(code),
            Err(Stop::More) => Ok(None),
        }
    }
    /// (bytes in the message, done) or the error code, like `feed`.
    fn body(&self) -> Result<(usize, bool), i32> {
        let more = Ok((self.b.len(), false));
        let mut i = 0;
        loop {
            let line = self.size_line(i);
            let Some((end, size)) = self
                .bounded(i, MAX_SIZE_LINE, error::CHUNK_EXTENSION, line, |v| v.0)
                .map_err(|c| -(c as i32))?
            else {
                return more;
            };
            if size == 0 {
                let t = self.trailers(end);
                return match self.bounded(end, MAX_TRAILERS, error::TRAILERS, t, |&e| e) {
                    Ok(Some(e)) => Ok((e, true)),
                    Ok(None) => more,
                    Err(c) => Err(-(c as i32)),
                };
            }
            if ((self.b.len() - end) as u64) < size {
                return more;
            }
            let data_end = end + size as usize;
            for (k, want) in [(0, b'\r'), (1, b'\n')] {
                match self.b.get(data_end + k) {
                    None => return more,
                    Some(&c) if c != want => return Err(-(error::CHUNK_DATA_END as i32)),
                    Some(_) => {}
                }
            }
            i = data_end + 2;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let whole = feed(input, &[]);
    assert_eq!(
        Reference { b: input }.body(),
        whole,
        "the slow reference disagrees"
    );
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
