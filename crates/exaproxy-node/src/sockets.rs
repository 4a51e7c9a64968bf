//! Socket options Node has no API for, on a descriptor Node owns: the destination a
//! connection had before nftables/iptables redirected it (`SO_ORIGINAL_DST`), and a
//! listening socket that accepts connections Linux TPROXY delivers (`IP_TRANSPARENT`).
//! Both are Linux only; elsewhere there is no original destination and no transparent
//! socket (the caller says so before asking).
//!
//! # Safety
//!
//! The `unsafe` lines are system calls through `libc`, each given a pointer to a local
//! value of the size it is told, so the kernel writes nothing beyond it. They work on a
//! descriptor number from JS: `getsockopt` on a number that is not an open socket fails
//! with an error and changes nothing, so no value of `fd` can make it unsound.
//! `fcntl(F_DUPFD_CLOEXEC)` on such a number fails the same way. `transparent_socket`
//! closes the socket it made when a later step fails, and otherwise gives it away (Node
//! then owns and closes it).

use napi::{Env, Result};
use napi_derive::napi;

use crate::args::Number;

/// The address and port a redirected connection was sent to before NAT, as `ip:port`
/// (`[ip]:port` for IPv6), or null when the system knows none (not Linux, not tracked by
/// conntrack, not a socket). A connection that was not redirected gives its own local
/// address: the caller compares.
#[napi(js_name = "originalDestination")]
pub fn original_destination(env: Env, fd: Number) -> Result<Option<String>> {
    let fd = fd.get(&env, "fd")?;
    Ok(os::original_destination(fd).map(|a| a.to_string()))
}

/// A TCP socket bound to `host:port` with `IP_TRANSPARENT` (`IPV6_TRANSPARENT`), not yet
/// listening: Node listens on it through `{ fd }`. → the descriptor (≥ 0), or `-errno`
/// (`EPERM` without CAP_NET_ADMIN, `EADDRINUSE`, `EINVAL` for a host that is not an
/// address, `ENOSYS` on a system without TPROXY).
#[napi(js_name = "transparentSocket")]
pub fn transparent_socket(env: Env, host: String, port: Number) -> Result<i32> {
    let port = port.get(&env, "port")?;
    let Ok(port) = u16::try_from(port) else {
        return Ok(-22); // EINVAL
    };
    let Ok(ip) = host.parse::<std::net::IpAddr>() else {
        return Ok(-22);
    };
    Ok(os::transparent_socket(std::net::SocketAddr::new(ip, port)))
}

/// A second descriptor for the socket `fd` (close-on-exec), or `-errno`: each worker is given
/// its own, so a worker closing its copy never closes the one kept for the next.
#[napi(js_name = "duplicateSocket")]
pub fn duplicate_socket(env: Env, fd: Number) -> Result<i32> {
    let fd = fd.get(&env, "fd")?;
    Ok(os::duplicate(fd))
}

#[cfg(target_os = "linux")]
mod os {
    use std::io::Error;
    use std::mem::size_of;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    use libc::{c_int, c_void, socklen_t};

    fn errno() -> i32 {
        Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
    }

    fn sockaddr_in(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
        libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        }
    }

    fn sockaddr_in6(ip: Ipv6Addr, port: u16) -> libc::sockaddr_in6 {
        libc::sockaddr_in6 {
            sin6_family: libc::AF_INET6 as libc::sa_family_t,
            sin6_port: port.to_be(),
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr {
                s6_addr: ip.octets(),
            },
            sin6_scope_id: 0,
        }
    }

    /// `getsockopt(fd, level, name)` into `value`; true when the kernel filled it.
    fn get<T>(fd: c_int, level: c_int, name: c_int, value: &mut T) -> bool {
        let mut len = size_of::<T>() as socklen_t;
        // SAFETY: `value` is a live local of `len` bytes (module docs); any `fd` is fine.
        let r = unsafe {
            libc::getsockopt(
                fd,
                level,
                name,
                (value as *mut T).cast::<c_void>(),
                &mut len,
            )
        };
        r == 0 && len as usize == size_of::<T>()
    }

    /// `setsockopt(fd, level, name, 1)`; 0 or the errno.
    fn enable(fd: c_int, level: c_int, name: c_int) -> i32 {
        let one: c_int = 1;
        // SAFETY: a pointer to a local c_int and its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&one as *const c_int).cast::<c_void>(),
                size_of::<c_int>() as socklen_t,
            )
        };
        if r == 0 {
            0
        } else {
            errno()
        }
    }

    pub fn original_destination(fd: u32) -> Option<SocketAddr> {
        let fd = c_int::try_from(fd).ok()?;
        let mut v4 = sockaddr_in(Ipv4Addr::UNSPECIFIED, 0);
        if get(fd, libc::SOL_IP, libc::SO_ORIGINAL_DST, &mut v4) {
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            return Some(SocketAddr::new(ip.into(), u16::from_be(v4.sin_port)));
        }
        let mut v6 = sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
        if get(fd, libc::SOL_IPV6, libc::IP6T_SO_ORIGINAL_DST, &mut v6) {
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            return Some(SocketAddr::new(ip.into(), u16::from_be(v6.sin6_port)));
        }
        None
    }

    pub fn duplicate(fd: u32) -> i32 {
        let Ok(fd) = c_int::try_from(fd) else {
            return -libc::EBADF;
        };
        // SAFETY: no pointer; a number that is not an open descriptor fails with EBADF.
        let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if r < 0 {
            -errno()
        } else {
            r
        }
    }

    pub fn transparent_socket(at: SocketAddr) -> i32 {
        let family = if at.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: no pointer; the result is checked.
        let fd = unsafe {
            libc::socket(
                family,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if fd < 0 {
            return -errno();
        }
        let failed = configure(fd, at);
        if failed != 0 {
            // SAFETY: `fd` is the socket made above, not given to anyone yet.
            unsafe { libc::close(fd) };
            return -failed;
        }
        fd
    }

    /// Options, then bind; 0 or the errno of the step that failed.
    fn configure(fd: c_int, at: SocketAddr) -> i32 {
        let steps = match at {
            SocketAddr::V4(_) => [
                (libc::SOL_SOCKET, libc::SO_REUSEADDR),
                (libc::SOL_IP, libc::IP_TRANSPARENT),
                (0, 0),
            ],
            SocketAddr::V6(_) => [
                (libc::SOL_SOCKET, libc::SO_REUSEADDR),
                (libc::SOL_IPV6, libc::IPV6_TRANSPARENT),
                (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
            ],
        };
        for (level, name) in steps.into_iter().filter(|&(_, n)| n != 0) {
            let e = enable(fd, level, name);
            if e != 0 {
                return e;
            }
        }
        // SAFETY: pointers to a local sockaddr and its size.
        let r = unsafe {
            match at {
                SocketAddr::V4(a) => {
                    let sa = sockaddr_in(*a.ip(), a.port());
                    libc::bind(
                        fd,
                        (&sa as *const libc::sockaddr_in).cast(),
                        size_of::<libc::sockaddr_in>() as socklen_t,
                    )
                }
                SocketAddr::V6(a) => {
                    let sa = sockaddr_in6(*a.ip(), a.port());
                    libc::bind(
                        fd,
                        (&sa as *const libc::sockaddr_in6).cast(),
                        size_of::<libc::sockaddr_in6>() as socklen_t,
                    )
                }
            }
        };
        if r == 0 {
            0
        } else {
            errno()
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use std::net::SocketAddr;

    pub fn original_destination(_fd: u32) -> Option<SocketAddr> {
        None
    }

    pub fn transparent_socket(_at: SocketAddr) -> i32 {
        -38 // ENOSYS, as Linux numbers it: the caller names the platform itself
    }

    pub fn duplicate(_fd: u32) -> i32 {
        -38
    }
}
