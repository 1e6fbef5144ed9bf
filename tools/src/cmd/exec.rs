//! `gnosis exec PROGRAM.elf [--key GRANT]…`: run one RV32IM executable as a
//! lone domain until it stops, the way `qemu-riscv32` runs a program, so a
//! domain can be tested from a shell.
//!
//! The domain gets the keys named, in key registers 1, 2, … (as `install`
//! gives them); `console` is a console device key, whose writes go to
//! stdout as they happen. Nothing else is printed unless the program stops
//! abnormally (one line on stderr) or `--report` asks for the registers and
//! figures. The exit status ([`exit_status`]) says how it stopped; a closed
//! stdout (`gnosis exec prog | head -1`) stops the program quietly.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use disk_image::storage::{MmapStorage, Storage};
use disk_image::{FRAME_BYTES, Geometry};
use domains::world::install::Grant;
use kernel::builder::{Builder, DomainSpec};
use kernel::clock::Clock;
use kernel::device::CONSOLE;
use kernel::domain::{Dib, RunState};
use kernel::kernel::{Background, Config, Kernel};
use kernel::key::{Cda, Key, KeyType, MiscKind};
use kernel::{elf, object, restart, trap};

/// Arguments of `gnosis exec`.
#[derive(clap::Args)]
pub struct Args {
    /// The RV32IM ELF executable to run.
    pub program: PathBuf,
    /// Run in this existing image instead of a scratch one.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Stop after this many instructions (exit status 124).
    #[arg(long, value_name = "N")]
    pub max_instructions: Option<u64>,
    /// A key to give the program, in key registers 1, 2, … in order:
    /// console (its writes go to stdout), timer, checkpoint, returner,
    /// discrim, bwait:N.
    #[arg(long = "key", value_name = "GRANT")]
    pub keys: Vec<Grant>,
    /// Print how it stopped, the instruction count, speed and registers on stderr.
    #[arg(long)]
    pub report: bool,
}

/// Scratch images are this big (sparse: only what is written takes space).
const SCRATCH_BYTES: u64 = 64 << 20;
/// Instructions between looks at the console output.
const SLICE: u64 = 1_000_000;
/// How long a waiting program may see nothing happen (no timer pending)
/// before exec decides its reply will never come.
const QUIET_WAIT: Duration = Duration::from_secs(5);

/// Exit status: the program could not be loaded (the shell's "cannot execute").
pub const STATUS_CANNOT_EXECUTE: u8 = 126;
/// Exit status: the instruction limit was reached (as timeout(1)).
pub const STATUS_LIMIT: u8 = 124;
/// Exit status: the program can run no further (available, or waiting for a
/// reply that will not come).
pub const STATUS_STUCK: u8 = 125;
/// Exit status: a memory fault (as a program killed by SIGSEGV).
pub const STATUS_MEMORY_FAULT: u8 = 139;
/// Exit status: stdout was closed (as a program killed by SIGPIPE).
pub const STATUS_CLOSED_PIPE: u8 = 141;

/// How the run ended.
enum End {
    /// The domain trapped or stopped running.
    Stopped,
    /// The instruction limit was reached.
    Limit,
    /// Stdout was closed.
    ClosedPipe,
}

/// Loads the program into a new domain and runs it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let program = match load_program(&args) {
        Ok(program) => program,
        Err(error) => {
            eprintln!("gnosis exec: {error:#}");
            return Ok(ExitCode::from(STATUS_CANNOT_EXECUTE));
        }
    };
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
    let root = build_domain(&mut kernel, &program, &args.keys)?;
    let limit = args.max_instructions.unwrap_or(u64::MAX);
    let start = Instant::now();
    let (executed, end) = run_until_stopped(&mut kernel, root, limit)?;
    let elapsed = start.elapsed();
    let d = kernel.domain_state(root)?.context("the domain vanished")?;
    let status = exit_status(d, &end);
    if args.report {
        report(d, &end, executed, elapsed);
    } else if status != 0 && !matches!(end, End::ClosedPipe) {
        eprintln!("gnosis exec: {} (exit status {status})", why(d, &end));
    }
    if args.image.is_some() {
        let generation = kernel.checkpoint_now()?;
        kernel.finish_background()?;
        eprintln!("checkpoint: generation {generation} written to {}", path.display());
    }
    Ok(ExitCode::from(status))
}

fn load_program(args: &Args) -> anyhow::Result<elf::Program> {
    if let Some(grant) =
        args.keys.iter().find(|g| matches!(g, Grant::Bank | Grant::Start(_) | Grant::Meter | Grant::Space))
    {
        anyhow::bail!(
            "--key {grant}: exec runs a lone domain with no world around it (no bank, no other domains, \
             no meters); use `gnosis install` for that"
        );
    }
    anyhow::ensure!(
        args.keys.len() <= 15,
        "a domain has 15 key registers; {} keys were asked for",
        args.keys.len()
    );
    let bytes = tools::user_file::read(&args.program, tools::control::MAX_PROGRAM_BYTES, "a program")?;
    elf::parse(&bytes).with_context(|| format!("{} cannot be run", args.program.display()))
}

fn scratch_image(path: &std::path::Path) -> anyhow::Result<PathBuf> {
    let geometry = Geometry::for_size(SCRATCH_BYTES)?;
    let storage = MmapStorage::create(path, geometry.total_frames)?;
    disk_image::format(&storage, geometry, rand::random(), kernel::clock::wall_now_ns())?;
    debug_assert_eq!(std::fs::metadata(path)?.len(), geometry.total_frames * FRAME_BYTES);
    Ok(path.to_path_buf())
}

/// The key a grant names in a lone domain's world.
fn grant_key(kernel: &Kernel, grant: &Grant) -> Key {
    match grant {
        Grant::Console => Key::device(CONSOLE, 0, kernel.restart_stamp()),
        Grant::Timer => Key::misc(MiscKind::SystemTimer),
        Grant::Checkpoint => Key::misc(MiscKind::Checkpoint),
        Grant::Bwait(n) => Key::misc_indexed(MiscKind::Bwait, *n),
        Grant::Returner => Key::misc(MiscKind::Returner),
        Grant::Discrim => Key::misc(MiscKind::Discrim),
        Grant::Dkc => Key::misc(MiscKind::DataKeyCreator),
        Grant::Journalize => Key::misc(MiscKind::Journalize),
        Grant::Bank | Grant::Start(_) | Grant::Meter | Grant::Space => {
            unreachable!("EXEC001 refused by load_program")
        }
    }
}

fn build_domain(kernel: &mut Kernel, program: &elf::Program, grants: &[Grant]) -> anyhow::Result<Cda> {
    let keys = grants.iter().enumerate().map(|(i, g)| (i + 1, grant_key(kernel, g))).collect();
    let prime = kernel.config().prime_meter;
    let prime_exists = object::allocation(kernel.store(), prime).allocated;
    let mut b = Builder::new(kernel);
    let prime_key = if prime_exists { b.key(KeyType::Meter, prime, 0) } else { b.prime_meter(u64::MAX)? };
    let meter = b.meter(prime_key, u64::MAX, Key::NULL)?;
    let space = b.address_space()?;
    let (pc, sp) = elf::load(&mut b, space, program)?;
    let spec = DomainSpec { memory: space, meter, pc, sp, keys, name: "exec".into(), ..Default::default() };
    Ok(b.domain(&spec)?)
}

/// Runs until the domain traps or can go no further, the limit is reached
/// or stdout closes, copying console output to stdout as it comes.
fn run_until_stopped(kernel: &mut Kernel, root: Cda, limit: u64) -> anyhow::Result<(u64, End)> {
    let mut executed = 0;
    let mut quiet_since = Instant::now();
    let end = loop {
        if executed >= limit {
            break End::Limit;
        }
        if kernel.has_ready() {
            executed += kernel.run((limit - executed).min(SLICE))?;
            quiet_since = Instant::now();
        } else if waiting_for_kernel(kernel, root, quiet_since)? {
            kernel.step()?;
            let now = kernel.clock().now_ns();
            let wait = kernel.next_timer().map_or(Duration::from_millis(5), |t| {
                Duration::from_nanos(t.saturating_sub(now)).min(Duration::from_millis(20))
            });
            std::thread::sleep(wait);
        }
        if !copy_output(kernel) {
            break End::ClosedPipe;
        }
        let d = kernel.domain_state(root)?.context("the domain vanished")?;
        if d.trap.code != 0 || (!kernel.has_ready() && !waiting_for_kernel(kernel, root, quiet_since)?) {
            break End::Stopped;
        }
    };
    Ok((executed, end))
}

/// Whether the domain waits for something the kernel will still do: a
/// timer, or (for a while) anything else, such as a checkpoint.
fn waiting_for_kernel(kernel: &mut Kernel, root: Cda, quiet_since: Instant) -> anyhow::Result<bool> {
    let waiting =
        kernel.domain_state(root)?.is_some_and(|d| d.state == RunState::Waiting && d.trap.code == 0);
    Ok(waiting && (kernel.next_timer().is_some() || quiet_since.elapsed() < QUIET_WAIT))
}

/// Copies the console output to stdout; false once stdout is closed.
fn copy_output(kernel: &mut Kernel) -> bool {
    let out = kernel.console().take_output();
    if out.is_empty() {
        return true;
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out).and_then(|()| stdout.flush()).is_ok()
}

/// The exit status: 0 at `ebreak` with a0 = 0; the trap code for any other
/// trap (so 2 at `ebreak` with a0 ≠ 0, 1 for an illegal instruction);
/// [`STATUS_MEMORY_FAULT`] for memory faults (codes 0x100 + c, which do not
/// fit a status; the message names the code); [`STATUS_LIMIT`],
/// [`STATUS_STUCK`] and [`STATUS_CLOSED_PIPE`] for the other ends.
fn exit_status(d: &Dib, end: &End) -> u8 {
    match (end, d.trap.code) {
        (End::ClosedPipe, _) => STATUS_CLOSED_PIPE,
        (_, trap::BREAKPOINT) if d.hart.x(10) == 0 => 0,
        (_, code) if code >= trap::MEMORY_FAULT_BASE => STATUS_MEMORY_FAULT,
        (_, code) if code != 0 => code as u8,
        (End::Limit, _) => STATUS_LIMIT,
        _ => STATUS_STUCK,
    }
}

fn why(d: &Dib, end: &End) -> String {
    match (end, d.state, d.trap.code) {
        (_, _, trap::BREAKPOINT) => {
            format!("stopped at ebreak, pc {:#010x}, a0 = {}", d.trap.pc, d.hart.x(10) as i32)
        }
        (_, _, code) if code != 0 => format!(
            "trap {code:#x}: {} at pc {:#010x} (detail {:#x})",
            trap::describe(code),
            d.trap.pc,
            d.trap.detail
        ),
        (End::Limit, _, _) => "instruction limit reached".into(),
        (End::ClosedPipe, _, _) => "stdout closed".into(),
        (_, RunState::Running, _) => "stalled (waiting for a busy domain)".into(),
        (_, RunState::Available, _) => "became available (returned with nothing to wait for)".into(),
        (_, RunState::Waiting, _) => "waiting for a reply that will not come".into(),
    }
}

fn report(d: &Dib, end: &End, executed: u64, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let mut lines = vec![
        format!("stopped:       {}", why(d, end)),
        format!("exit status:   {}", exit_status(d, end)),
        format!("instructions:  {executed}"),
        format!("wall time:     {:.3} ms", seconds * 1e3),
        format!("speed:         {:.1} M instructions/s", executed as f64 / seconds.max(1e-9) / 1e6),
        format!("pc             {:#010x}", d.hart.pc),
    ];
    const NAMES: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ];
    for row in 0..8 {
        let cells: Vec<String> = (0..4)
            .map(|c| row * 4 + c)
            .map(|i| format!("x{i:<2} {:<4} {:#010x}", NAMES[i], d.hart.x(i)))
            .collect();
        lines.push(cells.join("   "));
    }
    let _ = writeln!(std::io::stderr(), "{}", lines.join("\n"));
}
