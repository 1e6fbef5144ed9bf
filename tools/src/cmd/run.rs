//! `gnosis run [IMAGE]`: boot (or restart) a world and run it until Ctrl-C,
//! with the console on the terminal (and on `--listen` sockets), a control
//! socket for `gnosis checkpoint`, and a final checkpoint on the way out.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam::channel::{Receiver, Sender, unbounded};
use kernel::cpu::Tier;
use kernel::kernel::{Background, Config, Kernel};
use tools::gdb::Debuggable;

use super::control;

/// Arguments of `gnosis run`.
#[derive(clap::Args)]
pub struct Args {
    /// The image to run (default: the default world in the data directory, made on first use).
    pub image: Option<PathBuf>,
    /// Also serve the console on this address (host:port for TCP, or a path for a Unix socket).
    #[arg(long)]
    pub listen: Option<String>,
    /// Stop after this many instructions.
    #[arg(long)]
    pub until_instructions: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub until_seconds: Option<f64>,
    /// Stop once the console has printed this text.
    #[arg(long)]
    pub until_output: Option<String>,
    /// Stop without the final checkpoint (as a crash would).
    #[arg(long)]
    pub no_final_checkpoint: bool,
    /// Serve the GDB remote protocol on this address (host:port) for one domain.
    #[arg(long, value_name = "ADDR")]
    pub gdb: Option<String>,
    /// The domain GDB debugs, by name (default: the one installed last).
    #[arg(long, value_name = "NAME", requires = "gdb")]
    pub domain: Option<String>,
    /// Stop the rest of the world whenever the debugged domain is stopped.
    #[arg(long, requires = "gdb")]
    pub gdb_pause_world: bool,
    /// Hold each checkpoint's migration this many seconds, so the checkpoint
    /// before it can still be restarted (`gnosis supervise` falls back to it).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub keep_previous: f64,
    /// The descriptor of the channel from `gnosis supervise` (set by the supervisor only).
    #[arg(long, hide = true)]
    pub handoff_fd: Option<i32>,
    /// Run domains' code with the interpreter alone, never translating it
    /// to host code (for comparing the tiers, or on a host cranelift lacks).
    #[arg(long)]
    pub interpret: bool,
    /// Size of the default image when it is made.
    #[arg(long, value_parser = crate::size::parse_size, default_value = "256MiB")]
    pub size: u64,
}

/// The default world's image: `$XDG_DATA_HOME/gnosis/world.img` or the platform's equivalent.
pub fn default_image() -> anyhow::Result<PathBuf> {
    let dir = dirs::data_dir().context("no data directory for this user; give an IMAGE")?.join("gnosis");
    Ok(dir.join("world.img"))
}

/// `image`, which must exist; or the default world, made (of `size` bytes)
/// if it does not exist yet.
pub fn image_or_new_world(image: Option<PathBuf>, size: u64) -> anyhow::Result<PathBuf> {
    let path = match &image {
        Some(p) => p.clone(),
        None => default_image()?,
    };
    if !path.exists() {
        if image.is_some() {
            anyhow::bail!(
                "{} does not exist: make it with `gnosis format {} --size 256MiB`",
                path.display(),
                path.display()
            );
        }
        std::fs::create_dir_all(path.parent().expect("image path has a parent"))?;
        super::format::create_world(&path, size)?;
        eprintln!("gnosis: made a new world at {}", path.display());
    }
    Ok(path)
}

/// Runs the world.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = image_or_new_world(args.image.clone(), args.size)?;
    let config = Config {
        keep_previous_ns: (args.keep_previous.max(0.0) * 1e9) as u64,
        tier: if args.interpret { Tier::Interpret } else { Tier::default() },
        ..Config::default()
    };
    let kernel = tools::world::boot_with(&path, Background::Thread, config)?;
    announce(&kernel, &path);
    let mut world = Debuggable::new(kernel);
    if let Some(addr) = &args.gdb {
        serve_gdb(&mut world, addr, args.domain.as_deref(), args.gdb_pause_world)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("cannot catch Ctrl-C")?;
    let (input_tx, input) = unbounded::<Vec<u8>>();
    spawn_stdin(input_tx.clone());
    let outputs = Outputs::default();
    if let Some(addr) = &args.listen {
        tools::world::listen(addr, input_tx.clone(), outputs.sinks.clone())?;
    }
    if let Some(fd) = args.handoff_fd {
        let channel = tools::handoff::Channel::inherited(fd)?;
        tools::world::take_handoff(channel, input_tx, outputs.sinks.clone(), stop.clone())?;
    }
    let requests = control::serve(&path)?;
    let result = main_loop(&mut world, &path, &args, &stop, &input, &requests, &outputs);
    control::remove(&path);
    result?;
    let mut kernel = world.kernel;
    kernel.debug_detach()?;
    if !args.no_final_checkpoint {
        let generation = kernel.checkpoint_now()?;
        kernel.finish_background()?;
        eprintln!("gnosis: final checkpoint, generation {generation}, written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn announce(kernel: &Kernel, path: &Path) {
    let h = kernel.checkpoint_header();
    let ago = kernel::clock::wall_now_ns().saturating_sub(h.wall_time_ns) as f64 / 1e9;
    let ready = kernel.ready().count();
    let restarts = kernel.kernel_fields().restarts;
    eprintln!(
        "gnosis: restarting {} (restart {restarts}) from checkpoint generation {}, taken {ago:.1} s ago; \
         {ready} domains ready; Ctrl-C takes a checkpoint and stops",
        path.display(),
        h.generation
    );
    eprintln!("gnosis: control socket {}", control::socket_path(path).display());
}

/// Where console output goes besides stdout.
#[derive(Default, Clone)]
pub struct Outputs {
    /// Connected socket clients.
    pub sinks: tools::world::Sinks,
}

fn spawn_stdin(tx: Sender<Vec<u8>>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(mut line) = line else { break };
            line.push('\n');
            if tx.send(line.into_bytes()).is_err() {
                break;
            }
        }
    });
}

/// Instructions run between looks at the outside world.
const SLICE: u64 = 2_000_000;

fn main_loop(
    world: &mut Debuggable,
    path: &Path,
    args: &Args,
    stop: &AtomicBool,
    input: &Receiver<Vec<u8>>,
    requests: &Receiver<control::Request>,
    outputs: &Outputs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut executed = 0u64;
    let mut seen = String::new();
    while !stop.load(Ordering::SeqCst) {
        world.poll()?;
        let paused = world.world_paused();
        let k = &mut world.kernel;
        while let Ok(bytes) = input.try_recv() {
            k.console().feed(&bytes);
        }
        while let Ok(request) = requests.try_recv() {
            control::handle(k, path, request)?;
        }
        if paused {
            std::thread::sleep(Duration::from_millis(1));
        } else if k.has_ready() {
            executed += k.run(SLICE)?;
        } else {
            k.step()?;
            idle(k, input);
        }
        let out = k.console().take_output();
        if !out.is_empty() {
            std::io::stdout().write_all(&out)?;
            std::io::stdout().flush()?;
            outputs.sinks.broadcast(&out);
            if args.until_output.is_some() {
                seen.push_str(&String::from_utf8_lossy(&out));
            }
        }
        let done = args.until_instructions.is_some_and(|n| executed >= n)
            || args.until_seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s)
            || args.until_output.as_deref().is_some_and(|p| seen.contains(p));
        if done {
            break;
        }
    }
    Ok(())
}

/// Starts the GDB stub for the domain named `name` (default: the named
/// domain installed last, the one with the highest root node).
fn serve_gdb(world: &mut Debuggable, addr: &str, name: Option<&str>, pause: bool) -> anyhow::Result<()> {
    world.kernel.write_back_caches()?;
    let domains = kernel::inspect::domains(world.kernel.store());
    let chosen = match name {
        Some(name) => domains.iter().find(|d| d.name == name),
        None => domains.iter().filter(|d| !d.name.is_empty()).max_by_key(|d| d.root),
    };
    let Some(domain) = chosen else {
        let names: Vec<&str> = domains.iter().map(|d| d.name.as_str()).filter(|n| !n.is_empty()).collect();
        anyhow::bail!(
            "no domain named '{}' to debug; --domain takes one of: {}",
            name.unwrap_or_default(),
            names.join(", ")
        );
    };
    let local = world.serve_gdb(addr, domain.root, pause)?;
    eprintln!(
        "gnosis: GDB stub for domain {} on {local}; it is held until GDB continues it \
         (gdb-multiarch -ex 'set architecture riscv:rv32' -ex 'target remote {local}')",
        domain.name
    );
    Ok(())
}

/// Waits for input or the next timer (at most 20 ms); feeds what arrives.
fn idle(k: &mut Kernel, input: &Receiver<Vec<u8>>) {
    let now = k.clock().now_ns();
    let wait =
        k.next_timer().map_or(Duration::from_millis(20), |t| Duration::from_nanos(t.saturating_sub(now)));
    if let Ok(bytes) = input.recv_timeout(wait.min(Duration::from_millis(20))) {
        k.console().feed(&bytes);
    }
}
