//! What the relay's integration tests share: loopback connection pairs, both modes.
#![allow(dead_code)] // each test file uses part of it

use std::net::{TcpListener, TcpStream};

use exaproxy_relay::Mode;

pub const MODES: [Mode; 2] = [Mode::Copy, Mode::Splice];

/// A connected pair: (the far end, the relay's end).
pub fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let far = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (near, _) = listener.accept().unwrap();
    (far, near)
}
