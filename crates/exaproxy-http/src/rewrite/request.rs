//! The request head sent upstream (the request rules in the module documentation).

use super::plan::{listed, ForwardedFor, Plan};
use super::table::{connection_may_remove, decimal, put_decimal, Head, Out, Runs};
use crate::abi::{error, flag, form, header, method, record, rewrite, slot};

/// What happens to one field line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Drop,
    /// Host of an absolute-form request: the value becomes the target's authority.
    Host,
    /// Max-Forwards of OPTIONS/TRACE: the value becomes this number.
    MaxForwards(u64),
    /// The Transfer-Encoding line cut after a `chunked` with parameters.
    Cut(usize),
}

/// [`crate::parse_request`] and, once the head is complete and valid,
/// [`rewrite_request`] with `client_ip` and `bits`, in one call: the proxy's
/// per-request path when nothing decided later can change the rewrite (one
/// crossing of the Node-API boundary instead of two). Returns what
/// `parse_request` returns; `table[REWRITTEN]` gets the bytes written to `out`,
/// or 0 when nothing was (the caller then rewrites the head itself).
pub fn read_request(
    plan: &Plan,
    buf: &[u8],
    start: usize,
    table: &mut [u32],
    out: &mut [u8],
    client_ip: &[u8],
    bits: u32,
) -> i32 {
    // parse_request zeroes REWRITTEN with the other outputs (or refuses a short table).
    let consumed = crate::parse_request(buf, start, table);
    if consumed > 0 {
        let written = rewrite_request(plan, buf, table, out, client_ip, bits);
        table[slot::REWRITTEN] = written.max(0) as u32;
    }
    consumed
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
    let to_proxy = bits & rewrite::ABSOLUTE_FORM != 0;
    if to_proxy && absolute {
        // A proxy takes the target as it is, fragment excepted.
        out.put(target.split(|&b| b == b'#').next().unwrap_or_default())?;
        let scheme_end = target.windows(3).position(|w| w == b"://").ok_or(bad)?;
        let authority_start = table[slot::TARGET_START] as usize + scheme_end + 3;
        authority = head.span(authority_start, table[slot::PATH_START] as usize)?;
    } else if to_proxy && target.first() == Some(&b'/') {
        out.put(b"http://")?;
        out.put(host_value(&head)?.ok_or(bad)?)?;
        out.put(target)?;
    } else if absolute {
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
            _ => head.chunked_cut(i).map_or(Action::Keep, Action::Cut),
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
            Action::Cut(cut) => head.put_cut(out, i, cut)?,
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

/// The value of the request's Host field, if it has one.
fn host_value<'a>(head: &Head<'a>) -> Result<Option<&'a [u8]>, u32> {
    for i in 0..head.count {
        if head.id(i) == header::HOST {
            return head.value(i).map(Some);
        }
    }
    Ok(None)
}
