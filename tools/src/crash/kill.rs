//! Real crashes (`gnosis crash --kill N`): `gnosis run` as a child process,
//! key-value writes typed at its console and acknowledged, SIGKILL at a
//! random moment, then checks: the image is clean (fsck), its checkpoint
//! generation never went back, and, at the end, every acknowledged write
//! is still there.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use disk_image::storage::{MmapStorage, Storage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How long to wait for an answer before calling the run a failure.
const PATIENCE: Duration = Duration::from_secs(30);
/// Writes acknowledged per round before the kill.
const WRITES_PER_ROUND: usize = 3;

/// One kill.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Round {
    /// Milliseconds after the last acknowledgement the process was killed.
    pub killed_after_ms: u64,
    /// Checkpoint generation on disk just before the kill.
    pub generation_before: u64,
    /// Checkpoint generation the image restarts from.
    pub generation_after: u64,
    /// What fsck said (empty: clean).
    pub fsck: Vec<String>,
}

/// A finished `--kill` run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KillReport {
    /// Every kill.
    pub rounds: Vec<Round>,
    /// Writes acknowledged before some kill.
    pub acknowledged: usize,
    /// Acknowledged writes missing at the end (each a failure).
    pub lost: Vec<String>,
}

impl KillReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.rounds.iter().all(|r| r.fsck.is_empty() && r.generation_after >= r.generation_before)
    }
}

/// Kills `gnosis` (`binary`) running `image` `rounds` times.
pub fn run(binary: &Path, image: &Path, rounds: usize, seed: u64) -> anyhow::Result<KillReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = KillReport { rounds: Vec::new(), acknowledged: 0, lost: Vec::new() };
    let mut written = Vec::new();
    for round in 0..rounds {
        let mut child = Child_::start(binary, image)?;
        for i in 0..WRITES_PER_ROUND {
            let (key, value) = (format!("kill{round}x{i}"), format!("{}", rng.r#gen::<u32>()));
            child.send(&format!("set {key} {value}"))?;
            child.expect("ok")?;
            written.push((key, value));
        }
        child.send(&format!("set unacknowledged{round} maybe"))?;
        let killed_after_ms = rng.gen_range(0..1500);
        std::thread::sleep(Duration::from_millis(killed_after_ms));
        let generation_before = generation(image)?;
        child.kill()?;
        let generation_after = generation(image)?;
        report.rounds.push(Round {
            killed_after_ms,
            generation_before,
            generation_after,
            fsck: fsck(image)?,
        });
    }
    report.acknowledged = written.len();
    let mut child = Child_::start(binary, image)?;
    for (key, value) in &written {
        child.send(&format!("get {key}"))?;
        let line = child.expect(&format!("{key} "))?;
        if line != format!("{key} = {value}") {
            report.lost.push(format!("{key}: wanted {value}, found '{line}'"));
        }
    }
    child.kill()?;
    Ok(report)
}

/// The newest valid checkpoint generation of the image, read from a copy
/// of its bytes: while the world runs it holds the image's lock.
fn generation(image: &Path) -> anyhow::Result<u64> {
    let bytes = std::fs::read(image)?;
    let opened = disk_image::open(&disk_image::FaultyStorage::new(&bytes, None), bytes.len() as u64)?;
    Ok(opened.header.generation)
}

/// fsck's errors for the image (empty when clean).
fn fsck(image: &Path) -> anyhow::Result<Vec<String>> {
    let storage: Arc<dyn Storage> = Arc::new(MmapStorage::open_read_only(image)?);
    let len = std::fs::metadata(image)?.len();
    let report = kernel::check::check_image(storage, len)?;
    Ok(report.errors().map(|f| format!("[{}] {}", f.tag, f.what)).collect())
}

/// A `gnosis run` child with its console on pipes.
struct Child_ {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Child_ {
    fn start(binary: &Path, image: &Path) -> anyhow::Result<Child_> {
        let mut child = Command::new(binary)
            .arg("run")
            .arg(image)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let (tx, lines) = channel();
        let streams: [Box<dyn std::io::Read + Send>; 2] =
            [Box::new(child.stdout.take().expect("piped")), Box::new(child.stderr.take().expect("piped"))];
        for stream in streams {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take().expect("piped");
        Ok(Child_ { child, stdin, lines, seen: Vec::new() })
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}")?;
        Ok(self.stdin.flush()?)
    }

    fn expect(&mut self, pattern: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + PATIENCE;
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push(line.clone());
            if line.contains(pattern) {
                return Ok(line);
            }
        }
        bail!("gnosis run never printed {pattern:?}; it printed:\n{}", self.seen.join("\n"))
    }

    fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

/// A fresh world to kill, in `dir`.
pub fn fresh_world(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("kill.img");
    let settings = domains::world::big_bang::Settings { checkpoint_interval_s: 1 };
    crate::world::create(&path, 16 << 20, Some(settings))?;
    Ok(path)
}
