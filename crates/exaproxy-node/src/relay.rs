//! The native tunnel relay (`exaproxy-relay`) as four calls: `relayInit` once per
//! process with the function the ended tunnels are reported to, `relayStart` per tunnel
//! with the two sockets' descriptors, `relayBody` per response body taken whole,
//! `relayClose` to end either early.
//!
//! The relay thread reports through a weak threadsafe function (it does not keep the
//! process alive), one call per batch: a flat array `[id, aToB, bToA, reason, …]`.

#[cfg(target_os = "linux")]
use std::sync::Mutex;

use napi::bindgen_prelude::Function;
#[cfg(target_os = "linux")]
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::args::{Buffer, Number};

#[cfg(target_os = "linux")]
static RELAY: Mutex<Option<exaproxy_relay::Relay>> = Mutex::new(None);

/// Whether this build can relay natively (Linux).
#[napi(js_name = "relayAvailable")]
pub fn relay_available() -> bool {
    cfg!(target_os = "linux")
}

/// Starts the relay thread. `onEnded` receives `[id, clientToUpstream, upstreamToClient, reason, …]`
/// (reason: 0 both sides ended, 1 idle, 2 closed by relayClose, 3 broken by a reset or error).
/// A second call replaces the relay (its tunnels are closed and reported).
#[napi(js_name = "relayInit")]
pub fn relay_init(on_ended: Function<'_, Vec<f64>, ()>) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use exaproxy_relay::Relay;
        let tsfn = on_ended
            .build_threadsafe_function()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        let relay = Relay::spawn(move |ended| {
            let flat = ended
                .iter()
                .flat_map(|e| {
                    [
                        e.id as f64,
                        e.a_to_b as f64,
                        e.b_to_a as f64,
                        e.reason as u8 as f64,
                    ]
                })
                .collect();
            tsfn.call(flat, ThreadsafeFunctionCallMode::NonBlocking);
        })
        .map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("the relay thread could not start: {e}"),
            )
        })?;
        let old = RELAY
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(relay);
        drop(old);
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = on_ended;
        Err(needs_linux())
    }
}

/// Hands a tunnel to the relay: `clientFd` and `upstreamFd` are duplicated (the caller
/// keeps its descriptors open, reads and writes neither, and closes them once the end is
/// reported); `toClient` and `toUpstream` are written first; `clientEnded` passes the
/// client's FIN on after them; `idleMs` 0 is no limit. → the tunnel id (> 0), or -errno when
/// no descriptor could be had (relay it in JavaScript then). `splice` moves the bytes with
/// splice(2) through two pipes instead of copying them through the relay's buffer.
#[napi(js_name = "relayStart")]
#[allow(clippy::too_many_arguments)]
pub fn relay_start(
    env: Env,
    client_fd: Number,
    upstream_fd: Number,
    to_client: Buffer<'_>,
    to_upstream: Buffer<'_>,
    client_ended: bool,
    idle_ms: Number,
    splice: bool,
) -> Result<f64> {
    let a = client_fd.get(&env, "clientFd")?;
    let b = upstream_fd.get(&env, "upstreamFd")?;
    let first_to_a = to_client.get(&env, "toClient")?.to_vec();
    let first_to_b = to_upstream.get(&env, "toUpstream")?.to_vec();
    let idle = idle_ms.get(&env, "idleMs")?;
    #[cfg(target_os = "linux")]
    {
        let handover = exaproxy_relay::Handover {
            a: a as i32,
            b: b as i32,
            first_to_a,
            first_to_b,
            a_ended: client_ended,
            b_ended: false,
            mode: mode(splice),
            idle: idle_limit(idle),
            body: None,
        };
        add(handover)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b, first_to_a, first_to_b, client_ended, idle, splice);
        Err(needs_linux())
    }
}

/// Hands a response body to the relay: `toClient` (the head, the body bytes already read),
/// then exactly `length` bytes read from `upstreamFd` written to `clientFd`. Nothing is
/// read from the client, no FIN is sent, nothing after the body is read: once the end is
/// reported (reason 0, `upstreamToClient` = `length`) the caller reads and writes both
/// sockets again. Any other end (the upstream closing early, a reset, the idle limit,
/// relayClose) resets both. What can be moved at once is moved during the call: → 0 when
/// that was the whole body (nothing is reported for it), else the id (> 0), or -errno as
/// relayStart.
#[napi(js_name = "relayBody")]
pub fn relay_body(
    env: Env,
    client_fd: Number,
    upstream_fd: Number,
    to_client: Buffer<'_>,
    length: f64,
    idle_ms: Number,
    splice: bool,
) -> Result<f64> {
    let a = client_fd.get(&env, "clientFd")?;
    let b = upstream_fd.get(&env, "upstreamFd")?;
    let first_to_a = to_client.get(&env, "toClient")?.to_vec();
    // A body may pass 4 GiB: the length comes as a double, whole and exact (below 2^53).
    if !((1.0..=9_007_199_254_740_991.0).contains(&length) && length.fract() == 0.0) {
        return Err(Error::new(
            Status::InvalidArg,
            "length must be a whole number of bytes, at least 1",
        ));
    }
    let length = length as u64;
    let idle = idle_ms.get(&env, "idleMs")?;
    #[cfg(target_os = "linux")]
    {
        let handover = exaproxy_relay::Handover {
            a: a as i32,
            b: b as i32,
            first_to_a,
            body: Some(length),
            mode: mode(splice),
            idle: idle_limit(idle),
            ..exaproxy_relay::Handover::default()
        };
        with_relay(|relay| match relay.add_body(handover) {
            Ok(exaproxy_relay::Started::Done(_)) => 0.0,
            Ok(exaproxy_relay::Started::Queued(id)) => id as f64,
            Err(e) => -errno(&e),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b, first_to_a, length, idle, splice);
        Err(needs_linux())
    }
}

/// Adds a tunnel to the relay. → its id, or -errno.
#[cfg(target_os = "linux")]
fn add(handover: exaproxy_relay::Handover) -> Result<f64> {
    with_relay(|relay| match relay.add(handover) {
        Ok(id) => id as f64,
        Err(e) => -errno(&e),
    })
}

/// `f` with the relay relayInit started.
#[cfg(target_os = "linux")]
fn with_relay(f: impl FnOnce(&exaproxy_relay::Relay) -> f64) -> Result<f64> {
    let guard = RELAY.lock().unwrap_or_else(|p| p.into_inner());
    let relay = guard
        .as_ref()
        .ok_or_else(|| Error::new(Status::GenericFailure, "relayInit was not called"))?;
    Ok(f(relay))
}

#[cfg(target_os = "linux")]
fn errno(e: &std::io::Error) -> f64 {
    f64::from(e.raw_os_error().unwrap_or(1))
}

#[cfg(target_os = "linux")]
fn mode(splice: bool) -> exaproxy_relay::Mode {
    if splice {
        exaproxy_relay::Mode::Splice
    } else {
        exaproxy_relay::Mode::Copy
    }
}

/// `idleMs` as the relay takes it: 0 is no limit.
#[cfg(target_os = "linux")]
fn idle_limit(ms: u32) -> Option<std::time::Duration> {
    (ms > 0).then(|| std::time::Duration::from_millis(ms.into()))
}

#[cfg(not(target_os = "linux"))]
fn needs_linux() -> Error {
    Error::new(Status::GenericFailure, "the native relay needs Linux")
}

/// Ends tunnel `id` (FIN both ways); it is reported with reason 2 unless it had ended.
#[napi(js_name = "relayClose")]
pub fn relay_close(id: f64) {
    #[cfg(target_os = "linux")]
    if let Some(relay) = RELAY.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        relay.close(id as u64);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = id;
}
