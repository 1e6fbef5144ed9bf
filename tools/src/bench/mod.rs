//! Measurements behind `gnosis bench` and BENCHMARKS.md: each figure is the
//! median of repeated runs, with min and max, and each comparison is a
//! ratio measured in the same run.

pub mod setup;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use kernel::kernel::{Background, Kernel};

/// A target a figure should meet.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub enum Target {
    /// At most this much.
    AtMost(f64),
    /// At least this much.
    AtLeast(f64),
}

impl Target {
    /// Whether `value` meets the target.
    pub fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(t) => value <= t,
            Target::AtLeast(t) => value >= t,
        }
    }
}

/// One measured figure.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// Unit of the values.
    pub unit: &'static str,
    /// Median of the samples.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub samples: usize,
    /// What the figure should be.
    pub target: Option<Target>,
}

impl Figure {
    /// A figure from samples (at least one).
    pub fn new(
        name: impl Into<String>,
        unit: &'static str,
        mut samples: Vec<f64>,
        target: Option<Target>,
    ) -> Figure {
        assert!(!samples.is_empty(), "BENCH001 a figure needs samples");
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        Figure {
            name: name.into(),
            unit,
            median,
            min: samples[0],
            max: samples[samples.len() - 1],
            samples: samples.len(),
            target,
        }
    }

    /// Whether the median meets the target (no target: yes).
    pub fn meets_target(&self) -> bool {
        self.target.is_none_or(|t| t.met(self.median))
    }
}

/// Snapshot pause (µs) for an image of `image_bytes` with `dirty` pages
/// written since the last checkpoint.
pub fn checkpoint_pause(
    dir: &Path,
    image_bytes: u64,
    dirty: usize,
    samples: usize,
) -> anyhow::Result<Figure> {
    let (mut k, path) = setup::fresh(dir, "pause.img", image_bytes, Background::Thread)?;
    let pages = setup::pages(&mut k, dirty)?;
    let mut pauses = Vec::new();
    for i in 0..samples {
        k.finish_background()?;
        setup::dirty(&mut k, &pages, i as u64 + 1)?;
        k.request_checkpoint();
        k.step()?;
        pauses.push(k.checkpoint_stats().last_pause_ns as f64 / 1e3);
    }
    k.finish_background()?;
    drop(k);
    std::fs::remove_file(path)?;
    let name = format!("checkpoint pause, {} image, {dirty} dirty pages", crate_size(image_bytes));
    Ok(Figure::new(name, "µs", pauses, Some(Target::AtMost(100.0))))
}

/// Checkpoint write throughput for `dirty` pages, as a ratio to a raw
/// sequential write + fsync of the same bytes in the same directory.
pub fn checkpoint_throughput(dir: &Path, dirty: usize, samples: usize) -> anyhow::Result<(Figure, Figure)> {
    let image_bytes = ((dirty as u64 * 4096) * 8 * 3 / 2).max(64 << 20).next_power_of_two();
    let (mut k, path) = setup::fresh(dir, "throughput.img", image_bytes, Background::Thread)?;
    let pages = setup::pages(&mut k, dirty)?;
    let bytes = dirty as f64 * 4096.0;
    let (mut ratios, mut rates) = (Vec::new(), Vec::new());
    for i in 0..samples {
        k.finish_background()?;
        setup::dirty(&mut k, &pages, i as u64 + 1)?;
        let started = Instant::now();
        k.checkpoint_now()?;
        let checkpoint = started.elapsed();
        let raw = raw_write_fsync(&dir.join("raw.bin"), dirty * 4096)?;
        ratios.push(raw.as_secs_f64() / checkpoint.as_secs_f64());
        rates.push(bytes / checkpoint.as_secs_f64() / (1 << 20) as f64);
    }
    k.finish_background()?;
    drop(k);
    std::fs::remove_file(path)?;
    let mib = (dirty * 4096) >> 20;
    Ok((
        Figure::new(format!("checkpoint write throughput, {mib} MiB"), "MiB/s", rates, None),
        Figure::new(
            format!("checkpoint throughput / raw write+fsync, {mib} MiB"),
            "ratio",
            ratios,
            Some(Target::AtLeast(0.9)),
        ),
    ))
}

fn raw_write_fsync(path: &Path, bytes: usize) -> anyhow::Result<Duration> {
    let block = vec![0x5Au8; 1 << 20];
    let started = Instant::now();
    let mut f = std::fs::File::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len());
        f.write_all(&block[..n])?;
        left -= n;
    }
    f.sync_all()?;
    let took = started.elapsed();
    drop(f);
    std::fs::remove_file(path)?;
    Ok(took)
}

/// Restart to the first instruction (ms) of an image of `image_bytes` whose
/// newest checkpoint has `unmigrated` frames awaiting migration (warm page cache).
pub fn restart_time(
    dir: &Path,
    image_bytes: u64,
    unmigrated: usize,
    samples: usize,
) -> anyhow::Result<Figure> {
    let (mut k, path) = setup::fresh(dir, "restart.img", image_bytes, Background::Inline)?;
    setup::loop_domain(&mut k, 1000)?;
    let pages = setup::pages(&mut k, unmigrated)?;
    setup::dirty(&mut k, &pages, 1)?;
    k.checkpoint_now()?;
    // Dropped before migration runs: the image restarts with the whole directory unmigrated.
    drop(k);
    let mut times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        let mut k = setup::boot(&path, Background::Inline)?;
        let ran = k.run(1)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(ran, 1, "BENCH002 the domain did not run after restart");
        assert!(k.checkpoint_header().directory.entries as usize >= unmigrated);
    }
    std::fs::remove_file(path)?;
    let name =
        format!("restart to first instruction, {} image, {unmigrated} unmigrated", crate_size(image_bytes));
    Ok(Figure::new(name, "ms", times, Some(Target::AtMost(20.0))))
}

/// Domain instruction throughput while migration runs, as a ratio to the
/// same domain with no migration.
pub fn migration_interference(dir: &Path, dirty: usize, samples: usize) -> anyhow::Result<Figure> {
    let image_bytes = ((dirty as u64 * 4096) * 8 * 3 / 2).max(64 << 20).next_power_of_two();
    let (mut k, path) = setup::fresh(dir, "interference.img", image_bytes, Background::Thread)?;
    setup::loop_domain(&mut k, u32::MAX >> 1)?;
    let pages = setup::pages(&mut k, dirty)?;
    let chunk = 50_000_000;
    let mut ratios = Vec::new();
    for i in 0..samples {
        k.finish_background()?;
        let idle = instructions_per_second(&mut k, chunk)?;
        setup::dirty(&mut k, &pages, i as u64 + 1)?;
        k.checkpoint_now()?;
        let busy = instructions_per_second(&mut k, chunk)?;
        ratios.push(busy / idle);
    }
    k.finish_background()?;
    drop(k);
    std::fs::remove_file(path)?;
    let mib = (dirty * 4096) >> 20;
    Ok(Figure::new(
        format!("domain throughput while migrating {mib} MiB / idle"),
        "ratio",
        ratios,
        Some(Target::AtLeast(0.9)),
    ))
}

fn instructions_per_second(k: &mut Kernel, instructions: u64) -> anyhow::Result<f64> {
    let started = Instant::now();
    let ran = k.run(instructions)?;
    anyhow::ensure!(ran == instructions, "the loop domain stopped early");
    Ok(ran as f64 / started.elapsed().as_secs_f64())
}

fn crate_size(bytes: u64) -> String {
    if bytes >= 1 << 30 { format!("{} GiB", bytes >> 30) } else { format!("{} MiB", bytes >> 20) }
}
