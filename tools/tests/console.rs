//! The console of a running world against clients that misbehave: one that
//! never reads while a domain prints as fast as it can, a `gnosis run`
//! whose standard output nobody reads or that is closed (`| head`), input
//! that is not UTF-8 or has no end.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The instructions the `flood` domain has run, as the running world says.
fn flood_instructions(image: &Path) -> u64 {
    let o = gnosis_in_time(&["status", s(image), "--json"]);
    assert!(o.status.success(), "status answers: {}", text(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let flood = status["domains"].as_array().unwrap().iter().find(|d| d["name"] == "flood").cloned();
    flood.expect("a flood domain")["instructions"].as_u64().unwrap()
}

/// Connects a console client to the Unix socket at `path`, waiting for it
/// to be there.
fn connect(path: &Path) -> UnixStream {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match UnixStream::connect(path) {
            Ok(stream) => return stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => panic!("cannot connect to {path:?}: {e}"),
        }
    }
}

/// The lines `stream` receives (bytes: the console may carry anything).
fn lines_of(stream: &UnixStream) -> impl Iterator<Item = String> + use<> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    reader
        .split(b'\n')
        .map(|l| String::from_utf8_lossy(&l.expect("the client is still connected")).into_owned())
}

/// Reads `bytes` bytes from `stream`; what it read.
fn read_bytes(stream: &mut UnixStream, bytes: usize) -> Vec<u8> {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = vec![0u8; bytes];
    stream.read_exact(&mut got).expect("the console keeps sending");
    got
}

#[test]
fn a_console_client_that_never_reads_holds_up_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let image = flooded_world(dir.path());
    let console = dir.path().join("console.sock");
    let mut w = Instance::run(&["run", s(&image), "--listen", s(&console)]);
    w.expect("flood flood");
    let mut stalled = connect(&console);
    let mut reader = connect(&console);
    // More than the stalled client's socket buffer, its backlog in the
    // world and a time slice's output together: the world ran on past the
    // point where the stalled client stopped reading.
    let got = read_bytes(&mut reader, 6 << 20);
    assert!(got.windows(5).any(|w| w == b"flood"));
    let before = flood_instructions(&image);
    read_bytes(&mut reader, 1 << 20);
    assert!(flood_instructions(&image) > before, "the world runs on and answers status");
    // The stalled client missed output, and is told where.
    let mut lines = lines_of(&stalled);
    let marker = lines.find(|l| l.contains("bytes of console output were lost here")).expect("a marker line");
    assert!(marker.starts_with("[gnosis: "), "{marker}");
    // It is still a client: its input works.
    stalled.write_all(b"get nothing\n").unwrap();
    assert!(lines.any(|l| l.contains("nothing is not set")));
    assert!(w.interrupt().success(), "{}", w.seen.join("\n"));
    fsck_clean(&image);
}

#[test]
fn a_run_whose_standard_output_nobody_reads_runs_on_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let image = flooded_world(dir.path());
    // Standard output is a pipe that is never read: it fills at once.
    let mut run = Command::new(BIN)
        .args(["run", s(&image)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(run.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("control socket") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "gnosis run ended");
    }
    let first = flood_instructions(&image);
    // Far more than a pipe holds is printed meanwhile.
    let mut later = first;
    for _ in 0..3 {
        let o = gnosis_in_time(&["checkpoint", s(&image)]);
        assert!(o.status.success(), "{}", text(&o));
        later = flood_instructions(&image);
    }
    assert!(later > first, "the flood ran on: {first} then {later}");
    signal(run.id(), "INT");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = run.wait().unwrap();
    assert!(status.success() && rest.contains("final checkpoint"), "{status:?}: {rest}");
    drop(run.stdout.take());
    fsck_clean(&image);
}

#[test]
fn run_into_head_ends_with_its_final_checkpoint_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "300"]);
    let before = generation(&image);
    let o = Command::new("sh")
        .args(["-c", &format!("'{BIN}' run '{}' | head -1", image.display())])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    assert!(said.contains(&format!("final checkpoint, generation {}", before + 1)), "{said}");
    assert!(!said.contains("error") && !said.contains("panicked"), "{said}");
    assert_eq!(generation(&image), before + 1);
    fsck_clean(&image);
}

#[test]
fn sighup_stops_a_world_as_ctrl_c_does() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "300"]);
    let before = generation(&image);
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    signal(w.child.id(), "HUP");
    assert!(w.child.wait().unwrap().success());
    w.expect("final checkpoint");
    assert_eq!(generation(&image), before + 1);
}

#[test]
fn input_that_is_not_utf8_or_has_no_end_does_not_end_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let console = dir.path().join("console.sock");
    let mut w = Instance::run(&["run", s(&image), "--listen", s(&console)]);
    w.expect("type help");
    // On the terminal.
    w.stdin.write_all(b"\xff\xfe not utf-8\n").unwrap();
    w.send("get first");
    w.expect("first is not set");
    w.stdin.write_all(&[b'x'; 200_000]).unwrap();
    w.stdin.write_all(b"\n").unwrap();
    w.send("get second");
    w.expect("second is not set");
    // On a socket.
    let mut client = connect(&console);
    client.write_all(b"\xc3\x28\x80\n").unwrap();
    client.write_all(&[b'y'; 200_000]).unwrap();
    client.write_all(b"\nget third\n").unwrap();
    assert!(lines_of(&client).any(|l| l.contains("third is not set")));
    assert!(w.interrupt().success());
}
