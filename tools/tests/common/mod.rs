//! Helpers shared by the process tests: the real `gnosis` binary, worlds
//! made with `gnosis format`, and running instances read line by line.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gnosis");
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn gnosis(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run gnosis")
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn world(dir: &Path, extra: &[&str]) -> PathBuf {
    let path = dir.join("world.img");
    let mut args = vec!["format", path.to_str().unwrap(), "--size", "16MiB"];
    args.extend_from_slice(extra);
    let o = gnosis(&args);
    assert!(o.status.success(), "{}", text(&o));
    path
}

/// A running `gnosis run` with its console on pipes.
pub struct Instance {
    pub child: Child,
    pub stdin: ChildStdin,
    pub lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Instance {
    pub fn start(image: &Path) -> Instance {
        Instance::run(&["run", image.to_str().unwrap()])
    }

    /// Starts `gnosis ARGS`.
    pub fn run(args: &[&str]) -> Instance {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gnosis run");
        let (tx, lines) = channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take().unwrap();
        Instance { child, stdin, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `pattern`; returns it.
    pub fn expect(&mut self, pattern: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(pattern) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no line with {pattern:?}; the instance said:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The counter values printed so far.
    pub fn counts(&self) -> Vec<u64> {
        self.seen.iter().filter_map(|l| l.strip_prefix("counter: ")?.parse().ok()).collect()
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

pub fn fsck_clean(image: &Path) {
    let o = gnosis(&["fsck", image.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("clean"), "{}", text(&o));
}

/// Whether the tool `program` runs. When it is missing the test is skipped
/// with a note, unless `require` is set in the environment (CI sets it
/// after installing the tool): then a missing tool fails the test.
pub fn installed(program: &str, require: &str) -> bool {
    let found = Command::new(program).arg("-V").output().is_ok();
    if !found && std::env::var_os(require).is_some() {
        panic!("{program} is not installed (apt-get install {program}) and {require} is set");
    }
    if !found {
        eprintln!("skipped: {program} is not installed (apt-get install {program})");
    }
    found
}
