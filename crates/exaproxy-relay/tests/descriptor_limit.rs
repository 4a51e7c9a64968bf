//! The relay leaves the top quarter of RLIMIT_NOFILE to the caller. A test binary of its own:
//! it lowers its own limit (util-linux prlimit) and holds most of it.
#![cfg(target_os = "linux")]

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use exaproxy_relay::{Handover, Relay};

#[test]
fn descriptors_in_the_top_quarter_of_the_limit_are_refused() {
    let pid = std::process::id().to_string();
    let lowered = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=1024:"])
        .status()
        .unwrap();
    assert!(
        lowered.success(),
        "prlimit (util-linux) lowers the test's own limit"
    );
    let relay = Relay::spawn(|_| ()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (a, _) = listener.accept().unwrap();
    let _server = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    let handover = || Handover {
        a: a.as_raw_fd(),
        b: b.as_raw_fd(),
        ..Handover::default()
    };
    // Hold descriptors until the next free number is in the top quarter (768 of 1024).
    let mut held = Vec::new();
    while held.last().map_or(0, |f: &std::fs::File| f.as_raw_fd()) < 768 {
        held.push(std::fs::File::open("/dev/null").unwrap());
    }
    let err = relay.add(handover()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(24), "EMFILE");
    held.clear();
    assert!(relay.add(handover()).is_ok());
}
