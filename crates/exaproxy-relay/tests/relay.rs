//! The relay on real loopback TCP connections: client ⇄ [a | relay | b] ⇄ server, in both
//! modes. `a` and `b` stay open here until the end is reported, as Node keeps its own.
#![cfg(target_os = "linux")]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use exaproxy_relay::{Ended, Handover, Mode, Reason, Relay};

mod common;
use common::{pair, MODES};

struct Setup {
    relay: Relay,
    ended: Receiver<Ended>,
    client: TcpStream,
    server: TcpStream,
    /// The caller's own descriptors (Node's), closed once the end is reported.
    held: (TcpStream, TcpStream),
    id: u64,
}

fn setup(mode: Mode, first_to_a: &[u8], first_to_b: &[u8], idle: Option<Duration>) -> Setup {
    let (tx, ended) = channel();
    let relay =
        Relay::spawn(move |batch| batch.into_iter().for_each(|e| tx.send(e).unwrap())).unwrap();
    let (client, a) = pair();
    let (server, b) = pair();
    let id = relay
        .add(Handover {
            a: a.as_raw_fd(),
            b: b.as_raw_fd(),
            first_to_a: first_to_a.to_vec(),
            first_to_b: first_to_b.to_vec(),
            idle,
            mode,
            ..Handover::default()
        })
        .unwrap();
    for s in [&client, &server] {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    }
    Setup {
        relay,
        ended,
        client,
        server,
        held: (a, b),
        id,
    }
}

impl Setup {
    fn wait_end(&self) -> Ended {
        self.ended
            .recv_timeout(Duration::from_secs(20))
            .expect("the tunnel's end is reported")
    }
}

fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    all
}

/// Deterministic bytes: position `i` of a stream.
fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

#[test]
fn bytes_both_ways_with_split_writes_and_the_first_bytes_before_them() {
    for mode in MODES {
        let mut t = setup(
            mode,
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"GET / HTTP/1.1\r\n",
            None,
        );
        for piece in [&b"Host: x\r\n"[..], b"\r", b"\n", b"body"] {
            t.client.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut got = vec![0; 31];
        t.server.read_exact(&mut got).unwrap();
        assert_eq!(got, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody");
        t.server.write_all(b"answer").unwrap();
        let mut got = vec![0; 25];
        t.client.read_exact(&mut got).unwrap();
        assert_eq!(got, b"HTTP/1.1 200 OK\r\n\r\nanswer");
        t.client.shutdown(Shutdown::Write).unwrap();
        t.server.shutdown(Shutdown::Write).unwrap();
        let end = t.wait_end();
        assert_eq!(
            (end.id, end.a_to_b, end.b_to_a, end.reason),
            (t.id, 15, 6, Reason::Done),
            "{mode:?}"
        );
    }
}

#[test]
fn half_close_from_the_client_then_from_the_server() {
    for mode in MODES {
        let mut t = setup(mode, b"", b"", None);
        t.client.write_all(b"request").unwrap();
        t.client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            read_to_end(&mut t.server),
            b"request",
            "{mode:?}: the FIN follows the bytes"
        );
        // The other way is still open.
        t.server.write_all(b"late answer").unwrap();
        t.server.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_to_end(&mut t.client), b"late answer");
        assert_eq!(t.wait_end().reason, Reason::Done);
    }
}

#[test]
fn half_close_from_the_server_first() {
    for mode in MODES {
        let mut t = setup(mode, b"", b"", None);
        t.server.write_all(b"banner").unwrap();
        t.server.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_to_end(&mut t.client), b"banner", "{mode:?}");
        t.client.write_all(b"still heard").unwrap();
        t.client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_to_end(&mut t.server), b"still heard");
        let end = t.wait_end();
        assert_eq!((end.a_to_b, end.b_to_a, end.reason), (11, 6, Reason::Done));
    }
}

#[test]
fn a_client_ended_before_the_handover_gets_its_fin_passed_on() {
    let (tx, ended) = channel();
    let relay = Relay::spawn(move |b| b.into_iter().for_each(|e| tx.send(e).unwrap())).unwrap();
    let (mut client, a) = pair();
    let (mut server, b) = pair();
    client.write_all(b"last words").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut first = vec![0; 10];
    (&a).read_exact(&mut first).unwrap();
    let handover = Handover {
        a: a.as_raw_fd(),
        b: b.as_raw_fd(),
        first_to_b: first,
        a_ended: true,
        ..Handover::default()
    };
    relay.add(handover).unwrap();
    assert_eq!(read_to_end(&mut server), b"last words");
    server.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"");
    let end = ended.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!((end.a_to_b, end.reason), (0, Reason::Done));
}

/// 100 MB each way at once, every byte checked, through a reader that starts slowly.
#[test]
fn one_hundred_megabytes_each_way_arrive_exactly() {
    const SIZE: u64 = 100 * 1024 * 1024;
    for mode in MODES {
        let t = setup(mode, b"", b"", None);
        let send = |mut s: TcpStream| {
            std::thread::spawn(move || {
                let mut block = vec![0; 100_000];
                let mut at = 0;
                while at < SIZE {
                    let n = (SIZE - at).min(block.len() as u64) as usize;
                    block[..n]
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, b)| *b = byte_at(at + i as u64));
                    s.write_all(&block[..n]).unwrap();
                    at += n as u64;
                }
                s.shutdown(Shutdown::Write).unwrap();
            })
        };
        let check = |mut s: TcpStream| {
            std::thread::spawn(move || {
                let mut buf = vec![0; 70_000];
                let mut at = 0;
                loop {
                    if at < 4 << 20 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        return at;
                    }
                    assert!(
                        buf[..n]
                            .iter()
                            .enumerate()
                            .all(|(i, &b)| b == byte_at(at + i as u64)),
                        "byte at {at}"
                    );
                    at += n as u64;
                }
            })
        };
        let senders = [
            send(t.client.try_clone().unwrap()),
            send(t.server.try_clone().unwrap()),
        ];
        let checkers = [
            check(t.client.try_clone().unwrap()),
            check(t.server.try_clone().unwrap()),
        ];
        senders.into_iter().for_each(|s| s.join().unwrap());
        for c in checkers {
            assert_eq!(c.join().unwrap(), SIZE, "{mode:?}");
        }
        let end = t.wait_end();
        assert_eq!(
            (end.a_to_b, end.b_to_a, end.reason),
            (SIZE, SIZE, Reason::Done)
        );
    }
}

/// A reader that stops reading holds the writer back: the relay does not buffer for it.
#[test]
fn a_reader_that_stops_holds_the_writer_back() {
    for mode in MODES {
        let t = setup(mode, b"", b"", None);
        t.client.set_nonblocking(true).unwrap();
        let block = vec![7u8; 64 * 1024];
        let mut written = 0usize;
        let mut stalls = 0;
        // Write until the writes have been refused for a while: everything in between is in
        // the kernel's socket buffers and at most one read's worth in the relay.
        while stalls < 50 {
            match (&t.client).write(&block) {
                Ok(n) => {
                    written += n;
                    stalls = 0;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    stalls += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("{e}"),
            }
            assert!(
                written < 64 << 20,
                "{mode:?}: {written} bytes accepted without a reader"
            );
        }
        t.relay.close(t.id);
        assert_eq!(t.wait_end().reason, Reason::Closed);
    }
}

#[test]
fn a_reset_mid_stream_ends_the_tunnel_as_broken_and_resets_the_other_side() {
    for mode in MODES {
        let mut t = setup(mode, b"", b"", None);
        t.server.write_all(b"partial").unwrap();
        let mut got = [0; 7];
        t.client.read_exact(&mut got).unwrap();
        // Closing with unread input sends a reset, as a crashed peer does.
        t.client.write_all(b"never read").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(t.server);
        let end = t.ended.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!((end.b_to_a, end.reason), (7, Reason::Broken), "{mode:?}");
        drop(t.held);
        let mut rest = Vec::new();
        let err = t
            .client
            .read_to_end(&mut rest)
            .expect_err("a reset, not a clean end");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    }
}

#[test]
fn an_idle_tunnel_is_ended_with_a_fin_both_ways() {
    let mut t = setup(Mode::Copy, b"", b"", Some(Duration::from_millis(300)));
    t.client.write_all(b"x").unwrap();
    let end = t.wait_end();
    assert_eq!((end.a_to_b, end.reason), (1, Reason::Idle));
    assert_eq!(read_to_end(&mut t.client), b"");
    let mut one = [0; 1];
    t.server.read_exact(&mut one).unwrap();
    assert_eq!(read_to_end(&mut t.server), b"");
}

#[test]
fn close_ends_a_tunnel_and_unknown_ids_are_ignored() {
    let mut t = setup(Mode::Splice, b"", b"", None);
    t.relay.close(t.id + 1000);
    t.relay.close(t.id);
    assert_eq!(t.wait_end().reason, Reason::Closed);
    assert_eq!(read_to_end(&mut t.client), b"");
    assert!(
        t.ended.recv_timeout(Duration::from_millis(100)).is_err(),
        "reported once"
    );
}
