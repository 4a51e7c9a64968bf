//! A tunnel: two sockets and the two directions between them, until both directions
//! have passed their FIN on, or the tunnel is ended early (idle, closed, broken).
//!
//! A body (`Handover::body`) is the one-way, bounded kind: a response body of a known
//! length from `b` to `a`, after which both connections go back to the caller as they
//! are (no FIN, nothing more read), ready for the next message.

use std::io;
use std::os::fd::{AsFd, RawFd};
use std::time::{Duration, Instant};

use crate::flow::{Flow, Mode, Shared, Side};
use crate::sys;

/// What the caller hands over: two connected sockets and what was already read from them.
#[derive(Debug, Default)]
pub struct Handover {
    /// Descriptor numbers of the sockets. The relay works on duplicates; the caller keeps
    /// its own descriptors open and must neither read nor write them until the end.
    pub a: RawFd,
    pub b: RawFd,
    /// Bytes to write to `a` (to `b`) before anything relayed.
    pub first_to_a: Vec<u8>,
    pub first_to_b: Vec<u8>,
    /// `a` (`b`) has already sent its FIN: pass it on after `first_to_b` (`first_to_a`).
    pub a_ended: bool,
    pub b_ended: bool,
    /// End the tunnel after this long without a byte either way (`None`: never).
    pub idle: Option<Duration>,
    /// How this tunnel's bytes are moved.
    pub mode: Mode,
    /// A body instead of a tunnel: `first_to_a`, then exactly this many bytes read from `b`
    /// written to `a`; nothing is relayed from `a`, no FIN is passed on, and the end is
    /// `Done` once the last byte is written. The sides' `*_ended` flags are not used.
    pub body: Option<u64>,
}

/// Why a tunnel ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// Both sides sent their FIN and each was passed on.
    Done = 0,
    /// Nothing moved for the idle time: both sides get a FIN (a body's: a reset).
    Idle = 1,
    /// The caller closed it: both sides get a FIN (a body's: a reset).
    Closed = 2,
    /// A read or write failed (reset, broken pipe, a body's source ended before the body):
    /// both sides get a reset, so that a peer never takes a truncated stream for a
    /// complete one.
    Broken = 3,
}

/// A tunnel's account once it has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    pub id: u64,
    /// Bytes relayed from `a` to `b` and from `b` to `a`, the `first_to_*` bytes not counted.
    pub a_to_b: u64,
    pub b_to_a: u64,
    pub reason: Reason,
}

pub struct Tunnel {
    pub id: u64,
    a: Side,
    b: Side,
    a_to_b: Flow,
    b_to_a: Flow,
    idle: Option<Duration>,
    last: Instant,
    body: bool,
}

impl Tunnel {
    /// Duplicates the descriptors: done on the caller's thread, so that running out of
    /// descriptors is reported to it at once.
    pub fn new(id: u64, h: Handover) -> io::Result<Tunnel> {
        let mode = h.mode;
        let (a_to_b, b_to_a) = match h.body {
            Some(length) => (Flow::none(), Flow::bounded(h.first_to_a, length, mode)),
            None => (
                Flow::new(h.first_to_b, h.a_ended, mode),
                Flow::new(h.first_to_a, h.b_ended, mode),
            ),
        };
        Ok(Tunnel {
            id,
            a: Side::new(sys::dup(h.a)?),
            b: Side::new(sys::dup(h.b)?),
            a_to_b,
            b_to_a,
            idle: h.idle,
            last: Instant::now(),
            body: h.body.is_some(),
        })
    }

    pub fn sides(&self) -> [&Side; 2] {
        [&self.a, &self.b]
    }

    /// Records an epoll edge on side 0 (`a`) or 1 (`b`).
    pub fn ready(&mut self, side: usize, readable: bool, writable: bool) {
        let s = if side == 0 { &mut self.a } else { &mut self.b };
        s.readable |= readable;
        s.writable |= writable;
    }

    /// Moves what can be moved. → `Some(reason)` once the tunnel is over.
    pub fn pump(&mut self, shared: &mut Shared) -> Option<Reason> {
        let mut moved = false;
        loop {
            let step = self
                .a_to_b
                .pump(&mut self.a, &mut self.b, shared)
                .and_then(|m1| Ok(m1 | self.b_to_a.pump(&mut self.b, &mut self.a, shared)?));
            match step {
                Ok(true) => moved = true,
                Ok(false) => break,
                Err(_) => return Some(Reason::Broken),
            }
        }
        if moved {
            self.last = Instant::now();
        }
        (self.a_to_b.done() && self.b_to_a.done()).then_some(Reason::Done)
    }

    /// Whether nothing has moved for the idle time at `now`.
    pub fn idle_at(&self, now: Instant) -> bool {
        self.idle
            .is_some_and(|idle| now.duration_since(self.last) >= idle)
    }

    pub fn has_idle_limit(&self) -> bool {
        self.idle.is_some()
    }

    /// Ends the tunnel for `reason` (the descriptors close when it is dropped).
    pub fn end(self, reason: Reason) -> Ended {
        for side in [&self.a, &self.b] {
            let fd = side.fd.as_fd();
            // Errors are ignored: a side that is already gone needs nothing more.
            match reason {
                Reason::Done => {}
                // A FIN after part of a body could pass for its end where the length is not
                // checked: a body cut short is a reset, whatever cut it.
                Reason::Idle | Reason::Closed if !self.body => {
                    drop(sys::shutdown(fd, sys::SHUT_RDWR))
                }
                Reason::Idle | Reason::Closed | Reason::Broken => drop(sys::linger_zero(fd)),
            }
        }
        Ended {
            id: self.id,
            a_to_b: self.a_to_b.relayed(),
            b_to_a: self.b_to_a.relayed(),
            reason,
        }
    }
}
