//! Reading a parsed head back from its table, bounds-checked (the table crosses
//! from JS and is trusted only as far as it is checked), and writing the output:
//! kept field lines are copied in runs, numbers written without allocating.

use crate::abi::{error, flag, header, record, slot};

/// The caller's output buffer and how much of it is written.
pub(super) struct Out<'a> {
    pub(super) buf: &'a mut [u8],
    pub(super) len: usize,
}

impl Out<'_> {
    #[inline]
    pub(super) fn put(&mut self, bytes: &[u8]) -> Result<(), u32> {
        let end = self.len + bytes.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(error::OUTPUT_TOO_SMALL)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// A parsed head: the buffer and its table, with bounds-checked access (the
/// table crosses from JS and is trusted only as far as it is checked).
pub(super) struct Head<'a> {
    buf: &'a [u8],
    table: &'a [u32],
    pub(super) count: usize,
    /// The error for a table that does not describe the buffer.
    bad: u32,
}

impl<'a> Head<'a> {
    pub(super) fn new(buf: &'a [u8], table: &'a [u32], bad: u32) -> Result<Head<'a>, u32> {
        let count = *table.get(slot::HEADER_COUNT).ok_or(bad)? as usize;
        if table.len() < slot::HEADERS + count.checked_mul(record::SIZE).ok_or(bad)? {
            return Err(bad);
        }
        Ok(Head {
            buf,
            table,
            count,
            bad,
        })
    }
    pub(super) fn span(&self, start: usize, end: usize) -> Result<&'a [u8], u32> {
        self.buf.get(start..end).ok_or(self.bad)
    }
    pub(super) fn slot_span(&self, start_slot: usize, end_slot: usize) -> Result<&'a [u8], u32> {
        self.span(
            self.table[start_slot] as usize,
            self.table[end_slot] as usize,
        )
    }
    pub(super) fn field(&self, i: usize, f: usize) -> usize {
        self.table[slot::HEADERS + i * record::SIZE + f] as usize
    }
    pub(super) fn id(&self, i: usize) -> u32 {
        self.table[slot::HEADERS + i * record::SIZE + record::NAME_ID]
    }
    pub(super) fn name(&self, i: usize) -> Result<&'a [u8], u32> {
        self.span(
            self.field(i, record::NAME_START),
            self.field(i, record::NAME_END),
        )
    }
    pub(super) fn value(&self, i: usize) -> Result<&'a [u8], u32> {
        self.span(
            self.field(i, record::VALUE_START),
            self.field(i, record::VALUE_END),
        )
    }
    /// Where the value of field line `i` is cut: the Transfer-Encoding line whose final
    /// `chunked` carries parameters (`Flag.CHUNKED_PARAMETERS`) is forwarded as far as
    /// `chunked`, so every next hop reads the framing we read.
    pub(super) fn chunked_cut(&self, i: usize) -> Option<usize> {
        if self.table[slot::FLAGS] & flag::CHUNKED_PARAMETERS == 0
            || self.id(i) != header::TRANSFER_ENCODING
        {
            return None;
        }
        let cut = self.table[slot::CHUNKED_END] as usize;
        (self.field(i, record::VALUE_START) < cut && cut <= self.field(i, record::VALUE_END))
            .then_some(cut)
    }
    /// Writes field line `i` with its value cut at `cut` (see [`Head::chunked_cut`]).
    pub(super) fn put_cut(&self, out: &mut Out<'_>, i: usize, cut: usize) -> Result<(), u32> {
        out.put(self.name(i)?)?;
        out.put(b": ")?;
        out.put(self.span(self.field(i, record::VALUE_START), cut)?)?;
        out.put(b"\r\n")
    }
    /// Where the field section ends (before the blank line's CRLF).
    pub(super) fn fields_end(&self) -> Result<usize, u32> {
        let end = (self.table[slot::HEAD_END] as usize)
            .checked_sub(2)
            .ok_or(self.bad)?;
        if self.count > 0 && end < self.field(self.count - 1, record::VALUE_END) {
            return Err(self.bad);
        }
        Ok(end)
    }
    /// The field names the Connection lines list (see [`Named`]).
    pub(super) fn connection_names(&self) -> Result<Named, u32> {
        let mut named = Named {
            spans: [(0, 0); Named::CAPACITY],
            len: 0,
        };
        for i in 0..self.count {
            if self.id(i) != header::CONNECTION {
                continue;
            }
            let value_start = self.field(i, record::VALUE_START);
            let mut at = value_start;
            for token in self.value(i)?.split(|&b| b == b',') {
                let token_start = at;
                at += token.len() + 1;
                let trimmed = token.trim_ascii();
                // Keep-Alive and Upgrade have rules of their own (always removed;
                // removed unless an upgrade goes ahead), and `close` is the
                // usual option: skipping them leaves most messages with none.
                if trimmed.is_empty()
                    || trimmed.eq_ignore_ascii_case(b"keep-alive")
                    || trimmed.eq_ignore_ascii_case(b"upgrade")
                    || trimmed.eq_ignore_ascii_case(b"close")
                {
                    continue;
                }
                if named.len == Named::CAPACITY {
                    return Err(error::TOO_MANY_HEADERS);
                }
                let lead = token.len() - token.trim_ascii_start().len();
                let start = token_start + lead;
                named.spans[named.len] = (start as u32, (start + trimmed.len()) as u32);
                named.len += 1;
            }
        }
        Ok(named)
    }
}

/// The field names listed by a message's Connection lines, as spans in its
/// buffer, collected once so that each field line costs a length compare per
/// name. `keep-alive`, `upgrade` and `close` are left out: the first two name
/// fields with rules of their own, and `close` is a connection option (RFC
/// 9110 §7.6.1 reserves it as a field name).
pub(super) struct Named {
    spans: [(u32, u32); Named::CAPACITY],
    len: usize,
}

impl Named {
    /// More names than this in one message is refused (`TOO_MANY_HEADERS`):
    /// no client lists that many hop-by-hop fields.
    const CAPACITY: usize = 32;

    /// Whether `name` is listed (ASCII case-insensitive).
    #[inline]
    pub(super) fn lists(&self, buf: &[u8], name: &[u8]) -> bool {
        self.spans[..self.len].iter().any(|&(start, end)| {
            (end - start) as usize == name.len()
                && buf[start as usize..end as usize].eq_ignore_ascii_case(name)
        })
    }
}

/// Copies kept field lines in runs, so consecutive kept lines cost one copy.
pub(super) struct Runs {
    pub(super) start: Option<usize>,
}

impl Runs {
    /// Line `i` (starting at `line_start`) is kept as it is.
    #[inline]
    pub(super) fn keep(&mut self, line_start: usize) {
        self.start.get_or_insert(line_start);
    }
    /// Writes the pending run, which ends where `line_start` begins.
    #[inline]
    pub(super) fn flush(
        &mut self,
        head: &Head<'_>,
        out: &mut Out<'_>,
        line_start: usize,
    ) -> Result<(), u32> {
        if let Some(start) = self.start.take() {
            out.put(head.span(start, line_start)?)?;
        }
        Ok(())
    }
}

/// Whether a Connection line may remove a field with `id`: never the framing
/// and routing fields, nor the Upgrade field of an upgrade that goes ahead (its
/// `Connection: upgrade` names it).
pub(super) fn connection_may_remove(id: u32, upgrading: bool) -> bool {
    match id {
        header::HOST | header::CONTENT_LENGTH | header::TRANSFER_ENCODING => false,
        header::UPGRADE => !upgrading,
        _ => true,
    }
}

/// Writes `n` in decimal.
pub(super) fn put_decimal(out: &mut Out<'_>, mut n: u64) -> Result<(), u32> {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(&digits[at..])
}

/// A decimal Max-Forwards value, if it is one (and fits in 19 digits).
pub(super) fn decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_values() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"007"), Some(7));
        assert_eq!(
            decimal(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(decimal(b"10000000000000000000"), None);
        assert_eq!(decimal(b""), None);
        assert_eq!(decimal(b"1 2"), None);
        assert_eq!(decimal(b"-1"), None);
        for n in [0u64, 9, 10, 4096, u64::MAX] {
            let mut buf = [0u8; 20];
            let mut out = Out {
                buf: &mut buf,
                len: 0,
            };
            put_decimal(&mut out, n).unwrap();
            let len = out.len;
            assert_eq!(&buf[..len], n.to_string().as_bytes());
        }
    }
}
