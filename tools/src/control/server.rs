//! The world's end of the control socket: a thread that accepts
//! connections, one thread per connection (at most
//! [`MAX_CONNECTIONS`](super::MAX_CONNECTIONS)) that checks the peer, reads
//! and checks the request in full, hands it to the kernel thread as a
//! [`Request`] and writes the [`Reply`] back. The kernel thread never
//! touches a socket: a client that is slow, stopped or malicious costs a
//! connection thread at most [`SERVER_PATIENCE`], never the world.

use std::io::{BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam::channel::{Receiver, Sender, unbounded};

use super::{MAX_CONNECTIONS, MAX_REQUEST_LINE, SERVER_PATIENCE, SNAPSHOT_CONFIRM, VERBS, Verb, location};

/// A request, checked in full, for the kernel thread.
pub struct Request {
    /// The verb and its text fields.
    pub fields: Vec<String>,
    /// The files it carries, as many as its verb says.
    pub files: Vec<Vec<u8>>,
    /// Where the answer goes.
    pub reply: Sender<Reply>,
}

/// An answer from the kernel thread.
pub enum Reply {
    /// Text, the whole answer.
    Text(String),
    /// A snapshot's files (manifest, pages, nodes) of the domain whose root
    /// node is `root`. With `confirm`, the world waits for the client's
    /// `written` (true) or anything else (false) there, and a [`Reply::Text`]
    /// follows.
    Snapshot {
        /// The domain's root node number.
        root: u64,
        /// The snapshot's files.
        files: [Vec<u8>; 3],
        /// Where the client's confirmation goes, for `--kill`.
        confirm: Option<Sender<bool>>,
    },
}

/// A listening control socket; removed when dropped.
pub struct Server {
    path: PathBuf,
    requests: Receiver<Request>,
}

impl Server {
    /// Serves the control socket of `image`. The caller holds the image's
    /// exclusive lock, so a socket file already at the path is a stale one
    /// (its world died) and is replaced.
    pub fn serve(image: &Path) -> anyhow::Result<Server> {
        location::make_socket_dir()?;
        let path = location::socket_path(image)?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove the stale socket {}", path.display()));
            }
        }
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("cannot make the control socket {}", path.display()))?;
        // The directory already keeps others out; the socket's own mode
        // says the same to anyone who looks.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
        let (tx, requests) = unbounded();
        std::thread::spawn(move || accept(listener, tx));
        Ok(Server { path, requests })
    }

    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The requests, checked, in arrival order.
    pub fn requests(&self) -> &Receiver<Request> {
        &self.requests
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept(listener: UnixListener, requests: Sender<Request>) {
    let owner = nix::unistd::geteuid().as_raw();
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of descriptors, say: wait rather than spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_nonblocking(true);
            let busy = format!(
                "error: the world is busy: it serves {MAX_CONNECTIONS} control connections at once; try again\n"
            );
            let _ = (&stream).write_all(busy.as_bytes());
            continue;
        }
        let (requests, active) = (requests.clone(), active.clone());
        std::thread::spawn(move || {
            serve_one(&stream, &requests, owner);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn serve_one(stream: &UnixStream, requests: &Sender<Request>, owner: u32) {
    let deadline = Instant::now() + SERVER_PATIENCE;
    let _ = stream.set_write_timeout(Some(SERVER_PATIENCE));
    let mut reader = BufReader::new(Timed::new(stream, deadline));
    let (fields, files) = match check_peer(stream, owner).and_then(|()| read_request(&mut reader)) {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(refusal) => {
            let _ = write_text(stream, &format!("error: {refusal}"));
            return;
        }
    };
    let (reply, replies) = unbounded();
    if requests.send(Request { fields, files, reply }).is_err() {
        let _ = write_text(stream, "error: the world is stopping");
        return;
    }
    let _ = answer(stream, &mut reader, &replies);
}

/// Refuses a peer of another user.
pub fn check_peer(stream: &UnixStream, owner: u32) -> Result<(), String> {
    let uid = peer_uid(stream).map_err(|e| format!("cannot tell who connected ({e})"))?;
    if uid == owner {
        Ok(())
    } else {
        Err(format!("this world belongs to uid {owner}; uid {uid} may not control it"))
    }
}

/// The uid of the process at the other end of `stream` (`SO_PEERCRED`).
pub fn peer_uid(stream: &UnixStream) -> nix::Result<u32> {
    let credentials = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)?;
    Ok(credentials.uid())
}

/// A request as read: its verb and text fields, and the files it carries.
type Asked = (Vec<String>, Vec<Vec<u8>>);

/// Reads one request: its line, checked against [`VERBS`], and the files
/// it carries. `Ok(None)` if the client left without asking anything.
fn read_request<R: std::io::BufRead>(reader: &mut R) -> Result<Option<Asked>, String> {
    // Past the limit nothing more is read: the refusal comes at once.
    let line = match crate::lines::read_line(&mut reader.take(MAX_REQUEST_LINE as u64 + 1), MAX_REQUEST_LINE)
    {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("cannot read the request ({e})")),
    };
    if line.cut {
        return Err(format!("the request line is longer than {MAX_REQUEST_LINE} bytes"));
    }
    let line = String::from_utf8(line.bytes).map_err(|_| "the request line is not UTF-8".to_string())?;
    let line = line.trim_end_matches('\r');
    let mut fields: Vec<String> = line.split('\t').map(str::to_string).collect();
    let verb = VERBS.iter().find(|v| v.name == fields[0]).ok_or_else(|| {
        let known: Vec<&str> = VERBS.iter().map(|v| v.name).collect();
        format!("unknown request '{}' (known: {})", line.escape_debug(), known.join(", "))
    })?;
    let lengths = file_lengths(verb, &mut fields)?;
    let mut files = Vec::with_capacity(lengths.len());
    for length in lengths {
        let mut file = Vec::new();
        reader
            .take(length)
            .read_to_end(&mut file)
            .map_err(|e| format!("cannot read the request's files ({e})"))?;
        if file.len() as u64 != length {
            return Err(format!("the request ended after {} of the {length} bytes it announced", file.len()));
        }
        files.push(file);
    }
    Ok(Some((fields, files)))
}

/// Takes the file lengths off the end of `fields`, checked against the limits of `verb`.
fn file_lengths(verb: &Verb, fields: &mut Vec<String>) -> Result<Vec<u64>, String> {
    let expected = 1 + verb.fields + verb.files.len();
    if fields.len() != expected {
        return Err(format!(
            "request `{}` has {} fields after it, not {}",
            verb.name,
            fields.len() - 1,
            expected - 1
        ));
    }
    let lengths = fields.split_off(1 + verb.fields);
    lengths
        .iter()
        .zip(verb.files)
        .map(|(text, &limit)| {
            let length: u64 = text.parse().map_err(|_| {
                format!("`{}`: '{}' is not a length in bytes", verb.name, text.escape_debug())
            })?;
            if length > limit {
                return Err(format!(
                    "`{}` carries a file of {length} bytes; the limit is {limit} ({})",
                    verb.name,
                    crate::human_bytes(limit)
                ));
            }
            Ok(length)
        })
        .collect()
}

fn answer(
    stream: &UnixStream,
    reader: &mut BufReader<Timed>,
    replies: &Receiver<Reply>,
) -> std::io::Result<()> {
    match replies.recv() {
        Ok(Reply::Text(text)) => write_text(stream, &text),
        Ok(Reply::Snapshot { root, files, confirm }) => {
            let [m, p, n] = files.each_ref().map(Vec::len);
            let mut w = stream;
            w.write_all(format!("snapshot\t{root}\t{m}\t{p}\t{n}\n").as_bytes())?;
            for file in &files {
                w.write_all(file)?;
            }
            let Some(confirm) = confirm else { return Ok(()) };
            reader.get_mut().deadline = Instant::now() + SNAPSHOT_CONFIRM;
            let said = crate::lines::read_line(reader, 64);
            let written = matches!(said, Ok(Some(line)) if line.bytes == b"written");
            let _ = confirm.send(written);
            answer(stream, reader, replies)
        }
        Err(_) => write_text(stream, "error: the world stopped before it answered"),
    }
}

fn write_text(mut stream: &UnixStream, text: &str) -> std::io::Result<()> {
    stream.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stream.write_all(b"\n")?;
    }
    Ok(())
}

/// A stream whose reads fail with `TimedOut` once `deadline` has passed.
pub struct Timed<'a> {
    stream: &'a UnixStream,
    deadline: Instant,
}

impl<'a> Timed<'a> {
    /// Reads `stream` until `deadline`.
    pub fn new(stream: &'a UnixStream, deadline: Instant) -> Timed<'a> {
        Timed { stream, deadline }
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        (&mut &*self.stream).read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_of_another_uid_is_refused() {
        let (a, _b) = UnixStream::pair().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        assert_eq!(check_peer(&a, me), Ok(()));
        let refused = check_peer(&a, me + 1).unwrap_err();
        assert!(refused.contains(&format!("uid {me} may not control it")), "{refused}");
    }

    fn request(bytes: &[u8]) -> Result<Option<Asked>, String> {
        read_request(&mut BufReader::new(bytes))
    }

    #[test]
    fn requests_are_checked_before_their_files_are_read() {
        let ok = request(b"install\thello\tconsole\t3\nELF").unwrap().unwrap();
        assert_eq!(ok.0, ["install", "hello", "console"]);
        assert_eq!(ok.1, [b"ELF".to_vec()]);
        assert_eq!(request(b"").unwrap(), None);
        let cases: [(&[u8], &str); 6] = [
            (b"install\thello\tconsole\t99999999999\n", "the limit is 67108864 (64 MiB)"),
            (b"install\thello\t3\n", "has 2 fields after it, not 3"),
            (b"install\thello\tconsole\tmany\n", "'many' is not a length"),
            (b"install\thello\tconsole\t10\nshort", "ended after 5 of the 10 bytes"),
            (b"launch\tmissiles\n", "unknown request 'launch\\tmissiles'"),
            (b"\xff\n", "not UTF-8"),
        ];
        for (bytes, expected) in cases {
            let refusal = request(bytes).unwrap_err();
            assert!(refusal.contains(expected), "{refusal}");
        }
        let long = [b'x'; MAX_REQUEST_LINE + 1];
        assert!(request(&long).unwrap_err().contains("longer than 4096 bytes"));
    }
}
