//! The client's end of the control socket. Every wait, to connect, to send
//! and to receive, is bounded by one deadline; when it passes the client
//! says the world is not responding, naming the process that holds the
//! image. An answer that never comes, or comes empty, is an error.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr};

use super::location;
use super::server::{Timed, peer_uid};

/// The world did not answer: it is not responding, or it closed the
/// connection without answering. `gnosis` exits with status 1 for it, as
/// for a refusal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unanswered(String);

/// The world refused the request: its answer, which starts with `error`.
/// `gnosis` exits with status 1 for it.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.trim_end())]
pub struct Refused(pub String);

/// The longest text answer read, in bytes.
const MAX_ANSWER: u64 = 16 << 20;

/// A connection to a running world, for one request.
pub struct Client {
    stream: UnixStream,
    image: PathBuf,
    deadline: Instant,
    timeout: Duration,
    /// Why sending stopped, if the world hung up on the request: its
    /// answer (a refusal) may still be there to read.
    hung_up: Option<std::io::Error>,
    /// What was asked, for messages: "`status`".
    asked: String,
}

impl Client {
    /// Connects to the world running `image`, waiting at most `timeout`
    /// for it (and for the whole request after); `None` if none runs.
    pub fn connect(image: &Path, timeout: Duration) -> anyhow::Result<Option<Client>> {
        let Ok(path) = location::socket_path(image) else { return Ok(None) };
        if !location::check_socket_dir(&location::socket_dir())? {
            return Ok(None);
        }
        let deadline = Instant::now() + timeout;
        let stream = match connect_until(&path, deadline) {
            Ok(Some(stream)) => stream,
            Ok(None) => return Ok(None),
            Err(e) if timed_out(&e) => return Err(not_responding(image, "a connection", timeout)),
            Err(e) => return Err(e).with_context(|| format!("cannot connect to {}", path.display())),
        };
        let me = nix::unistd::geteuid().as_raw();
        let server =
            peer_uid(&stream).with_context(|| format!("cannot tell who serves {}", path.display()))?;
        if server != me {
            anyhow::bail!(
                "the control socket {} is served by uid {server}, not by you (uid {me}): not talking to it",
                path.display()
            );
        }
        Ok(Some(Client {
            stream,
            image: image.to_path_buf(),
            deadline,
            timeout,
            hung_up: None,
            asked: String::new(),
        }))
    }

    /// Sends a request: `fields` (the verb first; none may hold a tab or a
    /// line break), then the lengths of `files`, then `files`.
    pub fn send(&mut self, fields: &[&str], files: &[&[u8]]) -> anyhow::Result<()> {
        if let Some(bad) = fields.iter().find(|f| f.contains(['\t', '\n', '\r'])) {
            anyhow::bail!(
                "'{}' holds a tab or a line break, which a request cannot carry",
                bad.escape_debug()
            );
        }
        self.asked = format!("`{}`", fields.first().unwrap_or(&""));
        let mut line: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        line.extend(files.iter().map(|f| f.len().to_string()));
        self.write(format!("{}\n", line.join("\t")).as_bytes())?;
        for file in files {
            self.write(file)?;
        }
        Ok(())
    }

    /// Sends a request without files and returns its text answer.
    pub fn ask(&mut self, fields: &[&str]) -> anyhow::Result<String> {
        self.send(fields, &[])?;
        self.text()
    }

    /// Sends one more line (a confirmation) on the connection.
    pub fn say(&mut self, line: &str) -> anyhow::Result<()> {
        self.write(format!("{line}\n").as_bytes())
    }

    /// The rest of the answer, as text; an error if there is none.
    pub fn text(&mut self) -> anyhow::Result<String> {
        let mut answer = Vec::new();
        let read = Timed::new(&self.stream, self.deadline).take(MAX_ANSWER).read_to_end(&mut answer);
        match read {
            Ok(_) => {}
            // A world that hangs up on a request it refused, before it has
            // read all of it, resets the connection after its answer.
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !answer.is_empty() => {}
            Err(e) => return Err(self.failed(e)),
        }
        let answer = String::from_utf8_lossy(&answer).trim_end().to_string();
        if answer.is_empty() {
            return Err(match self.hung_up.take() {
                Some(e) => self.failed(e),
                None => self.unanswered(),
            });
        }
        Ok(answer + "\n")
    }

    /// The next line of the answer, without its newline; at most `max` bytes.
    pub fn line(&mut self, max: usize) -> anyhow::Result<String> {
        let mut line = Vec::new();
        let mut timed = Timed::new(&self.stream, self.deadline);
        let mut byte = [0u8];
        // Byte by byte, so nothing after the line is taken from the stream.
        loop {
            match timed.read(&mut byte) {
                Ok(0) if line.is_empty() => return Err(self.unanswered()),
                Ok(0) => break,
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) if line.len() == max => {
                    anyhow::bail!(
                        "the world at {} sent an answer line over {max} bytes",
                        self.image.display()
                    )
                }
                Ok(_) => line.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// The next `len` bytes of the answer.
    pub fn file(&mut self, len: usize) -> anyhow::Result<Vec<u8>> {
        let mut file = vec![0u8; len];
        Timed::new(&self.stream, self.deadline).read_exact(&mut file).map_err(|e| self.failed(e))?;
        Ok(file)
    }

    /// Writes `bytes` to the world; once it has hung up (a refusal, say),
    /// the rest is not sent and what it answered is read as usual.
    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        for chunk in bytes.chunks(1 << 16) {
            if self.hung_up.is_some() {
                return Ok(());
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            let written = match left.is_zero() {
                true => Err(ErrorKind::TimedOut.into()),
                false => {
                    self.stream.set_write_timeout(Some(left)).and_then(|()| self.stream.write_all(chunk))
                }
            };
            match written {
                Ok(()) => {}
                Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                    self.hung_up = Some(e);
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
        Ok(())
    }

    /// The error for a read or write that failed with `e`.
    fn failed(&self, e: std::io::Error) -> anyhow::Error {
        if timed_out(&e) {
            return not_responding(&self.image, &self.asked, self.timeout);
        }
        Unanswered(format!(
            "lost the connection to the world at {} while asking {} ({e}): it may have stopped (see its output)",
            self.image.display(),
            self.asked
        ))
        .into()
    }

    fn unanswered(&self) -> anyhow::Error {
        Unanswered(format!(
            "the world at {} closed the connection without answering {}: it may have stopped (see its output)",
            self.image.display(),
            self.asked
        ))
        .into()
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

/// "The world at IMAGE is not responding": with the pid of its holder,
/// what was asked, and what to do.
fn not_responding(image: &Path, asked: &str, timeout: Duration) -> anyhow::Error {
    let pid = disk_image::storage::lock_holder(image)
        .map_or_else(|| "pid unknown".to_string(), |h| format!("pid {}?", h.pid));
    Unanswered(format!(
        "the world at {} is not responding ({pid}): no answer to {asked} within {:.1} s. It may be stopped \
         (Ctrl-Z or SIGSTOP: `kill -CONT` it), stuck, or busy with a long checkpoint; `--timeout SECONDS` \
         waits longer",
        image.display(),
        timeout.as_secs_f64()
    ))
    .into()
}

/// Connects to the socket at `path`, waiting until `deadline` while its
/// queue of connections is full (a world that is stopped or stuck does not
/// take them); `None` if no world serves it.
fn connect_until(path: &Path, deadline: Instant) -> std::io::Result<Option<UnixStream>> {
    let address = UnixAddr::new(path)?;
    loop {
        let fd = nix::sys::socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        match nix::sys::socket::connect(fd.as_raw_fd(), &address) {
            Ok(()) => {
                let stream = UnixStream::from(fd);
                stream.set_nonblocking(false)?;
                return Ok(Some(stream));
            }
            Err(Errno::ENOENT | Errno::ECONNREFUSED) => return Ok(None),
            Err(Errno::EAGAIN) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.into()),
        }
    }
}
