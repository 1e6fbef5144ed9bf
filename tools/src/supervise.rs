//! `gnosis supervise`: a watcher that keeps console connections open while
//! the world behind them crashes and restarts.
//!
//! The watcher owns the listening socket and every client connection; the
//! world runs in a child `gnosis run`, which gets each connection as a file
//! descriptor over a [`handoff`](crate::handoff) channel and serves it as a
//! console client. When the child dies the watcher still holds every
//! connection, so no client sees a disconnect: it tells them the system is
//! restarting, starts a new child (which restarts the image from its last
//! checkpoint) and hands the connections over again once the child says it
//! is ready. What a client types meanwhile waits in its socket for the new
//! child.
//!
//! **Crash-loop guard.** A child that dies within `stable_after` of its
//! start counts as a failure in a row; a longer life resets the count. The
//! first restart is immediate, the next wait `backoff`, 2 × `backoff`, … (at
//! most [`MAX_BACKOFF`]), and after `max_failures` failures in a row the
//! watcher goes back one checkpoint if the image still keeps the one
//! before the newest (the child holds each migration `keep_previous` for
//! that; see `disk_image::roll_back`), once, and otherwise stops with an
//! error rather than crash in a loop.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{MsgFlags, send};
use nix::unistd::Pid;

use crate::handoff::{self, Channel, Message};
use crate::world::Listener;

/// The longest wait between restarts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How the watcher runs its child.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The image the child runs.
    pub image: PathBuf,
    /// The `gnosis` executable to run as the child.
    pub program: PathBuf,
    /// A child that dies sooner than this after its start has failed.
    pub stable_after: Duration,
    /// The wait before the second restart in a row; it doubles after.
    pub backoff: Duration,
    /// Failures in a row after which the watcher goes back a checkpoint
    /// or gives up.
    pub max_failures: u32,
    /// How long the child holds each checkpoint's migration, keeping the
    /// checkpoint before it restartable.
    pub keep_previous: Duration,
}

/// Something the watcher reacts to.
#[derive(Debug)]
pub enum Event {
    /// A client connected.
    Client(OwnedFd),
    /// The child booted and takes connections.
    Ready,
    /// The client with this id hung up.
    Closed(u64),
    /// The child ended.
    Exited(ExitStatus),
    /// The user asked the watcher to stop (Ctrl-C, SIGTERM).
    Stop,
}

/// The watcher's state: the clients it holds, by id.
struct Watcher {
    settings: Settings,
    events: Receiver<Event>,
    sender: Sender<Event>,
    clients: BTreeMap<u64, OwnedFd>,
    next_id: u64,
}

/// Supervises `settings.image`, with console clients accepted on
/// `listener`, until the world stops (`Ok`) or crashes too often (`Err`). `events` also
/// carries [`Event::Stop`] from the caller's signal handler.
pub fn supervise(
    settings: Settings,
    listener: Listener,
    sender: Sender<Event>,
    events: Receiver<Event>,
) -> anyhow::Result<()> {
    let accepted = sender.clone();
    std::thread::spawn(move || {
        while let Ok(fd) = listener.accept() {
            if accepted.send(Event::Client(fd)).is_err() {
                break;
            }
        }
    });
    Watcher { settings, events, sender, clients: BTreeMap::new(), next_id: 0 }.run()
}

/// An events channel for [`supervise`].
pub fn events() -> (Sender<Event>, Receiver<Event>) {
    unbounded()
}

impl Watcher {
    fn run(mut self) -> anyhow::Result<()> {
        let mut failures = 0u32;
        let mut rolled_back = false;
        let mut restarted = false;
        loop {
            let started = Instant::now();
            let (status, stopping) = self.run_child(restarted)?;
            restarted = true;
            if stopping || status.success() {
                self.tell_all("gnosis: the system stopped\n");
                return Ok(());
            }
            failures = match started.elapsed() < self.settings.stable_after {
                true => failures + 1,
                false => 1,
            };
            let how = describe(status);
            if failures >= self.settings.max_failures {
                let back = match rolled_back {
                    true => Err(anyhow::anyhow!("it already went back one checkpoint")),
                    false => crate::world::roll_back(&self.settings.image),
                };
                match back {
                    Ok(header) => {
                        rolled_back = true;
                        failures = 0;
                        self.went_back(failures_text(self.settings.max_failures), &header);
                        continue;
                    }
                    Err(why) => {
                        self.tell_all(&format!(
                            "gnosis: the system stopped ({how}) and could not be restarted\n"
                        ));
                        anyhow::bail!(
                            "the world died {} in a row, each within {:.1} s of starting (last: {how}); \
                             not restarting it again, and not from an older checkpoint either ({why:#}). \
                             `gnosis fsck {}` checks the image and `gnosis run {}` alone shows why it dies",
                            failures_text(failures),
                            self.settings.stable_after.as_secs_f64(),
                            self.settings.image.display(),
                            self.settings.image.display()
                        );
                    }
                }
            }
            let delay = backoff(self.settings.backoff, failures);
            eprintln!(
                "gnosis supervise: the world stopped ({how}); restarting it from its last checkpoint in {:.1} s",
                delay.as_secs_f64()
            );
            self.tell_all(&format!(
                "gnosis: the system stopped ({how}) and is restarting from its last checkpoint; \
                 your session stays open\n"
            ));
            if self.wait(delay) {
                return Ok(());
            }
        }
    }

    /// Reports a rollback to the checkpoint before the newest.
    fn went_back(&self, failures: String, header: &disk_image::CheckpointHeader) {
        let taken = kernel::clock::wall_now_ns().saturating_sub(header.wall_time_ns) as f64 / 1e9;
        eprintln!(
            "gnosis supervise: the world died {failures} in a row from its newest checkpoint; \
             going back to the one before it (taken {taken:.1} s ago), committed again as generation {}",
            header.generation
        );
        self.tell_all(&format!(
            "gnosis: the newest checkpoint keeps failing; the system goes back to the one before it \
             (taken {taken:.1} s ago)\n"
        ));
    }

    /// Runs one child until it ends: its exit status, and whether the user
    /// asked to stop meanwhile.
    fn run_child(&mut self, restarted: bool) -> anyhow::Result<(ExitStatus, bool)> {
        let (channel, theirs) = Channel::pair().context("cannot make the handoff channel")?;
        let mut child = Command::new(&self.settings.program)
            .arg("run")
            .arg(&self.settings.image)
            .arg("--keep-previous")
            .arg(self.settings.keep_previous.as_secs_f64().to_string())
            .arg("--handoff-fd")
            .arg(theirs.as_raw_fd().to_string())
            // Clients come through the socket; a child reading a terminal
            // from the background would be stopped (SIGTTIN).
            .stdin(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", self.settings.program.display()))?;
        drop(theirs);
        let pid = Pid::from_raw(child.id() as i32);
        eprintln!("gnosis supervise: started gnosis run (pid {pid})");
        let channel = Arc::new(channel);
        self.spawn_listener(channel.clone());
        let exited = self.sender.clone();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = exited.send(Event::Exited(status));
            }
        });
        let mut ready = false;
        let mut stopping = false;
        loop {
            match self.events.recv().expect("the watcher holds a sender") {
                Event::Client(fd) => {
                    let id = self.add(fd);
                    if ready {
                        self.hand_over(&channel, id);
                    }
                }
                Event::Ready => {
                    ready = true;
                    let ids: Vec<u64> = self.clients.keys().copied().collect();
                    for id in ids {
                        self.hand_over(&channel, id);
                    }
                    if restarted {
                        self.tell_all("gnosis: the system is back\n");
                    }
                }
                Event::Closed(id) => {
                    self.clients.remove(&id);
                }
                Event::Stop => {
                    stopping = true;
                    let _ = kill(pid, Signal::SIGINT);
                }
                Event::Exited(status) => return Ok((status, stopping)),
            }
        }
    }

    /// Relays what the child says on `channel` as events.
    fn spawn_listener(&self, channel: Arc<Channel>) {
        let events = self.sender.clone();
        std::thread::spawn(move || {
            while let Ok(Message::Id(id, _)) = channel.receive() {
                let event = if id == handoff::READY { Event::Ready } else { Event::Closed(id) };
                if events.send(event).is_err() {
                    break;
                }
            }
        });
    }

    fn add(&mut self, fd: OwnedFd) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.clients.insert(id, fd);
        id
    }

    /// Gives the child a copy of client `id`'s connection; the watcher keeps
    /// its own, which is what keeps the client connected if the child dies.
    fn hand_over(&mut self, channel: &Channel, id: u64) {
        if let Some(fd) = self.clients.get(&id)
            && let Err(e) = channel.send(id, Some(fd.as_fd()))
        {
            eprintln!("gnosis supervise: could not hand connection {id} to the world: {e}");
        }
    }

    /// Writes a notice to every client. A client whose socket is full misses
    /// it rather than stall the watcher.
    fn tell_all(&self, notice: &str) {
        for fd in self.clients.values() {
            let _ = send(fd.as_raw_fd(), notice.as_bytes(), MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL);
        }
    }

    /// Waits `delay`, still taking clients; true if the user asked to stop.
    fn wait(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            match self.events.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(Event::Client(fd)) => {
                    self.add(fd);
                }
                Ok(Event::Closed(id)) => {
                    self.clients.remove(&id);
                }
                Ok(Event::Stop) => return true,
                Ok(Event::Ready | Event::Exited(_)) => {}
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => return true,
            }
        }
    }
}

/// The wait before the restart after `failures` failures in a row: none
/// after the first, then `base`, doubling, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => base.saturating_mul(1 << (n - 2).min(20)).min(MAX_BACKOFF),
    }
}

/// "once", "3 times".
fn failures_text(n: u32) -> String {
    match n {
        1 => "once".to_string(),
        n => format!("{n} times"),
    }
}

/// How a child ended, for people.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(s) => format!("killed by {s}"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => "ended".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_immediate_then_doubles_up_to_the_cap() {
        let base = Duration::from_millis(100);
        let waits: Vec<u128> = (1..=6).map(|n| backoff(base, n).as_millis()).collect();
        assert_eq!(waits, [0, 100, 200, 400, 800, 1600]);
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }
}
