//! `exaproxy-http`: every byte rule of exaproxy, with no I/O and no unsafe code.
//!
//! The Node addon (`crates/exaproxy-node`) only moves bytes and numbers across to
//! these functions. Each parser is incremental in the sense that matters to a
//! proxy: it is called again with more bytes until it returns "complete", and it
//! writes its results as offsets and ids into a caller-owned table (see [`abi`]),
//! so no string or allocation is made per header.
//!
//! | module | job |
//! |---|---|
//! | [`abi`] | slots, flags, ids and error codes shared with TypeScript |
//! | [`byte_class`] | byte classes of heads and the scanners over them |
//! | [`request`] | request head: request line, headers, strict validation |
//! | [`response`] | response head and the message-length rules of RFC 9112 §6.3 |
//! | [`chunked`] | chunked-body boundary scanner over caller-kept state |
//! | [`rewrite`] | the proxy's header rewriting, from a plan compiled once |
//! | [`proxy_protocol`] | HAProxy PROXY protocol v1 and v2 |
//! | [`sni`] | server name from a TLS ClientHello |
//! | [`icap`] | ICAP request heads and their encapsulated HTTP request head |
#![forbid(unsafe_code)]

pub mod abi;
pub mod authority;
pub mod byte_class;
pub mod chunked;
pub mod framing;
pub mod head;
pub mod icap;
pub mod known;
pub mod proxy_protocol;
pub mod request;
pub mod response;
pub mod rewrite;
pub mod sni;

pub use chunked::scan_chunked;
pub use icap::parse_icap_request;
pub use proxy_protocol::parse_proxy_header;
pub use request::parse_request;
pub use response::parse_response;
pub use rewrite::{
    read_request, read_response, rewrite_request, rewrite_response, ForwardedFor, Plan, PlanOptions,
};
pub use sni::peek_sni;
