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
//!
//! | module | job |
//! |---|---|
//! | `plan` | the options, checked and compiled once |
//! | `table` | the parsed head read back from its table; the output, written in runs |
//! | `request` | the request head sent upstream |
//! | `response` | the response head sent to the client, and keep-alive |

mod plan;
mod request;
mod response;
mod table;

pub use plan::{ForwardedFor, Plan, PlanOptions};
pub use request::{read_request, rewrite_request};
pub use response::{read_response, rewrite_response};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{error, slot};

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
