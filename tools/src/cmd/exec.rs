//! `gnosis exec PROGRAM.elf`: run one RV32IM executable as a lone domain
//! until it stops, and report what it did.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use disk_image::storage::{MmapStorage, Storage};
use disk_image::{FRAME_BYTES, Geometry};
use kernel::builder::{Builder, DomainSpec};
use kernel::clock::Clock;
use kernel::domain::RunState;
use kernel::kernel::{Background, Config, Kernel};
use kernel::key::{Cda, KeyType};
use kernel::{elf, object, restart, trap};

/// Arguments of `gnosis exec`.
#[derive(clap::Args)]
pub struct Args {
    /// The RV32IM ELF executable to run.
    pub program: PathBuf,
    /// Run in this existing image instead of a scratch one.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Stop after this many instructions.
    #[arg(long, value_name = "N")]
    pub max_instructions: Option<u64>,
}

/// Scratch images are this big (sparse: only what is written takes space).
const SCRATCH_BYTES: u64 = 64 << 20;

/// Loads the program into a new domain and runs it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.program).with_context(|| format!("cannot read {}", args.program.display()))?;
    let program = elf::parse(&bytes).with_context(|| format!("{} cannot be run", args.program.display()))?;
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let path = match &args.image {
        Some(p) => p.clone(),
        None => scratch_image(&scratch.path().join("exec.img"))?,
    };
    let storage: Arc<dyn Storage> =
        Arc::new(MmapStorage::open(&path).with_context(|| format!("cannot open image {}", path.display()))?);
    let len = std::fs::metadata(&path)?.len();
    let loaded = restart::load(storage, len)?;
    let h = &loaded.opened.header;
    let clock = Clock::real_after_restart(h.checkpoint_time_ns, h.wall_time_ns);
    let mut kernel = Kernel::boot(loaded, clock, Config::default(), Background::Thread)?;
    let root = build_domain(&mut kernel, &program)?;
    let limit = args.max_instructions.unwrap_or(u64::MAX);
    let start = Instant::now();
    let executed = run_until_stopped(&mut kernel, root, limit)?;
    let elapsed = start.elapsed();
    report(&mut kernel, root, executed, elapsed, limit)?;
    if args.image.is_some() {
        let generation = kernel.checkpoint_now()?;
        kernel.finish_background()?;
        println!("checkpoint:    generation {generation} written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn scratch_image(path: &std::path::Path) -> anyhow::Result<PathBuf> {
    let geometry = Geometry::for_size(SCRATCH_BYTES)?;
    let storage = MmapStorage::create(path, geometry.total_frames)?;
    disk_image::format(&storage, geometry, rand::random(), kernel::clock::wall_now_ns())?;
    debug_assert_eq!(std::fs::metadata(path)?.len(), geometry.total_frames * FRAME_BYTES);
    Ok(path.to_path_buf())
}

fn build_domain(kernel: &mut Kernel, program: &elf::Program) -> anyhow::Result<Cda> {
    let prime = kernel.config().prime_meter;
    let prime_exists = object::allocation(kernel.store(), prime).allocated;
    let mut b = Builder::new(kernel);
    let prime_key = if prime_exists { b.key(KeyType::Meter, prime, 0) } else { b.prime_meter(u64::MAX)? };
    let meter = b.meter(prime_key, u64::MAX, kernel::key::Key::NULL)?;
    let space = b.address_space()?;
    let (pc, sp) = elf::load(&mut b, space, program)?;
    Ok(b.domain(&DomainSpec { memory: space, meter, pc, sp, name: "exec".into(), ..Default::default() })?)
}

fn run_until_stopped(kernel: &mut Kernel, root: Cda, limit: u64) -> anyhow::Result<u64> {
    let mut executed = 0;
    while executed < limit {
        let before = kernel.stats().instructions;
        kernel.run(limit - executed)?;
        executed += kernel.stats().instructions - before;
        let state = kernel.domain_state(root)?.map(|d| d.state);
        if state != Some(RunState::Running) || kernel.ready().next().is_none() {
            break;
        }
    }
    Ok(executed)
}

fn report(
    kernel: &mut Kernel,
    root: Cda,
    executed: u64,
    elapsed: std::time::Duration,
    limit: u64,
) -> anyhow::Result<()> {
    let d = kernel.domain_state(root)?.context("the domain vanished")?;
    let why = match (d.state, d.trap.code) {
        (_, code) if code != 0 => format!(
            "trap {code}: {} at pc {:#010x} (detail {:#x})",
            trap::describe(code),
            d.trap.pc,
            d.trap.detail
        ),
        (RunState::Running, _) if executed >= limit => format!("instruction limit of {limit} reached"),
        (RunState::Running, _) => "stalled (waiting for a busy domain)".into(),
        (RunState::Available, _) => "became available (returned with nothing to wait for)".into(),
        (RunState::Waiting, _) => "waiting for a reply that will not come".into(),
    };
    let seconds = elapsed.as_secs_f64();
    println!("stopped:       {why}");
    println!("instructions:  {executed}");
    println!("wall time:     {:.3} ms", seconds * 1e3);
    println!("speed:         {:.1} M instructions/s", executed as f64 / seconds.max(1e-9) / 1e6);
    println!("pc             {:#010x}", d.hart.pc);
    const NAMES: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ];
    for row in 0..8 {
        let cells: Vec<String> = (0..4)
            .map(|c| row * 4 + c)
            .map(|i| format!("x{i:<2} {:<4} {:#010x}", NAMES[i], d.hart.x(i)))
            .collect();
        println!("{}", cells.join("   "));
    }
    Ok(())
}
