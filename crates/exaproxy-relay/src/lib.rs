//! The native tunnel relay: once a CONNECT (or an upgraded connection, or a TLS-SNI
//! splice) is established, its two sockets are handed over and one thread moves the
//! bytes for every tunnel of the process, edge-triggered on one epoll instance, until
//! both directions have ended. Each tunnel's end is reported once, with its byte counts.
//!
//! Half-close is kept (a FIN is passed on once the bytes before it are written, the
//! other direction goes on); backpressure is kept (nothing is read while the other
//! side cannot take it); an idle limit ends silent tunnels.
//!
//! A body ([`Handover::body`]) is the one-way, bounded kind: exactly its length from one
//! socket to the other, then both are the caller's again. [`Relay::add_body`] moves what
//! it can at once on the caller's thread and queues only the rest.
//!
//! | module | job |
//! |---|---|
//! | `flow` | one direction: copy through a shared buffer, or splice through a pipe |
//! | `tunnel` | two sockets, two flows, the idle clock and the end |
//! | `sys` | the system calls, the crate's only `unsafe` code and why it is sound |
//!
//! Linux only (epoll, splice); elsewhere [`Relay::spawn`] says it is unsupported and
//! the caller keeps its own relay.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

#[cfg(target_os = "linux")]
mod flow;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod sys;
#[cfg(target_os = "linux")]
mod thread;
#[cfg(target_os = "linux")]
mod tunnel;

#[cfg(target_os = "linux")]
pub use flow::Mode;
#[cfg(target_os = "linux")]
pub use thread::{Relay, Started};
#[cfg(target_os = "linux")]
pub use tunnel::{Ended, Handover, Reason};
