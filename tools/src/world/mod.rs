//! Worlds on disk: booting an image for `gnosis run`, serving its console
//! on sockets (its own, or those `gnosis supervise` hands over), and the big
//! bang that makes a new world.

pub mod big_bang;
pub mod crash_table;
pub mod install;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use crossbeam::channel::Sender;
use disk_image::storage::{MmapStorage, Storage};
use kernel::clock::Clock;
use kernel::kernel::{Background, Config, Kernel};
use kernel::restart;
use parking_lot::Mutex;

use crate::handoff::{self, Channel, Message};

/// Creates a new image at `path` (which must not exist) of `bytes`: formats
/// it and, with `settings`, builds the primordial world in it and commits
/// it as a checkpoint. On failure the half-made file is removed.
pub fn create(path: &Path, bytes: u64, settings: Option<big_bang::Settings>) -> anyhow::Result<()> {
    let made = make(path, bytes, settings);
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

fn make(path: &Path, bytes: u64, settings: Option<big_bang::Settings>) -> anyhow::Result<()> {
    let geometry = disk_image::Geometry::for_size(bytes)?;
    let storage = MmapStorage::create(path, geometry.total_frames)
        .with_context(|| format!("cannot create {}", path.display()))?;
    disk_image::format(&storage, geometry, rand::random(), kernel::clock::wall_now_ns())?;
    drop(storage);
    let Some(settings) = settings else { return Ok(()) };
    let mut kernel = boot(path, Background::Inline)?;
    big_bang::build(&mut kernel, &settings).with_context(|| {
        format!(
            "the primordial world does not fit in {} MiB: make the image at least 4MiB, or pass --bare for an empty one",
            bytes >> 20
        )
    })?;
    kernel.checkpoint_now()?;
    kernel.finish_background()?;
    Ok(())
}

/// Boots (restarts) the image at `path` with a real clock.
pub fn boot(path: &Path, background: Background) -> anyhow::Result<Kernel> {
    boot_with(path, background, Config::default())
}

/// Boots the image at `path` with a real clock and `config`.
pub fn boot_with(path: &Path, background: Background, config: Config) -> anyhow::Result<Kernel> {
    let storage: Arc<dyn Storage> =
        Arc::new(MmapStorage::open(path).with_context(|| format!("cannot open image {}", path.display()))?);
    let len = std::fs::metadata(path)?.len();
    let loaded = restart::load(storage, len)?;
    if let Some(damage) = &loaded.fell_back {
        eprintln!(
            "gnosis: warning: the newest checkpoint is damaged ({damage}); restarting from the one before"
        );
    }
    let h = &loaded.opened.header;
    let clock = Clock::real_after_restart(h.checkpoint_time_ns, h.wall_time_ns);
    Ok(Kernel::boot(loaded, clock, config, background)?)
}

/// Connected console clients: everything the console prints goes to each.
#[derive(Default, Clone)]
pub struct Sinks(Arc<Mutex<Vec<Box<dyn Write + Send>>>>);

impl Sinks {
    /// Adds a client.
    pub fn add(&self, w: Box<dyn Write + Send>) {
        self.0.lock().push(w);
    }

    /// Writes to every client, dropping those that went away.
    pub fn broadcast(&self, bytes: &[u8]) {
        self.0.lock().retain_mut(|w| w.write_all(bytes).and_then(|_| w.flush()).is_ok());
    }
}

/// Abandons the newest checkpoint of the image at `path` and commits the
/// one before it again, if that one is still intact (see
/// [`disk_image::roll_back`]); the header now in force.
pub fn roll_back(path: &Path) -> anyhow::Result<disk_image::CheckpointHeader> {
    let storage = MmapStorage::open(path).with_context(|| format!("cannot open image {}", path.display()))?;
    let len = std::fs::metadata(path)?.len();
    Ok(disk_image::roll_back(&storage, len)?)
}

/// A listening socket for console clients: `host:port` (TCP) or a path
/// (Unix socket; `unix:PATH` also works).
pub enum Listener {
    /// A TCP listener.
    Tcp(std::net::TcpListener),
    /// A Unix-domain listener.
    Unix(std::os::unix::net::UnixListener),
}

impl Listener {
    /// Binds `addr`; a stale Unix socket file at the path is replaced.
    pub fn bind(addr: &str) -> anyhow::Result<Listener> {
        if addr.contains('/') || addr.starts_with("unix:") {
            let path = addr.trim_start_matches("unix:");
            let _ = std::fs::remove_file(path);
            let listener = std::os::unix::net::UnixListener::bind(path)
                .with_context(|| format!("cannot listen on {path}"))?;
            Ok(Listener::Unix(listener))
        } else {
            let listener =
                std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
            Ok(Listener::Tcp(listener))
        }
    }

    /// Where clients connect: the bound address (with the port chosen, for
    /// `host:0`) or the socket's path.
    pub fn address(&self) -> String {
        let bound = match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()),
            Listener::Unix(l) => {
                l.local_addr().map(|a| a.as_pathname().map_or("?".into(), |p| p.display().to_string()))
            }
        };
        bound.unwrap_or_else(|e| format!("(unknown: {e})"))
    }

    /// Waits for the next client; its connection as a descriptor.
    pub fn accept(&self) -> std::io::Result<OwnedFd> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| s.into()),
            Listener::Unix(l) => l.accept().map(|(s, _)| s.into()),
        }
    }
}

/// Serves the console on `addr` (see [`Listener::bind`]). Each client's
/// lines become console input; console output goes to all.
pub fn listen(addr: &str, input: Sender<Vec<u8>>, sinks: Sinks) -> anyhow::Result<()> {
    let listener = Listener::bind(addr)?;
    std::thread::spawn(move || {
        while let Ok(fd) = listener.accept() {
            attach(File::from(fd), &input, &sinks, || {});
        }
    });
    Ok(())
}

/// Makes `stream` a console client: its lines are input, all output goes
/// to it; `closed` is called when the client hangs up.
fn attach<F: FnOnce() + Send + 'static>(stream: File, input: &Sender<Vec<u8>>, sinks: &Sinks, closed: F) {
    if let Ok(w) = stream.try_clone() {
        sinks.add(Box::new(w));
    }
    spawn_reader(stream, input.clone(), closed);
}

/// Takes the console connections `gnosis supervise` hands over on
/// `channel` (see [`handoff`](crate::handoff)) as clients, as [`listen`]
/// does with accepted ones, and tells the watcher when each client hangs
/// up. Once the watcher is gone, `stop` is set: a supervised world does not
/// outlive its supervisor.
pub fn take_handoff(
    channel: Channel,
    input: Sender<Vec<u8>>,
    sinks: Sinks,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    channel.send(handoff::READY, None).context("cannot reach gnosis supervise")?;
    let channel = Arc::new(channel);
    std::thread::spawn(move || {
        loop {
            match channel.receive() {
                Ok(Message::Id(id, Some(fd))) => {
                    let channel = channel.clone();
                    attach(File::from(fd), &input, &sinks, move || {
                        let _ = channel.send(id, None);
                    });
                }
                Ok(Message::Id(_, None)) => {}
                Ok(Message::Closed) | Err(_) => break,
            }
        }
        stop.store(true, Ordering::SeqCst);
    });
    Ok(())
}

/// Feeds `stream`'s lines to the console; calls `closed` when it ends.
fn spawn_reader<R, F>(stream: R, input: Sender<Vec<u8>>, closed: F)
where
    R: std::io::Read + Send + 'static,
    F: FnOnce() + Send + 'static,
{
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(mut line) = line else { break };
            line.push('\n');
            if input.send(line.into_bytes()).is_err() {
                break;
            }
        }
        closed();
    });
}
