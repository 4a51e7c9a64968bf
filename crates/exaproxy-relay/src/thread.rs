//! The relay thread and its handle: tunnels are added and closed from any thread
//! through a command queue and an eventfd; the thread reports the ended tunnels in
//! batches (one call per epoll wake-up, whatever number ended in it).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::flow::Shared as Buffers;
use crate::sys::{self, Epoll};
use crate::tunnel::{Ended, Handover, Reason, Tunnel};

/// The shared copy buffer: one read's worth, the most a direction keeps.
const SCRATCH: usize = 256 * 1024;
/// The token of the wake-up eventfd (tunnels use `slot * 2 + side`).
const WAKE: u64 = u64::MAX;
/// How often idle tunnels are looked for (the idle limits are in seconds).
const IDLE_TICK: Duration = Duration::from_millis(500);

enum Command {
    /// Boxed: a tunnel is far larger than the other commands.
    Add(Box<Tunnel>),
    /// A body that ended on the caller's thread other than `Done`: reported with the others.
    Report(Ended),
    Close(u64),
    Stop,
}

struct Shared {
    commands: Mutex<Vec<Command>>,
    wake: OwnedFd,
}

impl Shared {
    fn send(&self, command: Command) {
        self.commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(command);
        sys::wake(self.wake.as_fd());
    }
}

/// A running relay thread. Dropping it ends every tunnel (FIN both ways) and the thread.
pub struct Relay {
    shared: Arc<Shared>,
    next_id: AtomicU64,
    thread: Option<JoinHandle<()>>,
    /// The buffers of bodies started on the caller's thread (`add_body`).
    local: Mutex<Buffers>,
}

/// Where a body went (`Relay::add_body`).
#[derive(Debug, PartialEq, Eq)]
pub enum Started {
    /// Moved whole on the caller's thread: nothing is reported for it.
    Done(Ended),
    /// With the relay thread under this id, reported when it ends.
    Queued(u64),
}

impl Relay {
    /// Starts the thread; `report` is called on it with the tunnels that ended.
    pub fn spawn(report: impl FnMut(Vec<Ended>) + Send + 'static) -> io::Result<Relay> {
        let shared = Arc::new(Shared {
            commands: Mutex::new(Vec::new()),
            wake: sys::eventfd()?,
        });
        let epoll = Epoll::new(256)?;
        epoll.add(shared.wake.as_fd(), WAKE)?;
        let looped = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("exaproxy-relay".into())
            .spawn(move || Loop::new(epoll, looped, report).run())?;
        Ok(Relay {
            shared,
            next_id: AtomicU64::new(1),
            thread: Some(thread),
            local: Mutex::new(Buffers::new(SCRATCH)),
        })
    }

    /// Hands a body over (`Handover::body`), moving what can be moved at once on the
    /// caller's thread first: a body already in the kernel's buffers then costs no thread
    /// wake-up at all. What is left goes to the relay thread, as `add` does.
    pub fn add_body(&self, handover: Handover) -> io::Result<Started> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut tunnel = Tunnel::new(id, handover)?;
        let ended = {
            let mut buffers = self.local.lock().unwrap_or_else(|p| p.into_inner());
            tunnel.pump(&mut buffers)
        };
        Ok(match ended {
            None => {
                self.shared.send(Command::Add(Box::new(tunnel)));
                Started::Queued(id)
            }
            Some(Reason::Done) => Started::Done(tunnel.end(Reason::Done)),
            Some(reason) => {
                self.shared.send(Command::Report(tunnel.end(reason)));
                Started::Queued(id)
            }
        })
    }

    /// Hands a tunnel over. → its id, or the error (no descriptor or pipe left: the
    /// caller relays it itself).
    pub fn add(&self, handover: Handover) -> io::Result<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tunnel = Tunnel::new(id, handover)?;
        self.shared.send(Command::Add(Box::new(tunnel)));
        Ok(id)
    }

    /// Ends tunnel `id` (FIN both ways); it is reported with `Reason::Closed` unless it
    /// had already ended. Unknown ids are ignored.
    pub fn close(&self, id: u64) {
        self.shared.send(Command::Close(id));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Loop<R> {
    epoll: Epoll,
    shared: Arc<Shared>,
    report: R,
    slots: Vec<Option<Tunnel>>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
    buffers: Buffers,
    ended: Vec<Ended>,
}

impl<R: FnMut(Vec<Ended>)> Loop<R> {
    fn new(epoll: Epoll, shared: Arc<Shared>, report: R) -> Self {
        Loop {
            epoll,
            shared,
            report,
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            buffers: Buffers::new(SCRATCH),
            ended: Vec::new(),
        }
    }

    fn run(mut self) {
        let mut events = Vec::new();
        let mut next_idle_check = Instant::now() + IDLE_TICK;
        loop {
            let watching_idle = self.slots.iter().flatten().any(Tunnel::has_idle_limit);
            let timeout = if watching_idle {
                IDLE_TICK.as_millis() as i32
            } else {
                -1
            };
            events.clear();
            let waited = self.epoll.wait(timeout).map(|ready| events.extend(ready));
            if waited.is_err() {
                // Not expected from epoll_wait on a valid instance: end every tunnel rather than spin.
                return self.stop();
            }
            for event in &events {
                if event.token == WAKE {
                    sys::drain_eventfd(self.shared.wake.as_fd());
                    if !self.commands() {
                        return self.stop();
                    }
                    continue;
                }
                let slot = (event.token / 2) as usize;
                if let Some(tunnel) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                    tunnel.ready((event.token % 2) as usize, event.readable, event.writable);
                    self.pump(slot);
                }
            }
            let now = Instant::now();
            if watching_idle && now >= next_idle_check {
                next_idle_check = now + IDLE_TICK;
                let idle: Vec<usize> = (0..self.slots.len())
                    .filter(|&s| self.slots[s].as_ref().is_some_and(|t| t.idle_at(now)))
                    .collect();
                for slot in idle {
                    self.finish(slot, Reason::Idle);
                }
            }
            if !self.ended.is_empty() {
                (self.report)(std::mem::take(&mut self.ended));
            }
        }
    }

    /// Runs the queued commands; false on `Stop`.
    fn commands(&mut self) -> bool {
        let commands = std::mem::take(
            &mut *self
                .shared
                .commands
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for command in commands {
            match command {
                Command::Add(tunnel) => self.add(*tunnel),
                Command::Report(ended) => self.ended.push(ended),
                Command::Close(id) => {
                    if let Some(&slot) = self.by_id.get(&id) {
                        self.finish(slot, Reason::Closed);
                    }
                }
                Command::Stop => return false,
            }
        }
        true
    }

    fn add(&mut self, tunnel: Tunnel) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let registered = tunnel
            .sides()
            .iter()
            .enumerate()
            .try_for_each(|(side, s)| self.epoll.add(s.fd.as_fd(), (slot * 2 + side) as u64));
        self.by_id.insert(tunnel.id, slot);
        self.slots[slot] = Some(tunnel);
        match registered {
            Ok(()) => self.pump(slot),
            Err(_) => self.finish(slot, Reason::Broken),
        }
    }

    fn pump(&mut self, slot: usize) {
        let tunnel = self.slots[slot].as_mut().expect("a live slot");
        if let Some(reason) = tunnel.pump(&mut self.buffers) {
            self.finish(slot, reason);
        }
    }

    fn finish(&mut self, slot: usize, reason: Reason) {
        let Some(tunnel) = self.slots[slot].take() else {
            return;
        };
        for side in tunnel.sides() {
            self.epoll.delete(side.fd.as_fd());
        }
        self.by_id.remove(&tunnel.id);
        self.free.push(slot);
        self.ended.push(tunnel.end(reason));
    }

    fn stop(mut self) {
        for slot in 0..self.slots.len() {
            self.finish(slot, Reason::Closed);
        }
        if !self.ended.is_empty() {
            (self.report)(std::mem::take(&mut self.ended));
        }
    }
}
