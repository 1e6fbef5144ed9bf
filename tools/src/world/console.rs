//! The console of a running world as its clients see it: the terminal of
//! `gnosis run`, `--listen` sockets, and the connections `gnosis
//! supervise` hands over.
//!
//! Guarantees:
//!
//! * **No client can hold the world up.** The kernel thread only appends
//!   what the console printed to each client's own queue ([`Sinks`]); a
//!   writer thread per client drains it. Output comes in pieces, what the
//!   console printed in one time slice; a piece that would take a client's
//!   queue past [`CLIENT_BACKLOG`] bytes not yet written is lost for that
//!   client (a client whose queue is empty takes the piece whole), and when
//!   it reads again it finds, where the gap is, a line saying how many
//!   bytes it missed. It stays connected, its input still works, and every
//!   other client and the control socket carry on at full speed.
//! * **Input is bytes.** A client's lines go to the world as they are,
//!   UTF-8 or not; a line longer than [`MAX_INPUT_LINE`] bytes is cut
//!   there (the rest of it is dropped) and still ends with a newline. The
//!   input queue is bounded ([`INPUT_LINES`]): a client typing faster than
//!   the world reads waits, without growing the server.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use crossbeam::channel::{Receiver, Sender, bounded};
use parking_lot::{Condvar, Mutex};

use crate::handoff::{self, Channel, Message};

/// Bytes of console output a client may have outstanding before it loses output.
pub const CLIENT_BACKLOG: usize = 1 << 20;
/// The longest console input line passed on whole, in bytes.
pub const MAX_INPUT_LINE: usize = 4096;
/// Input lines waiting for the kernel thread at most (from all clients).
pub const INPUT_LINES: usize = 256;

/// A new console input queue: what clients type, for the kernel thread.
pub fn input_queue() -> (Sender<Vec<u8>>, Receiver<Vec<u8>>) {
    bounded(INPUT_LINES)
}

/// Connected console clients: everything the console prints goes to each,
/// through its own bounded queue and writer thread.
#[derive(Default, Clone)]
pub struct Sinks(Arc<Mutex<Vec<Arc<Outlet>>>>);

impl Sinks {
    /// Adds a client.
    pub fn add<W: Write + Send + 'static>(&self, writer: W) {
        self.add_with_end(writer, |_| {});
    }

    /// Adds a client; `ended` is called, on the client's writer thread,
    /// with the error that ended it (a closed pipe, a reset connection).
    pub fn add_with_end<W, F>(&self, mut writer: W, ended: F)
    where
        W: Write + Send + 'static,
        F: FnOnce(std::io::Error) + Send + 'static,
    {
        let outlet = Arc::new(Outlet::default());
        self.0.lock().push(outlet.clone());
        std::thread::spawn(move || {
            if let Err(e) = outlet.drain_into(&mut writer) {
                ended(e);
            }
        });
    }

    /// Queues `bytes` for every client, dropping the clients that went away.
    /// Never waits for a client.
    pub fn broadcast(&self, bytes: &[u8]) {
        self.0.lock().retain(|outlet| outlet.push(bytes));
    }

    /// Lets every client's writer finish what is queued, waiting until
    /// `deadline` at most (a client that does not read is left behind).
    pub fn finish(&self, deadline: Instant) {
        let outlets: Vec<Arc<Outlet>> = self.0.lock().drain(..).collect();
        for outlet in &outlets {
            outlet.close();
        }
        for outlet in &outlets {
            outlet.wait_gone(deadline);
        }
    }
}

/// One client's queue of console output.
#[derive(Default)]
struct Outlet {
    queue: Mutex<Queue>,
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// Bytes in `items`.
    bytes: usize,
    /// No more output will come: the writer ends once `items` is written.
    closed: bool,
    /// The writer ended (all written after `closed`, or the client went).
    gone: bool,
}

enum Item {
    Bytes(Vec<u8>),
    /// Output this client lost here, in bytes.
    Lost(usize),
}

impl Outlet {
    /// Queues `bytes`, or counts them lost if the client is too far
    /// behind; false once the client is gone.
    fn push(&self, bytes: &[u8]) -> bool {
        let mut q = self.queue.lock();
        if q.gone {
            return false;
        }
        // A client that has taken everything takes the next piece whole,
        // however big (one time slice's output, which the kernel held anyway).
        if q.bytes > 0 && q.bytes + bytes.len() > CLIENT_BACKLOG {
            match q.items.back_mut() {
                Some(Item::Lost(n)) => *n += bytes.len(),
                _ => q.items.push_back(Item::Lost(bytes.len())),
            }
        } else {
            q.bytes += bytes.len();
            q.items.push_back(Item::Bytes(bytes.to_vec()));
        }
        self.changed.notify_all();
        true
    }

    fn close(&self) {
        self.queue.lock().closed = true;
        self.changed.notify_all();
    }

    fn wait_gone(&self, deadline: Instant) {
        let mut q = self.queue.lock();
        while !q.gone {
            if self.changed.wait_until(&mut q, deadline).timed_out() {
                return;
            }
        }
    }

    /// The writer thread: writes what is queued until the outlet is closed
    /// and empty (`Ok`) or the client fails a write (`Err`).
    fn drain_into(&self, writer: &mut dyn Write) -> std::io::Result<()> {
        let mut at_line_start = true;
        let ended = loop {
            let batch: Vec<Item> = {
                let mut q = self.queue.lock();
                while q.items.is_empty() && !q.closed {
                    self.changed.wait(&mut q);
                }
                if q.items.is_empty() {
                    break Ok(());
                }
                q.bytes = 0;
                q.items.drain(..).collect()
            };
            if let Err(e) = write_batch(writer, &batch, &mut at_line_start) {
                break Err(e);
            }
        };
        self.queue.lock().gone = true;
        self.changed.notify_all();
        ended
    }
}

fn write_batch(writer: &mut dyn Write, batch: &[Item], at_line_start: &mut bool) -> std::io::Result<()> {
    for item in batch {
        match item {
            Item::Bytes(bytes) => {
                writer.write_all(bytes)?;
                *at_line_start = bytes.last().is_none_or(|&b| b == b'\n');
            }
            Item::Lost(n) => {
                let newline = if *at_line_start { "" } else { "\n" };
                let marker = format!(
                    "{newline}[gnosis: {n} bytes of console output were lost here: this client did not read \
                     fast enough]\n"
                );
                writer.write_all(marker.as_bytes())?;
                *at_line_start = true;
            }
        }
    }
    writer.flush()
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
        sinks.add(w);
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

/// Feeds `stream`'s lines (bytes, each cut at [`MAX_INPUT_LINE`]) to the
/// console; calls `closed` when it ends.
pub fn spawn_reader<R, F>(stream: R, input: Sender<Vec<u8>>, closed: F)
where
    R: std::io::Read + Send + 'static,
    F: FnOnce() + Send + 'static,
{
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        while let Ok(Some(line)) = crate::lines::read_line(&mut reader, MAX_INPUT_LINE) {
            let mut bytes = line.bytes;
            bytes.push(b'\n');
            if input.send(bytes).is_err() {
                break;
            }
        }
        closed();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A client that takes a `gate` permit before each write: it reads
    /// only when the test lets it.
    struct Gated {
        gate: Receiver<()>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.gate.recv().map_err(|_| std::io::ErrorKind::BrokenPipe)?;
            self.got.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A client that reads everything at once: each write arrives on a channel.
    struct Eager(Sender<Vec<u8>>);

    impl Write for Eager {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.send(buf.to_vec()).map_err(|_| std::io::ErrorKind::BrokenPipe)?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_client_that_does_not_read_loses_output_with_a_marker_and_others_get_everything() {
        let sinks = Sinks::default();
        let (open, gate) = crossbeam::channel::unbounded();
        let slow = Arc::new(Mutex::new(Vec::new()));
        sinks.add(Gated { gate, got: slow.clone() });
        let (eager, received) = crossbeam::channel::unbounded();
        sinks.add(Eager(eager));
        let line: Vec<u8> = [b'x'; 1023].into_iter().chain([b'\n']).collect();
        let lines = 3 * CLIENT_BACKLOG / line.len();
        for _ in 0..lines {
            // Returns at once although one client reads nothing.
            sinks.broadcast(&line);
            assert_eq!(received.recv_timeout(Duration::from_secs(30)).unwrap(), line);
        }
        for _ in 0..lines {
            let _ = open.send(());
        }
        sinks.finish(Instant::now() + Duration::from_secs(30));
        let slow = String::from_utf8(slow.lock().clone()).unwrap();
        let lost: usize = slow
            .lines()
            .filter_map(|l| l.strip_prefix("[gnosis: ")?.split(' ').next()?.parse::<usize>().ok())
            .sum();
        let kept = slow.lines().filter(|l| l.starts_with('x')).count() * line.len();
        assert!(lost > 0 && kept >= CLIENT_BACKLOG, "{lost} lost, {kept} kept");
        assert_eq!(kept + lost, lines * line.len(), "every byte is delivered or counted lost");
    }
}
