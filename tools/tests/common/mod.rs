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
        Instance::run_with_env(args, &[])
    }

    /// Starts `gnosis ARGS` with environment variables `env` set.
    pub fn run_with_env(args: &[&str], env: &[(&str, &Path)]) -> Instance {
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().copied())
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
                // Bytes, not UTF-8: a world may print anything, and a reader
                // that stopped would close the pipe (and stop the world).
                for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                    if tx.send(String::from_utf8_lossy(&line).into_owned()).is_err() {
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

/// Runs `gnosis ARGS`, failing the test if it has not ended within
/// [`PATIENCE`] (a command that hangs is a bug too).
pub fn gnosis_in_time(args: &[&str]) -> Output {
    gnosis_in_time_with_env(args, &[])
}

/// [`gnosis_in_time`] with environment variables `env` set.
pub fn gnosis_in_time_with_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gnosis");
    let pid = child.id();
    let (done, ended) = channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match ended.recv_timeout(PATIENCE) {
        Ok(output) => output.expect("wait for gnosis"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("gnosis {args:?} still runs after {PATIENCE:?}")
        }
    }
}

/// A program that prints a 60-byte line forever (key 1: the console).
pub const FLOOD: &str = "    .include \"gnosis.inc\"
_start:
    la s0, text
    li s1, 60
again:
    KCALL_SEND 1, CONSOLE_WRITE, s0, s1
    j again
    .data
text: .ascii \"flood flood flood flood flood flood flood flood flood flood\\n\"
";

/// Assembles `source` (which may include gnosis.inc) into `dir/NAME.elf`.
pub fn program(dir: &Path, name: &str, source: &str) -> PathBuf {
    let s = dir.join(format!("{name}.s"));
    std::fs::write(&s, source).unwrap();
    let elf = dir.join(format!("{name}.elf"));
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domains/include");
    let o =
        gnosis(&["asm", s.to_str().unwrap(), "-I", include.to_str().unwrap(), "-o", elf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    elf
}

/// A world in `dir` with [`FLOOD`] installed as `flood`, printing to the console.
pub fn flooded_world(dir: &Path) -> PathBuf {
    let image = world(dir, &["--checkpoint-interval", "300"]);
    let elf = program(dir, "flood", FLOOD);
    let o = gnosis(&[
        "install",
        image.to_str().unwrap(),
        elf.to_str().unwrap(),
        "--name",
        "flood",
        "--key",
        "console",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    image
}

/// The resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix(" kB")?.trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// The newest checkpoint generation of a stopped `image`.
pub fn generation(image: &Path) -> u64 {
    let out = text(&gnosis(&["inspect", image.to_str().unwrap()]));
    out.lines()
        .find_map(|l| l.strip_prefix("checkpoint  generation ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no generation in: {out}"))
}

/// Sends `signal` (e.g. "INT", "STOP") to process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let o = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).output().unwrap();
    assert!(o.status.success(), "kill -{signal} {pid}: {}", text(&o));
}

impl Instance {
    /// Waits for the control socket line; the socket's path.
    pub fn control_socket(&mut self) -> PathBuf {
        let line = self.expect("gnosis: control socket ");
        PathBuf::from(line.trim_start_matches("gnosis: control socket ").trim())
    }

    /// Stops the world as Ctrl-C does and waits for it; its exit status
    /// (what it said on the way out joins `seen`).
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        signal(self.child.id(), "INT");
        let status = self.child.wait().unwrap();
        // The readers end with the process: this ends once they have.
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.seen.push(line);
        }
        status
    }
}
