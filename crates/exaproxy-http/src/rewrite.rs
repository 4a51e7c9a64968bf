//! The proxy's header rewriting, compiled once into a [`Plan`].
//!
//! [`rewrite_request`] and [`rewrite_response`] take a head already parsed by
//! [`crate::parse_request`] / [`crate::parse_response`] (the same buffer and its
//! table) and write the head to forward into the caller's `out` buffer in one
//! pass: the original field lines are copied in runs, byte for byte, and only
//! the lines a rule touches are dropped or rewritten. Nothing is allocated per
//! message; everything that depends only on the configuration (the `Via` line,
//! the added lines, the removal lists) is prepared in [`Plan::new`].
//!
//! Request rules (RFC 9110 §7.6, RFC 9112 §3.2):
//! - an absolute-form target becomes origin-form (`/` when the path is empty,
//!   `*` for OPTIONS with an empty path, and a fragment is never sent); the Host
//!   field then carries the target's authority, added first when the request
//!   had none;
//! - hop-by-hop fields go: Connection and every field it names, Keep-Alive,
//!   Proxy-Connection, Proxy-Authenticate, Proxy-Authorization (unless the plan
//!   passes it), TE, Trailer, Upgrade. An allowed upgrade keeps Upgrade and gets
//!   `Connection: upgrade`. Connection can never remove Host, Content-Length or
//!   Transfer-Encoding: dropping them would change how the next hop frames the
//!   message, which is what request smuggling is made of;
//! - `Connection: keep-alive` is added to an HTTP/1.0 request when the upstream
//!   connection should stay open, and `Connection: close` to an HTTP/1.1 request
//!   when it should not (so the server does not hold a connection we will drop);
//! - Max-Forwards is decremented for OPTIONS and TRACE; then Via,
//!   X-Forwarded-For and the configured lines are appended.
//!
//! Response rules: the same hop-by-hop removal (Upgrade kept for a tunnel), Via
//! and the configured lines, then the client keep-alive decision (see
//! [`rewrite_response`]).

use crate::abi::{error, flag, form, header, method, record, rewrite, slot};
use crate::known::header_id;

/// What to do with `X-Forwarded-For` on requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ForwardedFor {
    /// Add a line with the client address after any existing ones.
    #[default]
    Append,
    /// Remove existing lines and add ours.
    Replace,
    /// Leave the header as the client sent it.
    Leave,
}

/// The rewriting rules, as the configuration gives them.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// `Via` pseudonym (for `Via: 1.1 <pseudonym>`); `None` adds no Via.
    pub via: Option<String>,
    /// Also add `Via` to responses.
    pub via_response: bool,
    pub forwarded_for: ForwardedFor,
    /// Forward `Proxy-Authorization` instead of removing it.
    pub pass_proxy_authorization: bool,
    /// Header names (any case) removed from requests.
    pub remove_request: Vec<String>,
    /// Header lines added to requests.
    pub add_request: Vec<(String, String)>,
    /// Header names (any case) removed from responses.
    pub remove_response: Vec<String>,
    /// Header lines added to responses.
    pub add_response: Vec<(String, String)>,
}

/// Whether `name` is a field name (1*tchar, RFC 9110 §5.1).
fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `value` can be sent as a field value: no CR, LF, NUL or other
/// control byte (HTAB aside), no surrounding whitespace.
fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7F))
        && !value.first().is_some_and(|&b| b == b' ' || b == b'\t')
        && !value.last().is_some_and(|&b| b == b' ' || b == b'\t')
}

impl PlanOptions {
    /// Checks every option that ends up in a header line. Returns one line
    /// naming the option, the value and what is accepted. [`Plan::new`] skips
    /// what this rejects, so a bad option can never inject a line.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(via) = &self.via {
            if via.is_empty() || !is_field_value(via.as_bytes()) {
                return Err(format!(
                    "rewrite option via: {via:?} is not a valid Via pseudonym; use visible characters and spaces, without control characters"
                ));
            }
        }
        for (option, names) in [
            ("removeRequest", &self.remove_request),
            ("removeResponse", &self.remove_response),
        ] {
            for name in names {
                if !is_token(name.as_bytes()) {
                    return Err(format!(
                        "rewrite option {option}: {name:?} is not a header name; use letters, digits and !#$%&'*+-.^_`|~"
                    ));
                }
            }
        }
        for (option, lines) in [
            ("addRequest", &self.add_request),
            ("addResponse", &self.add_response),
        ] {
            for (name, value) in lines {
                if !is_token(name.as_bytes()) {
                    return Err(format!(
                        "rewrite option {option}: {name:?} is not a header name; use letters, digits and !#$%&'*+-.^_`|~"
                    ));
                }
                if !is_field_value(value.as_bytes()) {
                    return Err(format!(
                        "rewrite option {option}: the value {value:?} of {name} has a control character or surrounding spaces; remove them"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A header name to remove: its well-known id, or its lower-case bytes when it
/// has none (id 0), so most comparisons are one integer compare.
#[derive(Clone, Debug)]
struct Removal {
    id: u32,
    lower: Vec<u8>,
}

impl Removal {
    fn compile(names: &[String]) -> Vec<Removal> {
        names
            .iter()
            .filter(|n| is_token(n.as_bytes()))
            .map(|n| Removal {
                id: header_id(n.as_bytes()),
                lower: n.to_ascii_lowercase().into_bytes(),
            })
            .collect()
    }
}

/// Whether a header with `id` and `name` is in `list`.
fn listed(list: &[Removal], id: u32, name: &[u8]) -> bool {
    list.iter().any(|r| {
        if r.id != header::OTHER {
            r.id == id
        } else {
            id == header::OTHER && r.lower.len() == name.len() && r.lower.eq_ignore_ascii_case(name)
        }
    })
}

/// `Name: value\r\n` lines, concatenated; invalid entries are skipped.
fn lines(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in pairs {
        if is_token(name.as_bytes()) && is_field_value(value.as_bytes()) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// A compiled plan.
#[derive(Debug, Default)]
pub struct Plan {
    /// `Via: 1.0 <pseudonym>\r\n` and `Via: 1.1 …` (empty: no Via).
    via: [Vec<u8>; 2],
    via_response: bool,
    forwarded_for: ForwardedFor,
    pass_proxy_authorization: bool,
    remove_request: Vec<Removal>,
    remove_response: Vec<Removal>,
    add_request: Vec<u8>,
    add_response: Vec<u8>,
}

impl Plan {
    /// Compiles `options`. Entries [`PlanOptions::validate`] rejects are skipped.
    pub fn new(options: &PlanOptions) -> Plan {
        let via_line = |minor: &str| match &options.via {
            Some(p) if !p.is_empty() && is_field_value(p.as_bytes()) => {
                format!("Via: 1.{minor} {p}\r\n").into_bytes()
            }
            _ => Vec::new(),
        };
        Plan {
            via: [via_line("0"), via_line("1")],
            via_response: options.via_response,
            forwarded_for: options.forwarded_for,
            pass_proxy_authorization: options.pass_proxy_authorization,
            remove_request: Removal::compile(&options.remove_request),
            remove_response: Removal::compile(&options.remove_response),
            add_request: lines(&options.add_request),
            add_response: lines(&options.add_response),
        }
    }
}

/// The caller's output buffer and how much of it is written.
struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Out<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), u32> {
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
struct Head<'a> {
    buf: &'a [u8],
    table: &'a [u32],
    count: usize,
    /// The error for a table that does not describe the buffer.
    bad: u32,
}

impl<'a> Head<'a> {
    fn new(buf: &'a [u8], table: &'a [u32], bad: u32) -> Result<Head<'a>, u32> {
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
    fn span(&self, start: usize, end: usize) -> Result<&'a [u8], u32> {
        self.buf.get(start..end).ok_or(self.bad)
    }
    fn slot_span(&self, start_slot: usize, end_slot: usize) -> Result<&'a [u8], u32> {
        self.span(
            self.table[start_slot] as usize,
            self.table[end_slot] as usize,
        )
    }
    fn field(&self, i: usize, f: usize) -> usize {
        self.table[slot::HEADERS + i * record::SIZE + f] as usize
    }
    fn id(&self, i: usize) -> u32 {
        self.table[slot::HEADERS + i * record::SIZE + record::NAME_ID]
    }
    fn name(&self, i: usize) -> Result<&'a [u8], u32> {
        self.span(
            self.field(i, record::NAME_START),
            self.field(i, record::NAME_END),
        )
    }
    fn value(&self, i: usize) -> Result<&'a [u8], u32> {
        self.span(
            self.field(i, record::VALUE_START),
            self.field(i, record::VALUE_END),
        )
    }
    /// Where the field section ends (before the blank line's CRLF).
    fn fields_end(&self) -> Result<usize, u32> {
        let end = (self.table[slot::HEAD_END] as usize)
            .checked_sub(2)
            .ok_or(self.bad)?;
        if self.count > 0 && end < self.field(self.count - 1, record::VALUE_END) {
            return Err(self.bad);
        }
        Ok(end)
    }
    /// The field names the Connection lines list (see [`Named`]).
    fn connection_names(&self) -> Result<Named, u32> {
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
struct Named {
    spans: [(u32, u32); Named::CAPACITY],
    len: usize,
}

impl Named {
    /// More names than this in one message is refused (`TOO_MANY_HEADERS`):
    /// no client lists that many hop-by-hop fields.
    const CAPACITY: usize = 32;

    /// Whether `name` is listed (ASCII case-insensitive).
    #[inline]
    fn lists(&self, buf: &[u8], name: &[u8]) -> bool {
        self.spans[..self.len].iter().any(|&(start, end)| {
            (end - start) as usize == name.len()
                && buf[start as usize..end as usize].eq_ignore_ascii_case(name)
        })
    }
}

/// What happens to one field line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Drop,
    /// Host of an absolute-form request: the value becomes the target's authority.
    Host,
    /// Max-Forwards of OPTIONS/TRACE: the value becomes this number.
    MaxForwards(u64),
}

/// Copies kept field lines in runs, so consecutive kept lines cost one copy.
struct Runs {
    start: Option<usize>,
}

impl Runs {
    /// Line `i` (starting at `line_start`) is kept as it is.
    #[inline]
    fn keep(&mut self, line_start: usize) {
        self.start.get_or_insert(line_start);
    }
    /// Writes the pending run, which ends where `line_start` begins.
    #[inline]
    fn flush(&mut self, head: &Head<'_>, out: &mut Out<'_>, line_start: usize) -> Result<(), u32> {
        if let Some(start) = self.start.take() {
            out.put(head.span(start, line_start)?)?;
        }
        Ok(())
    }
}

/// Whether a Connection line may remove a field with `id`: never the framing
/// and routing fields, nor the Upgrade field of an upgrade that goes ahead (its
/// `Connection: upgrade` names it).
fn connection_may_remove(id: u32, upgrading: bool) -> bool {
    match id {
        header::HOST | header::CONTENT_LENGTH | header::TRANSFER_ENCODING => false,
        header::UPGRADE => !upgrading,
        _ => true,
    }
}

/// Writes `n` in decimal.
fn put_decimal(out: &mut Out<'_>, mut n: u64) -> Result<(), u32> {
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
fn decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Writes the request head to send upstream into `out`. Returns bytes written
/// or `-code`: `-OUTPUT_TOO_SMALL` when `out` cannot hold it (nothing useful is
/// in `out` then; retry with a larger one), `-HEADER_VALUE` when `client_ip`
/// holds a byte that cannot go in a field value, `-TOO_MANY_HEADERS` when the
/// Connection lines name more than 32 fields, `-REQUEST_LINE` when `table` does
/// not describe `buf`. `bits` are `abi::rewrite` bits.
pub fn rewrite_request(
    plan: &Plan,
    buf: &[u8],
    table: &[u32],
    out: &mut [u8],
    client_ip: &[u8],
    bits: u32,
) -> i32 {
    let mut out = Out { buf: out, len: 0 };
    match request(plan, buf, table, &mut out, client_ip, bits) {
        Ok(()) => out.len as i32,
        Err(code) => -(code as i32),
    }
}

fn request(
    plan: &Plan,
    buf: &[u8],
    table: &[u32],
    out: &mut Out<'_>,
    client_ip: &[u8],
    bits: u32,
) -> Result<(), u32> {
    let bad = error::REQUEST_LINE;
    let head = Head::new(buf, table, bad)?;
    if !client_ip.iter().all(|b| b.is_ascii_graphic()) {
        return Err(error::HEADER_VALUE);
    }
    let flags = table[slot::FLAGS];
    let minor = table[slot::VERSION];
    if minor > 1 {
        return Err(bad);
    }
    let method_id = table[slot::METHOD];
    let upgrade = flags & flag::IS_UPGRADE != 0 && bits & rewrite::ALLOW_UPGRADE != 0;
    let absolute = table[slot::FORM] == form::ABSOLUTE;

    // Request line: METHOD SP target SP HTTP/1.x CRLF.
    out.put(head.slot_span(slot::METHOD_START, slot::METHOD_END)?)?;
    out.put(b" ")?;
    let target = head.slot_span(slot::TARGET_START, slot::TARGET_END)?;
    let mut authority: &[u8] = b"";
    if absolute {
        // scheme "://" authority: the parser checked the shape; the authority
        // ends where the path starts.
        let scheme_end = target.windows(3).position(|w| w == b"://").ok_or(bad)?;
        let authority_start = table[slot::TARGET_START] as usize + scheme_end + 3;
        authority = head.span(authority_start, table[slot::PATH_START] as usize)?;
        let path = head.slot_span(slot::PATH_START, slot::PATH_END)?;
        let path = path.split(|&b| b == b'#').next().unwrap_or_default();
        if path.is_empty() && method_id == method::OPTIONS {
            // RFC 9112 §3.2.4: OPTIONS to a bare authority asks about the server.
            out.put(b"*")?;
        } else {
            if path.first() != Some(&b'/') {
                out.put(b"/")?; // empty path, or a query right after the authority
            }
            out.put(path)?;
        }
    } else {
        out.put(target)?;
    }
    out.put(if minor == 1 {
        b" HTTP/1.1\r\n"
    } else {
        b" HTTP/1.0\r\n"
    })?;
    if absolute && flags & flag::HOST_HEADER == 0 {
        out.put(b"Host: ")?;
        out.put(authority)?;
        out.put(b"\r\n")?;
    }

    let connection = head.connection_names()?;
    let decrement = matches!(method_id, method::OPTIONS | method::TRACE);
    let mut runs = Runs { start: None };
    for i in 0..head.count {
        let id = head.id(i);
        let name = head.name(i)?;
        let mut action = match id {
            header::CONNECTION
            | header::KEEP_ALIVE
            | header::PROXY_CONNECTION
            | header::PROXY_AUTHENTICATE
            | header::TE
            | header::TRAILER => Action::Drop,
            header::PROXY_AUTHORIZATION if !plan.pass_proxy_authorization => Action::Drop,
            header::UPGRADE if !upgrade => Action::Drop,
            header::X_FORWARDED_FOR if plan.forwarded_for == ForwardedFor::Replace => Action::Drop,
            header::HOST if absolute => Action::Host,
            header::MAX_FORWARDS if decrement => match decimal(head.value(i)?) {
                Some(n) if n > 0 => Action::MaxForwards(n - 1),
                _ => Action::Keep,
            },
            _ => Action::Keep,
        };
        if action != Action::Drop
            && (listed(&plan.remove_request, id, name)
                || (connection_may_remove(id, upgrade) && connection.lists(buf, name)))
        {
            action = Action::Drop;
        }
        let line_start = head.field(i, record::NAME_START);
        if action == Action::Keep {
            runs.keep(line_start);
            continue;
        }
        runs.flush(&head, out, line_start)?;
        match action {
            Action::Host => {
                out.put(name)?;
                out.put(b": ")?;
                out.put(authority)?;
                out.put(b"\r\n")?;
            }
            Action::MaxForwards(n) => {
                out.put(name)?;
                out.put(b": ")?;
                put_decimal(out, n)?;
                out.put(b"\r\n")?;
            }
            Action::Keep | Action::Drop => {}
        }
    }
    runs.flush(&head, out, head.fields_end()?)?;

    if upgrade {
        out.put(b"Connection: upgrade\r\n")?;
    } else if bits & rewrite::UPSTREAM_KEEP_ALIVE != 0 {
        if minor == 0 {
            out.put(b"Connection: keep-alive\r\n")?;
        }
    } else if minor == 1 {
        out.put(b"Connection: close\r\n")?;
    }
    out.put(&plan.via[minor as usize])?;
    if plan.forwarded_for != ForwardedFor::Leave && !client_ip.is_empty() {
        out.put(b"X-Forwarded-For: ")?;
        out.put(client_ip)?;
        out.put(b"\r\n")?;
    }
    out.put(&plan.add_request)?;
    out.put(b"\r\n")
}

/// Writes the response head to send to the client into `out`, and decides
/// whether the client connection stays open after this response: the
/// `flag::KEEP_ALIVE` bit of `table[FLAGS]` is set or cleared.
///
/// Keep-alive holds when `bits` has `CLIENT_KEEP_ALIVE` and the response's end
/// is known without closing (not `BODY_UNTIL_CLOSE`); the head then says
/// `Connection: keep-alive` to an HTTP/1.0 client (`CLIENT_HTTP_10`), nothing to
/// an HTTP/1.1 one, and `Connection: close` when the connection will close.
/// Two kinds of response escape this: a tunnel (101, 2xx to CONNECT) never
/// returns to HTTP, so KEEP_ALIVE is cleared and a 101 keeps `Connection:
/// upgrade` with its Upgrade field; an interim 1xx says nothing about the
/// connection and KEEP_ALIVE is set, since the final response follows on it.
///
/// Returns bytes written or `-code` (`-OUTPUT_TOO_SMALL`, `-TOO_MANY_HEADERS`
/// as for requests, or `-STATUS_LINE` when `table` does not describe `buf`).
pub fn rewrite_response(
    plan: &Plan,
    buf: &[u8],
    table: &mut [u32],
    out: &mut [u8],
    bits: u32,
) -> i32 {
    let mut out = Out { buf: out, len: 0 };
    let keep_alive = match response(plan, buf, table, &mut out, bits) {
        Ok(keep_alive) => keep_alive,
        Err(code) => return -(code as i32),
    };
    if keep_alive {
        table[slot::FLAGS] |= flag::KEEP_ALIVE;
    } else {
        table[slot::FLAGS] &= !flag::KEEP_ALIVE;
    }
    out.len as i32
}

/// Writes the response head; returns the keep-alive decision.
fn response(
    plan: &Plan,
    buf: &[u8],
    table: &[u32],
    out: &mut Out<'_>,
    bits: u32,
) -> Result<bool, u32> {
    let bad = error::STATUS_LINE;
    let head = Head::new(buf, table, bad)?;
    let flags = table[slot::FLAGS];
    let minor = table[slot::VERSION];
    let status = table[slot::STATUS];
    if minor > 1 || !(100..=999).contains(&status) {
        return Err(bad);
    }
    let tunnel = flags & flag::TUNNEL != 0;

    // Status line: HTTP/1.x SP 3DIGIT SP reason CRLF.
    out.put(if minor == 1 {
        b"HTTP/1.1 "
    } else {
        b"HTTP/1.0 "
    })?;
    out.put(&[
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
        b' ',
    ])?;
    out.put(head.slot_span(slot::REASON_START, slot::REASON_END)?)?;
    out.put(b"\r\n")?;

    let connection = head.connection_names()?;
    let mut runs = Runs { start: None };
    for i in 0..head.count {
        let id = head.id(i);
        let name = head.name(i)?;
        let drop = match id {
            header::CONNECTION
            | header::KEEP_ALIVE
            | header::PROXY_CONNECTION
            | header::TE
            | header::TRAILER => true,
            header::UPGRADE if !tunnel => true,
            _ => {
                listed(&plan.remove_response, id, name)
                    || (connection_may_remove(id, tunnel) && connection.lists(buf, name))
            }
        };
        let line_start = head.field(i, record::NAME_START);
        if drop {
            runs.flush(&head, out, line_start)?;
        } else {
            runs.keep(line_start);
        }
    }
    runs.flush(&head, out, head.fields_end()?)?;

    let keep_alive = if tunnel {
        if status == 101 {
            out.put(b"Connection: upgrade\r\n")?;
        }
        false
    } else if flags & flag::INTERIM != 0 {
        true
    } else if bits & rewrite::CLIENT_KEEP_ALIVE != 0 && flags & flag::BODY_UNTIL_CLOSE == 0 {
        if bits & rewrite::CLIENT_HTTP_10 != 0 {
            out.put(b"Connection: keep-alive\r\n")?;
        }
        true
    } else {
        out.put(b"Connection: close\r\n")?;
        false
    };
    if plan.via_response {
        out.put(&plan.via[minor as usize])?;
    }
    out.put(&plan.add_response)?;
    out.put(b"\r\n")?;
    Ok(keep_alive)
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

    #[test]
    fn options_are_validated_and_bad_ones_skipped() {
        let good = PlanOptions {
            via: Some("exaproxy".into()),
            add_request: vec![("X-A".into(), "1\tb".into())],
            remove_response: vec!["Server".into()],
            ..PlanOptions::default()
        };
        assert_eq!(good.validate(), Ok(()));
        let injections = [
            PlanOptions {
                via: Some("p\r\nX-Evil: 1".into()),
                ..PlanOptions::default()
            },
            PlanOptions {
                via: Some(String::new()),
                ..PlanOptions::default()
            },
            PlanOptions {
                add_request: vec![("X-A".into(), "1\r\nX-Evil: 1".into())],
                ..PlanOptions::default()
            },
            PlanOptions {
                add_response: vec![("X A".into(), "1".into())],
                ..PlanOptions::default()
            },
            PlanOptions {
                add_response: vec![("X-A".into(), " 1".into())],
                ..PlanOptions::default()
            },
            PlanOptions {
                remove_request: vec!["Bad:Name".into()],
                ..PlanOptions::default()
            },
        ];
        for options in injections {
            let message = options.validate().unwrap_err();
            assert!(message.starts_with("rewrite option "), "{message}");
            let plan = Plan::new(&options);
            assert!(plan.via.iter().all(Vec::is_empty));
            assert!(plan.add_request.is_empty() && plan.add_response.is_empty());
            assert!(plan.remove_request.is_empty());
        }
    }

    #[test]
    fn removal_compares_ids_or_lower_case_names() {
        let list = Removal::compile(&["X-Custom".into(), "SERVER".into()]);
        assert!(listed(&list, header::OTHER, b"x-CUSTOM"));
        assert!(listed(&list, header::SERVER, b"Server"));
        assert!(!listed(&list, header::OTHER, b"x-custom2"));
        assert!(!listed(&list, header::VIA, b"Via"));
    }

    #[test]
    fn a_table_that_does_not_fit_the_buffer_is_an_error() {
        let plan = Plan::default();
        let mut out = [0u8; 256];
        let mut table = vec![0u32; slot::HEADERS];
        table[slot::METHOD_END] = 3;
        table[slot::TARGET_START] = 4;
        table[slot::TARGET_END] = 500;
        table[slot::HEAD_END] = 20;
        assert_eq!(
            rewrite_request(&plan, b"GET / HTTP/1.1\r\n\r\n", &table, &mut out, b"", 0),
            -(error::REQUEST_LINE as i32)
        );
        table[slot::HEADER_COUNT] = 3; // records beyond the table
        assert_eq!(
            rewrite_request(&plan, b"GET / HTTP/1.1\r\n\r\n", &table, &mut out, b"", 0),
            -(error::REQUEST_LINE as i32)
        );
        assert_eq!(
            rewrite_response(&plan, b"HTTP/1.1 200 OK\r\n\r\n", &mut table, &mut out, 0),
            -(error::STATUS_LINE as i32)
        );
        let mut short = [0u32; 4];
        assert_eq!(
            rewrite_response(&plan, b"", &mut short, &mut out, 0),
            -(error::STATUS_LINE as i32)
        );
    }
}
