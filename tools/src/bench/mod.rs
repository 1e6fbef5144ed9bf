//! Measurements behind `gnosis bench` and BENCHMARKS.md: each figure is the
//! median of repeated runs, with min and max, and each comparison is a
//! ratio measured in the same run.

pub mod programs;
pub mod setup;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use kernel::cpu::Tier;
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
        // The raw write first, with nothing else going on; the checkpoint's
        // migration then runs after its measurement.
        let raw = raw_write_fsync(&dir.join("raw.bin"), dirty * 4096)?;
        let started = Instant::now();
        k.checkpoint_now()?;
        let checkpoint = started.elapsed();
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

/// Emulated instructions per second on the compute loop, through the
/// kernel (a domain whose memory lives in an image), by the interpreter
/// alone and with the translation tier; and, when `qemu-riscv32` is
/// installed, the same loop as a Linux executable under QEMU's JIT and the
/// ratios to it, measured in the same run. QEMU's rate is taken from the
/// difference of two runs of different lengths, so its process start-up
/// does not count; ours includes translating the loop, which each sample
/// does afresh (a new domain, a new code page).
pub fn compute_loop(dir: &Path, iterations: u32, samples: usize) -> anyhow::Result<Vec<Figure>> {
    let (mut k, path) = setup::fresh(dir, "interp.img", 64 << 20, Background::Inline)?;
    let qemu = qemu_available();
    let (long, short) = (dir.join("loop.elf"), dir.join("short-loop.elf"));
    if qemu {
        for (elf, n) in [(&long, iterations), (&short, iterations / 10)] {
            std::fs::write(elf, programs::compute_loop_linux(n)?)?;
            // qemu-user loads only executable files.
            std::fs::set_permissions(elf, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        }
    }
    let mut rates: [Vec<f64>; 5] = Default::default();
    for _ in 0..samples {
        let interpreted = loop_rate(&mut k, Tier::Interpret, iterations)?;
        let translated = loop_rate(&mut k, Tier::default(), iterations)?;
        rates[0].push(interpreted);
        rates[1].push(translated);
        if qemu {
            let extra = 12.0 * f64::from(iterations - iterations / 10);
            let qemu_rate = extra / (time_qemu(&long)? - time_qemu(&short)?) / 1e6;
            rates[2].push(qemu_rate);
            rates[3].push(interpreted / qemu_rate);
            rates[4].push(translated / qemu_rate);
        }
    }
    drop(k);
    std::fs::remove_file(path)?;
    let [interpreted, translated, theirs, interpreted_ratio, translated_ratio] = rates;
    let mut figures = vec![
        Figure::new("interpreter, compute loop", "M instr/s", interpreted, Some(Target::AtLeast(1000.0))),
        Figure::new("translation tier, compute loop", "M instr/s", translated, None),
        translation_time(samples)?,
    ];
    if qemu {
        figures.push(Figure::new("qemu-riscv32 (JIT), same loop", "M instr/s", theirs, None));
        figures.push(Figure::new(
            "interpreter / qemu-riscv32",
            "ratio",
            interpreted_ratio,
            Some(Target::AtLeast(0.3)),
        ));
        figures.push(Figure::new(
            "translation tier / qemu-riscv32",
            "ratio",
            translated_ratio,
            Some(Target::AtLeast(1.0)),
        ));
    }
    Ok(figures)
}

/// Time to translate the compute loop from its head (µs): what the tier
/// pays once for each hot block start.
fn translation_time(samples: usize) -> anyhow::Result<Figure> {
    let decoded = kernel::cpu::DecodedPage::decode(&domains::compute_loop::page());
    let mut translator = kernel::cpu::jit::Translator::for_host()
        .ok_or_else(|| anyhow::anyhow!("cranelift does not support this host"))?;
    let mut times = Vec::new();
    for _ in 0..samples {
        let started = Instant::now();
        translator.translate(&decoded, domains::compute_loop::BASE, domains::compute_loop::LOOP_HEAD)?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    Ok(Figure::new("translating the compute loop (one block start)", "µs", times, None))
}

/// One run of a fresh compute-loop domain with `tier`, M instr/s.
fn loop_rate(k: &mut Kernel, tier: Tier, iterations: u32) -> anyhow::Result<f64> {
    k.set_tier(tier);
    setup::loop_domain(k, iterations)?;
    let started = Instant::now();
    let ran = k.run(u64::MAX)?;
    let rate = ran as f64 / started.elapsed().as_secs_f64() / 1e6;
    anyhow::ensure!(ran == domains::compute_loop::instructions(iterations), "the loop stopped early");
    Ok(rate)
}

/// Whether `qemu-riscv32` can be run.
pub fn qemu_available() -> bool {
    std::process::Command::new("qemu-riscv32").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn time_qemu(elf: &Path) -> anyhow::Result<f64> {
    let started = Instant::now();
    let output = std::process::Command::new("qemu-riscv32").arg(elf).output()?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        output.stderr.is_empty() && output.status.code().is_some(),
        "qemu-riscv32 could not run {}: {}",
        elf.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(took)
}

/// CALL + RETURN round trip between two domains (ns): a client calls a
/// server that answers at once, `rounds` times.
pub fn ipc_round_trip(dir: &Path, rounds: u32, samples: usize) -> anyhow::Result<Figure> {
    let (mut k, path) = setup::fresh(dir, "ipc.img", 64 << 20, Background::Inline)?;
    let prime = kernel::builder::Builder::new(&mut k).prime_meter(u64::MAX)?;
    programs::ipc_pair(&mut k, prime)?;
    programs::round_trips(&mut k, u64::from(rounds) / 10)?;
    let mut times = Vec::new();
    for _ in 0..samples {
        let took = programs::round_trips(&mut k, u64::from(rounds))?;
        times.push(took.as_secs_f64() * 1e9 / f64::from(rounds));
    }
    drop(k);
    std::fs::remove_file(path)?;
    Ok(Figure::new("IPC round trip (CALL + RETURN)", "ns", times, Some(Target::AtMost(100.0))))
}

/// Resident memory the process gains (MiB) booting a world of `image_bytes`
/// and running it: it should be the working set plus the directory, not
/// the image.
pub fn memory(dir: &Path, image_bytes: u64, samples: usize) -> anyhow::Result<Figure> {
    let path = dir.join("memory.img");
    let mut grown = Vec::new();
    for _ in 0..samples {
        let _ = std::fs::remove_file(&path);
        setup::format_image(&path, image_bytes)?;
        {
            let mut k = setup::boot(&path, Background::Inline)?;
            domains::world::big_bang::build(&mut k, &Default::default())?;
            k.checkpoint_now()?;
            k.finish_background()?;
        }
        let before = resident_bytes()?;
        let mut k = setup::boot(&path, Background::Inline)?;
        for _ in 0..50 {
            k.run(1_000_000)?;
            std::thread::sleep(Duration::from_millis(2));
        }
        k.checkpoint_now()?;
        k.finish_background()?;
        grown.push(resident_bytes()?.saturating_sub(before) as f64 / f64::from(1 << 20));
    }
    std::fs::remove_file(path)?;
    let name = format!("resident memory added by a running {} world", crate_size(image_bytes));
    Ok(Figure::new(name, "MiB", grown, Some(Target::AtMost(64.0))))
}

/// The process's resident set (anonymous and file-backed), bytes.
fn resident_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/self/status"))?;
    Ok(kib * 1024)
}

fn crate_size(bytes: u64) -> String {
    if bytes >= 1 << 30 { format!("{} GiB", bytes >> 30) } else { format!("{} MiB", bytes >> 20) }
}
