//! `gnosis supervise` with real processes over loopback: clients stay
//! connected while the world is killed -9 and restarted, a world that
//! keeps dying is given up after K tries, and an image that cannot boot is
//! refused at once.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::*;

/// A console client: a TCP connection read line by line.
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    seen: Vec<String>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let writer = TcpStream::connect(addr).expect("connect to the supervisor");
        writer.set_read_timeout(Some(PATIENCE)).unwrap();
        let reader = BufReader::new(writer.try_clone().unwrap());
        Client { writer, reader, seen: Vec::new() }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.writer, "{line}").expect("the connection is open");
    }

    /// Reads lines until one contains `pattern`; a closed connection or
    /// silence fails the test.
    fn expect(&mut self, pattern: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => {
                    panic!("the connection closed waiting for {pattern:?}; seen:\n{}", self.seen.join(""))
                }
                Ok(_) => {
                    self.seen.push(line.clone());
                    if line.contains(pattern) {
                        return line;
                    }
                }
                Err(e) => panic!("no {pattern:?} ({e}); seen:\n{}", self.seen.join("")),
            }
        }
        panic!("no {pattern:?} in time; seen:\n{}", self.seen.join(""))
    }
}

/// Starts `gnosis supervise IMAGE --listen 127.0.0.1:0 EXTRA`; the
/// supervisor and the address its clients connect to.
fn supervise(image: &Path, extra: &[&str]) -> (Instance, String) {
    let mut args = vec!["supervise", image.to_str().unwrap(), "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut watcher = Instance::run(&args);
    let line = watcher.expect("console on ");
    let addr = line.split("console on ").nth(1).unwrap().split(';').next().unwrap().to_string();
    (watcher, addr)
}

/// Waits for the supervisor to start a world; its pid.
fn child_pid(watcher: &mut Instance) -> String {
    let line = watcher.expect("started gnosis run (pid ");
    line.split("(pid ").nth(1).unwrap().trim_end_matches(')').to_string()
}

fn kill9(pid: &str) {
    let o = Command::new("kill").args(["-9", pid]).output().unwrap();
    assert!(o.status.success(), "kill -9 {pid}: {}", text(&o));
}

#[test]
fn clients_stay_connected_while_the_world_is_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let (mut watcher, addr) = supervise(&image, &[]);
    let first = child_pid(&mut watcher);
    watcher.expect("gnosis shell");
    let mut alice = Client::connect(&addr);
    let mut bob = Client::connect(&addr);
    alice.send("set greeting hello");
    alice.expect("ok");
    bob.expect("ok"); // one console: every client sees its output

    kill9(&first);
    for client in [&mut alice, &mut bob] {
        client.expect("restarting from its last checkpoint; your session stays open");
    }
    let second = child_pid(&mut watcher);
    assert_ne!(first, second);
    alice.expect("the system is back");
    bob.expect("the system is back");
    bob.send("get greeting");
    bob.expect("greeting = hello");
    alice.send("set after restart");
    alice.expect("ok");

    // Typed while the world is down: it waits in the socket for the next one.
    kill9(&second);
    alice.expect("restarting");
    alice.send("get after");
    alice.expect("after = restart");
    let third = child_pid(&mut watcher);
    assert_ne!(second, third);

    // A client that connects later is served too, and Ctrl-C stops it all.
    let mut carol = Client::connect(&addr);
    carol.send("get greeting");
    carol.expect("greeting = hello");
    let o = Command::new("kill").args(["-INT", &watcher.child.id().to_string()]).output().unwrap();
    assert!(o.status.success());
    carol.expect("the system stopped");
    let status = watcher.child.wait().unwrap();
    assert!(status.success(), "the supervisor stops cleanly: {status:?}");
    fsck_clean(&image);
}

/// Damages both checkpoint headers (frames 1 and 2) of `image`.
fn damage_headers(image: &Path) {
    let mut bytes = std::fs::read(image).unwrap();
    for frame in [1usize, 2] {
        bytes[frame * 4096 + 64] ^= 0xff;
    }
    std::fs::write(image, bytes).unwrap();
}

#[test]
fn a_world_that_keeps_dying_is_given_up_after_k_tries() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "300"]);
    let (mut watcher, addr) =
        supervise(&image, &["--max-failures", "3", "--backoff-ms", "50", "--stable-after", "20"]);
    let pid = child_pid(&mut watcher);
    watcher.expect("gnosis shell");
    let mut client = Client::connect(&addr);
    client.send("get nothing");
    client.expect("nothing is not set");

    // From now on every restart fails at once: the image cannot boot.
    damage_headers(&image);
    kill9(&pid);
    client.expect("restarting");
    let line = watcher.expect("not restarting it again");
    assert!(line.contains("died 3 times in a row"), "{line}");
    assert!(line.contains("gnosis fsck"), "the message names the next step: {line}");
    client.expect("could not be restarted");
    let status = watcher.child.wait().unwrap();
    assert!(!status.success(), "the supervisor reports the failure: {status:?}");
    let starts = watcher.seen.iter().filter(|l| l.contains("started gnosis run")).count();
    assert_eq!(starts, 3, "the first world and two restarts:\n{}", watcher.seen.join("\n"));
}

#[test]
fn an_image_that_cannot_boot_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    damage_headers(&image);
    let before = std::fs::read(&image).unwrap();
    let o = gnosis(&["supervise", image.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot be restarted"), "{}", text(&o));
    assert!(!text(&o).contains("started gnosis run"), "{}", text(&o));
    assert_eq!(std::fs::read(&image).unwrap(), before, "the image is unchanged");
}

/// Damages the directory of the newest checkpoint of `image` (whose world
/// runs, holding its lock: the header is read from a copy); its generation.
fn damage_newest_directory(image: &Path) -> u64 {
    let copy = std::fs::read(image).unwrap();
    let opened = disk_image::open(&disk_image::FaultyStorage::new(&copy, None), copy.len() as u64).unwrap();
    let d = opened.header.directory;
    assert_eq!(opened.header.state, disk_image::CheckpointState::Committed, "its migration is held");
    let frame = opened.layout.areas[d.area as usize].first + u64::from(d.first);
    let mut bytes = copy;
    bytes[frame as usize * 4096 + 100] ^= 0x55;
    std::fs::write(image, bytes).unwrap();
    opened.header.generation
}

#[test]
fn a_newest_checkpoint_that_keeps_failing_is_abandoned_for_the_kept_one_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "300"]);
    let path = image.to_str().unwrap();
    let flags =
        ["--max-failures", "2", "--backoff-ms", "50", "--stable-after", "20", "--keep-previous", "600"];
    let (mut watcher, addr) = supervise(&image, &flags);
    let pid = child_pid(&mut watcher);
    watcher.expect("gnosis shell");
    let mut client = Client::connect(&addr);
    client.send("set greeting hello");
    client.expect("ok");
    let o = gnosis(&["checkpoint", path]);
    assert!(o.status.success(), "{}", text(&o));

    // The newest checkpoint cannot be restarted any more; the one before it is intact.
    let newest = damage_newest_directory(&image);
    kill9(&pid);
    let line = watcher.expect("going back to the one before it");
    assert!(line.contains("died 2 times in a row"), "{line}");
    assert!(line.contains(&format!("committed again as generation {}", newest + 1)), "{line}");
    client.expect("goes back to the one before it");
    client.expect("the system is back");
    watcher.expect(&format!("from checkpoint generation {}", newest + 1));
    // The journaled write outlives the rollback, as it outlives any restart.
    client.send("get greeting");
    client.expect("greeting = hello");

    let o = Command::new("kill").args(["-INT", &watcher.child.id().to_string()]).output().unwrap();
    assert!(o.status.success());
    assert!(watcher.child.wait().unwrap().success());
    fsck_clean(&image);
}
