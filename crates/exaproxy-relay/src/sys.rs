//! The system calls the relay needs that `std` does not offer (epoll, eventfd, splice,
//! pipes, `dup` of a descriptor number, `SO_LINGER`), as safe functions: the crate's only
//! `unsafe` code.
//!
//! # Safety
//!
//! Every call here passes only descriptors the caller holds as `OwnedFd`/`BorrowedFd`
//! (so they are open for the whole call), buffers as Rust slices whose pointer and
//! length come from the slice itself (so the kernel reads or writes only memory the
//! slice owns), and plain integers. The one exception, [`dup`], takes a descriptor
//! *number* from the caller: `fcntl(F_DUPFD_CLOEXEC)` on a number that is not open
//! fails with `EBADF` and touches no memory, so it is sound for any number; that the
//! number is the socket the caller means is the caller's contract (see its docs).
//! Results are checked for -1 and turned into `io::Error` from `errno` at once.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `-1` → the `errno` error, anything else → the value.
fn check(ret: libc::c_long) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// A new descriptor for the open socket `fd` (close-on-exec), made non-blocking.
///
/// The caller keeps `fd` open and must not read or write it while the duplicate is in
/// use: both name the same socket.
pub fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: see the module docs; fcntl on any number is memory-safe.
    let new = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) } as libc::c_long)?;
    // SAFETY: `new` was just returned by the kernel as a fresh descriptor that nothing else owns.
    let owned = in_lower_part(unsafe { OwnedFd::from_raw_fd(new as RawFd) })?;
    set_nonblocking(owned.as_fd())?;
    Ok(owned)
}

/// Refuses (EMFILE) a descriptor numbered in the top quarter of RLIMIT_NOFILE. The kernel
/// gives the lowest free number, so such a number means three quarters are in use: the
/// rest is left to accept() and upstream connections (the caller relays in JavaScript).
fn in_lower_part(fd: OwnedFd) -> io::Result<OwnedFd> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the kernel writes one rlimit into `limit`, a local of that type.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } as libc::c_long)?;
    if (fd.as_raw_fd() as u64).saturating_mul(4) >= limit.rlim_cur.saturating_mul(3) {
        return Err(io::Error::from_raw_os_error(libc::EMFILE));
    }
    Ok(fd)
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fd` is borrowed, so open; F_GETFL/F_SETFL take and return integers only.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) } as libc::c_long)?;
    // SAFETY: as above.
    check(unsafe {
        libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETFL,
            flags as libc::c_int | libc::O_NONBLOCK,
        )
    } as libc::c_long)?;
    Ok(())
}

/// `read(2)` into `buf`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which we borrow mutably.
    check(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } as libc::c_long)
}

/// `send(2)` of `buf`, without SIGPIPE for a peer that has gone.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`, which we borrow.
    check(unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL,
        )
    } as libc::c_long)
}

/// `shutdown(2)`: `SHUT_WR` sends the FIN, `SHUT_RDWR` ends both ways.
pub fn shutdown(fd: BorrowedFd<'_>, how: libc::c_int) -> io::Result<()> {
    // SAFETY: integers only, on a borrowed (open) descriptor.
    check(unsafe { libc::shutdown(fd.as_raw_fd(), how) } as libc::c_long).map(drop)
}

pub use libc::{SHUT_RDWR, SHUT_WR};

/// `SO_LINGER` 0: the last close of the socket sends a reset instead of a FIN.
pub fn linger_zero(fd: BorrowedFd<'_>) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the kernel reads `size_of::<linger>()` bytes from `value`, a local of that type.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&value as *const libc::linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    } as libc::c_long)
    .map(drop)
}

/// A pipe for `splice(2)`: (read end, write end), non-blocking, close-on-exec, with room
/// for `size` bytes when the system allows it (the default is kept otherwise).
pub fn pipe(size: usize) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: the kernel writes two descriptors into `fds`, a local array of two.
    check(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }
            as libc::c_long,
    )?;
    // SAFETY: both were just returned by the kernel as fresh descriptors that nothing else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let w = in_lower_part(w)?;
    // SAFETY: integers only, on a descriptor we own. A refusal (pipe-max-size) keeps the default.
    let _ = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, size as libc::c_int) };
    Ok((r, w))
}

/// `splice(2)` of up to `len` bytes from `from` to `to` (one of them a pipe), non-blocking.
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
    // SAFETY: null offsets (the files' own positions are used); integers and open descriptors only.
    check(unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            flags,
        )
    } as libc::c_long)
}

/// An `eventfd` other threads write to to wake the relay thread.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: integers only.
    let fd =
        check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) } as libc::c_long)?;
    // SAFETY: a fresh descriptor from the kernel that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Adds 1 to an eventfd (wakes its reader).
pub fn wake(fd: BorrowedFd<'_>) {
    let one = 1u64.to_ne_bytes();
    // A full counter (EAGAIN) already wakes the reader: nothing to do on error.
    let _ = write_plain(fd, &one);
}

/// Resets an eventfd after a wake-up.
pub fn drain_eventfd(fd: BorrowedFd<'_>) {
    let mut count = [0u8; 8];
    let _ = read(fd, &mut count);
}

fn write_plain(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`, which we borrow.
    check(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) } as libc::c_long)
}

/// Readiness reported by [`Epoll::wait`].
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub token: u64,
    pub readable: bool,
    pub writable: bool,
}

/// An edge-triggered epoll instance.
pub struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    pub fn new(capacity: usize) -> io::Result<Epoll> {
        // SAFETY: integers only.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as libc::c_long)?;
        Ok(Epoll {
            // SAFETY: a fresh descriptor from the kernel that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd as RawFd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; capacity],
        })
    }

    fn ctl(&self, op: libc::c_int, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let flags = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        let mut event = libc::epoll_event {
            events: flags as u32,
            u64: token,
        };
        // SAFETY: the kernel reads one epoll_event from `event`, a local; descriptors are open.
        check(
            unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd.as_raw_fd(), &mut event) }
                as libc::c_long,
        )
        .map(drop)
    }

    /// Watches `fd` for reading and writing, edge-triggered, reported with `token`.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token)
    }

    /// Stops watching `fd`. Needed before closing it: another descriptor (Node's) names the
    /// same socket, so closing ours would not remove the registration.
    pub fn delete(&self, fd: BorrowedFd<'_>) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, 0);
    }

    /// Waits up to `timeout_ms` (-1: no limit) and returns the events.
    pub fn wait(&mut self, timeout_ms: i32) -> io::Result<impl Iterator<Item = Event> + '_> {
        let n = loop {
            // SAFETY: the kernel writes at most `events.len()` entries into `events`, which we own.
            let ret = unsafe {
                libc::epoll_wait(
                    self.fd.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    self.events.len() as libc::c_int,
                    timeout_ms,
                )
            };
            match check(ret as libc::c_long) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        Ok(self.events[..n].iter().map(|e| {
            let bits = e.events as libc::c_int;
            let broken = bits & (libc::EPOLLERR | libc::EPOLLHUP) != 0;
            Event {
                token: e.u64,
                readable: broken || bits & (libc::EPOLLIN | libc::EPOLLRDHUP) != 0,
                writable: broken || bits & libc::EPOLLOUT != 0,
            }
        }))
    }
}
