//! Bodies (`Handover::body`) on real loopback TCP connections: client ⇄ [a | relay | b] ⇄
//! server, in both modes. A body moves exactly its length from `b` to `a`, then both
//! connections are the caller's again, with nothing of what follows read.
#![cfg(target_os = "linux")]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use exaproxy_relay::{Ended, Handover, Mode, Reason, Relay, Started};

mod common;
use common::{pair, MODES};

struct Setup {
    _relay: Relay,
    ended: Receiver<Ended>,
    client: TcpStream,
    server: TcpStream,
    /// The caller's own descriptors (Node's).
    held: (TcpStream, TcpStream),
}

fn setup(mode: Mode, first: &[u8], length: u64, idle: Option<Duration>) -> Setup {
    let (tx, ended) = channel();
    let relay =
        Relay::spawn(move |batch| batch.into_iter().for_each(|e| tx.send(e).unwrap())).unwrap();
    let (client, a) = pair();
    let (server, b) = pair();
    relay
        .add(Handover {
            a: a.as_raw_fd(),
            b: b.as_raw_fd(),
            first_to_a: first.to_vec(),
            body: Some(length),
            idle,
            mode,
            ..Handover::default()
        })
        .unwrap();
    for s in [&client, &server, &a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    }
    Setup {
        _relay: relay,
        ended,
        client,
        server,
        held: (a, b),
    }
}

fn wait_end(ended: &Receiver<Ended>) -> Ended {
    ended
        .recv_timeout(Duration::from_secs(30))
        .expect("the body's end is reported")
}

/// Deterministic bytes: position `i` of a body.
fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn body(from: u64, to: u64) -> Vec<u8> {
    (from..to).map(byte_at).collect()
}

#[test]
fn exactly_the_length_in_split_writes_then_both_connections_go_on() {
    for mode in MODES {
        let mut t = setup(mode, b"HEAD", 300_000, None);
        // In pieces with pauses, the last one followed by the next message's first bytes.
        for (from, to) in [(0, 1), (1, 70_000), (70_000, 299_990)] {
            t.server.write_all(&body(from, to)).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut last = body(299_990, 300_000);
        last.extend_from_slice(b"NEXT");
        t.server.write_all(&last).unwrap();
        let mut got = vec![0; 4 + 300_000];
        t.client.read_exact(&mut got).unwrap();
        assert_eq!(&got[..4], b"HEAD");
        assert!(got[4..] == body(0, 300_000), "{mode:?}: the body's bytes");
        let end = wait_end(&t.ended);
        assert_eq!(
            (end.a_to_b, end.b_to_a, end.reason),
            (0, 300_000, Reason::Done)
        );
        // What follows the body is still in the upstream socket, for the caller.
        let mut next = [0; 4];
        t.held.1.read_exact(&mut next).unwrap();
        assert_eq!(&next, b"NEXT");
        // Neither connection was ended: the caller writes on both.
        t.held.0.write_all(b"more").unwrap();
        t.client.read_exact(&mut next).unwrap();
        assert_eq!(&next, b"more");
        t.held.1.write_all(b"GET").unwrap();
        let mut three = [0; 3];
        t.server.read_exact(&mut three).unwrap();
        assert_eq!(&three, b"GET");
    }
}

#[test]
fn fifty_megabytes_arrive_exactly() {
    const SIZE: u64 = 50 * 1024 * 1024;
    for mode in MODES {
        let mut t = setup(mode, b"", SIZE, None);
        let mut server = t.server.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let mut at = 0;
            while at < SIZE {
                let to = (at + 100_000).min(SIZE);
                server.write_all(&body(at, to)).unwrap();
                at = to;
            }
        });
        let mut buf = vec![0; 70_000];
        let mut at = 0;
        while at < SIZE {
            let n = t.client.read(&mut buf).unwrap();
            assert!(n > 0, "{mode:?}: ended at {at}");
            assert!(
                buf[..n] == body(at, at + n as u64),
                "{mode:?}: byte at {at}"
            );
            at += n as u64;
        }
        sender.join().unwrap();
        let end = wait_end(&t.ended);
        assert_eq!((end.b_to_a, end.reason), (SIZE, Reason::Done));
    }
}

#[test]
fn a_server_ending_before_the_length_is_broken_and_the_client_gets_a_reset() {
    for mode in MODES {
        let mut t = setup(mode, b"HEAD", 1000, None);
        t.server.write_all(&body(0, 10)).unwrap();
        drop(t.server);
        let end = wait_end(&t.ended);
        assert_eq!((end.b_to_a, end.reason), (10, Reason::Broken), "{mode:?}");
        let mut got = [0; 14];
        t.client.read_exact(&mut got).unwrap();
        drop(t.held);
        let err = t
            .client
            .read_to_end(&mut Vec::new())
            .expect_err("a reset, not a clean end");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    }
}

#[test]
fn a_client_that_resets_ends_the_body_as_broken() {
    for mode in MODES {
        let t = setup(mode, b"", 64 << 20, None);
        // Closing with unread input sends a reset, as a crashed client does.
        (&t.client).write_all(b"unread").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(t.client);
        let mut server = t.server.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let block = body(0, 64 * 1024);
            while server.write_all(&block).is_ok() {}
        });
        let end = wait_end(&t.ended);
        assert_eq!(end.reason, Reason::Broken, "{mode:?}");
        drop(t.held);
        sender.join().unwrap();
    }
}

#[test]
fn an_idle_body_is_ended_with_a_reset() {
    let mut t = setup(Mode::Copy, b"", 100, Some(Duration::from_millis(300)));
    t.server.write_all(b"x").unwrap();
    let end = wait_end(&t.ended);
    assert_eq!((end.b_to_a, end.reason), (1, Reason::Idle));
    drop(t.held);
    let mut rest = Vec::new();
    let err = t.client.read_to_end(&mut rest).expect_err("a reset");
    assert_eq!(
        (rest.as_slice(), err.kind()),
        (&b"x"[..], ErrorKind::ConnectionReset)
    );
}

#[test]
fn add_body_moves_a_body_already_in_the_kernel_at_once_and_queues_the_rest() {
    for mode in MODES {
        let (tx, ended) = channel();
        let relay =
            Relay::spawn(move |batch| batch.into_iter().for_each(|e| tx.send(e).unwrap())).unwrap();
        let (mut client, a) = pair();
        let (mut server, b) = pair();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let handover = |length: u64| Handover {
            a: a.as_raw_fd(),
            b: b.as_raw_fd(),
            first_to_a: b"HEAD".to_vec(),
            body: Some(length),
            mode,
            ..Handover::default()
        };
        // The whole body waits in the upstream socket: moved during the call, nothing reported.
        server.write_all(&body(0, 50_000)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        match relay.add_body(handover(50_000)).unwrap() {
            Started::Done(end) => assert_eq!((end.b_to_a, end.reason), (50_000, Reason::Done)),
            other => panic!("{mode:?}: {other:?}"),
        }
        let mut got = vec![0; 50_004];
        client.read_exact(&mut got).unwrap();
        assert!(got[4..] == body(0, 50_000), "{mode:?}");
        assert!(ended.recv_timeout(Duration::from_millis(100)).is_err());
        // Half of it now, half later: the relay thread finishes it and reports it.
        server.write_all(&body(0, 30_000)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let Started::Queued(id) = relay.add_body(handover(60_000)).unwrap() else {
            panic!("{mode:?}: the body is not all there yet");
        };
        server.write_all(&body(30_000, 60_000)).unwrap();
        let mut got = vec![0; 60_004];
        client.read_exact(&mut got).unwrap();
        assert!(got[4..] == body(0, 60_000), "{mode:?}");
        let end = wait_end(&ended);
        assert_eq!((end.id, end.b_to_a, end.reason), (id, 60_000, Reason::Done));
    }
}
