//! One direction of a tunnel: bytes from one socket to the other, in order, with the
//! sender's FIN passed on once everything before it has been written.
//!
//! Readiness is edge-triggered: a socket is taken as readable (writable) until a call
//! says `EAGAIN`, and the next epoll edge says it again. Nothing is read while the
//! destination cannot take it, so the kernel's buffers hold the backlog and the relay
//! holds at most one read's worth per direction (a slow reader holds back the sender).

use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, OwnedFd};

use crate::sys;

/// How bytes are moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    /// `read` into one large buffer shared by all tunnels, `send` from it; what the
    /// destination does not take at once is kept for this direction only.
    Copy,
    /// `splice` from the socket into a pipe and from the pipe to the other socket: the
    /// bytes stay in the kernel. Pipes come from a pool shared by all tunnels and are held
    /// only while bytes wait in them, so an idle or flowing tunnel holds no pipe.
    Splice,
}

/// What all tunnels share: the copy buffer and the idle pipes.
pub struct Shared {
    pub scratch: Vec<u8>,
    pipes: Vec<(OwnedFd, OwnedFd)>,
}

/// Idle pipes kept for reuse; more are closed.
const IDLE_PIPES: usize = 64;

impl Shared {
    pub fn new(scratch: usize) -> Shared {
        Shared {
            scratch: vec![0; scratch],
            pipes: Vec::new(),
        }
    }

    /// An empty pipe, from the pool or new.
    fn pipe(&mut self) -> io::Result<(OwnedFd, OwnedFd)> {
        match self.pipes.pop() {
            Some(p) => Ok(p),
            None => sys::pipe(PIPE_SIZE),
        }
    }

    fn give_back(&mut self, pipe: (OwnedFd, OwnedFd)) {
        if self.pipes.len() < IDLE_PIPES {
            self.pipes.push(pipe);
        }
    }
}

/// One socket of a tunnel and what the last calls said about it.
pub struct Side {
    pub fd: OwnedFd,
    pub readable: bool,
    pub writable: bool,
}

impl Side {
    pub fn new(fd: OwnedFd) -> Side {
        Side {
            fd,
            readable: true,
            writable: true,
        }
    }
}

/// Bytes a pipe of a splicing direction may hold (and so the most moved per call).
pub const PIPE_SIZE: usize = 256 * 1024;

/// One direction's state.
pub struct Flow {
    /// Bytes read but not yet written (the bytes Node had already read, first).
    pending: Vec<u8>,
    at: usize,
    mode: Mode,
    /// Splice mode: the pipe (read end, write end) holding `in_pipe` bytes, while any wait.
    pipe: Option<(OwnedFd, OwnedFd)>,
    in_pipe: usize,
    /// The source sent its FIN (or was told it had, by the caller).
    pub eof: bool,
    /// The FIN has been passed on to the destination.
    pub shut: bool,
    /// Bytes written to the destination, and how many of them were given at the start.
    bytes: u64,
    first: u64,
    /// A body's direction: the bytes still to be read from the source, after which the
    /// direction is done without a FIN (the connections go on); the source ending first
    /// is an error. `None`: until the source's FIN (a tunnel).
    left: Option<u64>,
}

impl Flow {
    pub fn new(first: Vec<u8>, eof: bool, mode: Mode) -> Flow {
        let len = first.len() as u64;
        Flow {
            pending: first,
            at: 0,
            mode,
            pipe: None,
            in_pipe: 0,
            eof,
            shut: false,
            bytes: 0,
            first: len,
            left: None,
        }
    }

    /// A body's direction: `first`, then exactly `length` bytes read from the source.
    pub fn bounded(first: Vec<u8>, length: u64, mode: Mode) -> Flow {
        Flow {
            left: Some(length),
            ..Flow::new(first, false, mode)
        }
    }

    /// A direction that moves nothing (the way back of a body): done from the start.
    pub fn none() -> Flow {
        Flow {
            shut: true,
            ..Flow::new(Vec::new(), true, Mode::Copy)
        }
    }

    /// Bytes relayed: written to the destination, not counting those given at the start.
    pub fn relayed(&self) -> u64 {
        self.bytes.saturating_sub(self.first)
    }

    /// Whether this direction has nothing left to do.
    pub fn done(&self) -> bool {
        self.shut
    }

    /// Moves what can be moved now from `src` to `dst`. Returns whether any byte (or the
    /// FIN) moved; an error ends the tunnel.
    pub fn pump(
        &mut self,
        src: &mut Side,
        dst: &mut Side,
        shared: &mut Shared,
    ) -> io::Result<bool> {
        let mut moved = false;
        loop {
            if self.at < self.pending.len() {
                if !dst.writable {
                    return Ok(moved);
                }
                match sys::write(dst.fd.as_fd(), &self.pending[self.at..]) {
                    Ok(n) => {
                        self.at += n;
                        self.bytes += n as u64;
                        moved = true;
                        if self.at == self.pending.len() {
                            // Freed, not kept: an idle tunnel holds no buffer.
                            self.pending = Vec::new();
                            self.at = 0;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => dst.writable = false,
                    Err(e) => return Err(e),
                }
                continue;
            }
            if self.in_pipe > 0 {
                if !dst.writable {
                    return Ok(moved);
                }
                let (r, _) = self.pipe.as_ref().expect("bytes in a pipe");
                match sys::splice(r.as_fd(), dst.fd.as_fd(), self.in_pipe) {
                    Ok(n) => {
                        self.in_pipe -= n;
                        self.bytes += n as u64;
                        moved = true;
                        if self.in_pipe == 0 {
                            shared.give_back(self.pipe.take().expect("the pipe just emptied"));
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => dst.writable = false,
                    Err(e) => return Err(e),
                }
                continue;
            }
            if self.left == Some(0) {
                // The whole body is written: done, and nothing of what follows is read.
                moved |= !self.shut;
                self.shut = true;
                return Ok(moved);
            }
            if self.eof {
                if !self.shut {
                    self.shut = true;
                    moved = true;
                    match sys::shutdown(dst.fd.as_fd(), sys::SHUT_WR) {
                        // The peer has already gone: the other direction will find out.
                        Err(e) if e.kind() != ErrorKind::NotConnected => return Err(e),
                        _ => {}
                    }
                }
                return Ok(moved);
            }
            // Nothing waits: read only when the destination could take it at once.
            if !src.readable || !dst.writable {
                return Ok(moved);
            }
            // Without a pipe to be had (no descriptor left), this read is copied.
            let pipe = match self.mode {
                Mode::Splice => shared.pipe().ok(),
                Mode::Copy => None,
            };
            // A body's read never goes past its end: what follows is the next message's.
            let most = |room: usize| self.left.map_or(room, |l| room.min(l as usize));
            let got = match &pipe {
                Some((_, w)) => sys::splice(src.fd.as_fd(), w.as_fd(), most(PIPE_SIZE)),
                None => {
                    let room = most(shared.scratch.len());
                    sys::read(src.fd.as_fd(), &mut shared.scratch[..room])
                }
            };
            if let (Ok(n), Some(left)) = (&got, &mut self.left) {
                *left -= *n as u64;
            }
            match (got, pipe) {
                (Ok(0), pipe) => {
                    if let Some(p) = pipe {
                        shared.give_back(p);
                    }
                    if self.left.is_some() {
                        // The source ended before the body did: never a short message.
                        return Err(ErrorKind::UnexpectedEof.into());
                    }
                    self.eof = true;
                }
                (Ok(n), Some(pipe)) => {
                    self.in_pipe = n;
                    self.pipe = Some(pipe);
                }
                (Ok(n), None) => {
                    let data = std::mem::take(&mut shared.scratch);
                    let sent = self.send_read(&data[..n], dst);
                    shared.scratch = data;
                    sent?;
                }
                (Err(e), pipe) => {
                    if let Some(p) = pipe {
                        shared.give_back(p);
                    }
                    if e.kind() != ErrorKind::WouldBlock {
                        return Err(e);
                    }
                    src.readable = false;
                }
            }
            moved = true;
        }
    }

    /// Copy mode: writes what was just read; what the destination does not take is kept.
    fn send_read(&mut self, data: &[u8], dst: &mut Side) -> io::Result<()> {
        let n = match sys::write(dst.fd.as_fd(), data) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                dst.writable = false;
                0
            }
            Err(e) => return Err(e),
        };
        self.bytes += n as u64;
        if n < data.len() {
            self.pending = data[n..].to_vec();
            self.at = 0;
        }
        Ok(())
    }
}
