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
    /// bytes stay in the kernel.
    Splice,
}

/// One socket of a tunnel and what the last calls said about it.
pub struct Side {
    pub fd: OwnedFd,
    pub readable: bool,
    pub writable: bool,
}

impl Side {
    pub fn new(fd: OwnedFd) -> Side {
        Side { fd, readable: true, writable: true }
    }
}

/// Bytes a pipe of a splicing direction may hold (and so the most moved per call).
pub const PIPE_SIZE: usize = 256 * 1024;

/// One direction's state.
pub struct Flow {
    /// Bytes read but not yet written (the bytes Node had already read, first).
    pending: Vec<u8>,
    at: usize,
    /// Splice mode: the pipe (read end, write end) and how many bytes are in it.
    pipe: Option<(OwnedFd, OwnedFd)>,
    in_pipe: usize,
    /// The source sent its FIN (or was told it had, by the caller).
    pub eof: bool,
    /// The FIN has been passed on to the destination.
    pub shut: bool,
    /// Bytes written to the destination, and how many of them were given at the start.
    bytes: u64,
    first: u64,
}

impl Flow {
    pub fn new(first: Vec<u8>, eof: bool, mode: Mode) -> io::Result<Flow> {
        let pipe = match mode {
            Mode::Copy => None,
            Mode::Splice => Some(sys::pipe(PIPE_SIZE)?),
        };
        let len = first.len() as u64;
        Ok(Flow { pending: first, at: 0, pipe, in_pipe: 0, eof, shut: false, bytes: 0, first: len })
    }

    /// Bytes relayed: written to the destination, not counting those given at the start.
    pub fn relayed(&self) -> u64 {
        self.bytes.saturating_sub(self.first)
    }

    /// Whether this direction has nothing left to do.
    pub fn done(&self) -> bool {
        self.shut
    }

    /// Moves what can be moved now from `src` to `dst`. `scratch` is the shared copy
    /// buffer. Returns whether any byte (or the FIN) moved; an error ends the tunnel.
    pub fn pump(&mut self, src: &mut Side, dst: &mut Side, scratch: &mut [u8]) -> io::Result<bool> {
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
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => dst.writable = false,
                    Err(e) => return Err(e),
                }
                continue;
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
            let got = match &self.pipe {
                Some((_, w)) => sys::splice(src.fd.as_fd(), w.as_fd(), PIPE_SIZE),
                None => sys::read(src.fd.as_fd(), scratch),
            };
            match got {
                Ok(0) => self.eof = true,
                Ok(n) if self.pipe.is_some() => self.in_pipe = n,
                Ok(n) => self.send_read(&scratch[..n], dst)?,
                Err(e) if e.kind() == ErrorKind::WouldBlock => src.readable = false,
                Err(e) => return Err(e),
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
