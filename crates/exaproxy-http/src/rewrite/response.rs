//! The response head sent to the client, and the client keep-alive decision.

use super::plan::{listed, Plan};
use super::table::{connection_may_remove, Head, Out, Runs};
use crate::abi::{error, flag, header, record, rewrite, slot};

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

/// [`crate::parse_response`] and, once the head is complete and valid,
/// [`rewrite_response`] with `bits`, in one call (the proxy's per-response path:
/// one crossing of the Node-API boundary instead of two). Returns what
/// `parse_response` returns; `table[REWRITTEN]` gets the bytes written to `out`,
/// or 0 when nothing was (the caller then calls `rewrite_response` itself, with
/// a larger `out` after `-OUTPUT_TOO_SMALL`, to learn why).
pub fn read_response(
    plan: &Plan,
    buf: &[u8],
    start: usize,
    table: &mut [u32],
    request_method: u32,
    out: &mut [u8],
    bits: u32,
) -> i32 {
    // parse_response zeroes REWRITTEN with the other outputs (or refuses a short table).
    let consumed = crate::parse_response(buf, start, table, request_method);
    if consumed > 0 {
        let written = rewrite_response(plan, buf, table, out, bits);
        table[slot::REWRITTEN] = written.max(0) as u32;
    }
    consumed
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
        let cut = head.chunked_cut(i).filter(|_| !drop);
        if drop || cut.is_some() {
            runs.flush(&head, out, line_start)?;
            if let Some(cut) = cut {
                head.put_cut(out, i, cut)?;
            }
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
