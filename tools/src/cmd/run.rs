//! `gnosis run [IMAGE]`: boot (or restart) a world and run it until Ctrl-C
//! (or SIGTERM, SIGHUP, or its standard output closing, as in `gnosis run |
//! head`), with the console on the terminal (and on `--listen` sockets), a
//! control socket for the client commands, and a final checkpoint on the
//! way out. Standard output is one more console client: a reader that
//! falls behind loses output, it never holds the world up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam::channel::Receiver;
use kernel::cpu::Tier;
use kernel::kernel::{Background, Config, Kernel};
use tools::control::Server;
use tools::gdb::Debuggable;
use tools::world::Overcommit;
use tools::world::console::{self, Sinks};

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
    /// Make the default image even if it is bigger than the free disk space (see `gnosis format --sparse`).
    #[arg(long)]
    pub sparse: bool,
}

/// The default world's image: `$XDG_DATA_HOME/gnosis/world.img` or the platform's equivalent.
pub fn default_image() -> anyhow::Result<PathBuf> {
    let dir = dirs::data_dir().context("no data directory for this user; give an IMAGE")?.join("gnosis");
    Ok(dir.join("world.img"))
}

/// `image`, which must exist; or the default world, made (of `size` bytes,
/// under `overcommit`) if it does not exist yet.
pub fn image_or_new_world(
    image: Option<PathBuf>,
    size: u64,
    overcommit: Overcommit,
) -> anyhow::Result<PathBuf> {
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
        match super::format::create_world(&path, size, overcommit) {
            Ok(()) => tell(&format!("made a new world at {}", path.display())),
            // Another command made it meanwhile: that one is as good.
            Err(e) if e.chain().any(|c| c.is::<tools::world::AlreadyExists>()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(path)
}

/// Says `what` on standard error, if anyone listens (never fails: a closed
/// stderr must not stop the world before its final checkpoint).
fn tell(what: &str) {
    let _ = writeln!(std::io::stderr(), "gnosis: {what}");
}

/// How long the console's clients (standard output first) get to take the
/// last output once the world has stopped.
const LAST_OUTPUT: Duration = Duration::from_secs(5);

/// Runs the world.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = image_or_new_world(args.image.clone(), args.size, super::format::overcommit(args.sparse))?;
    let config = Config {
        keep_previous_ns: (args.keep_previous.max(0.0) * 1e9) as u64,
        tier: if args.interpret { Tier::Interpret } else { Tier::default() },
        ..Config::default()
    };
    // Locks the image: from here on no other process opens it.
    let kernel = tools::world::boot_with(&path, Background::Thread, config)?;
    let mut world = Debuggable::new(kernel);
    if let Some(addr) = &args.gdb {
        serve_gdb(&mut world, addr, args.domain.as_deref(), args.gdb_pause_world)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("cannot catch Ctrl-C")?;
    let (input_tx, input) = console::input_queue();
    console::spawn_reader(std::io::stdin(), input_tx.clone(), || {});
    let sinks = Sinks::default();
    if args.handoff_fd.is_some() {
        // Supervised: the clients are the watcher's, stdout is a log.
        sinks.add(std::io::stdout());
    } else {
        let flag = stop.clone();
        // `gnosis run | head`: once nobody reads, stop as Ctrl-C would.
        sinks.add_with_end(std::io::stdout(), move |_| flag.store(true, Ordering::SeqCst));
    }
    if let Some(addr) = &args.listen {
        tools::world::listen(addr, input_tx.clone(), sinks.clone())?;
    }
    if let Some(fd) = args.handoff_fd {
        let channel = tools::handoff::Channel::inherited(fd)?;
        tools::world::take_handoff(channel, input_tx, sinks.clone(), stop.clone())?;
    }
    let server = Server::serve(&path)?;
    announce(&world.kernel, &path, &server);
    let result = main_loop(&mut world, &path, &args, &stop, &input, &server, &sinks);
    drop(server);
    let stopped = result.and_then(|()| stop_world(world.kernel, &path, !args.no_final_checkpoint));
    // What the world printed last reaches its clients either way.
    sinks.finish(Instant::now() + LAST_OUTPUT);
    stopped.map(|()| ExitCode::SUCCESS)
}

/// Detaches the debugger and, with `checkpoint`, takes the final checkpoint.
fn stop_world(mut kernel: Kernel, path: &Path, checkpoint: bool) -> anyhow::Result<()> {
    kernel.debug_detach()?;
    if checkpoint {
        let generation = kernel.checkpoint_now()?;
        kernel.finish_background()?;
        tell(&format!("final checkpoint, generation {generation}, written to {}", path.display()));
    }
    Ok(())
}

fn announce(kernel: &Kernel, path: &Path, server: &Server) {
    let h = kernel.checkpoint_header();
    let ago = kernel::clock::wall_now_ns().saturating_sub(h.wall_time_ns) as f64 / 1e9;
    let ready = kernel.ready().count();
    let restarts = kernel.kernel_fields().restarts;
    tell(&format!(
        "restarting {} (restart {restarts}) from checkpoint generation {}, taken {ago:.1} s ago; \
         {ready} domains ready; Ctrl-C takes a checkpoint and stops",
        path.display(),
        h.generation
    ));
    tell(&format!("control socket {}", server.path().display()));
}

/// Instructions run between looks at the outside world.
const SLICE: u64 = 2_000_000;

fn main_loop(
    world: &mut Debuggable,
    path: &Path,
    args: &Args,
    stop: &AtomicBool,
    input: &Receiver<Vec<u8>>,
    server: &Server,
    sinks: &Sinks,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut executed = 0u64;
    let mut seen = Tail::new(args.until_output.as_deref());
    while !stop.load(Ordering::SeqCst) {
        world.poll()?;
        let paused = world.world_paused();
        let k = &mut world.kernel;
        while let Ok(bytes) = input.try_recv() {
            k.console().feed(&bytes);
        }
        while let Ok(request) = server.requests().try_recv() {
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
            sinks.broadcast(&out);
            seen.push(&out);
        }
        let done = args.until_instructions.is_some_and(|n| executed >= n)
            || args.until_seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s)
            || seen.found;
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
    tell(&format!(
        "GDB stub for domain {} on {local}; it is held until GDB continues it \
         (gdb-multiarch -ex 'set architecture riscv:rv32' -ex 'target remote {local}')",
        domain.name
    ));
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

/// Watches the console output for `--until-output`, keeping only as much
/// of it as a match can span.
struct Tail {
    pattern: Option<Vec<u8>>,
    kept: Vec<u8>,
    found: bool,
}

impl Tail {
    fn new(pattern: Option<&str>) -> Tail {
        Tail { pattern: pattern.map(|p| p.as_bytes().to_vec()), kept: Vec::new(), found: false }
    }

    fn push(&mut self, out: &[u8]) {
        let Some(pattern) = &self.pattern else { return };
        if pattern.is_empty() {
            self.found = true;
            return;
        }
        self.kept.extend_from_slice(out);
        self.found |= self.kept.windows(pattern.len()).any(|w| w == pattern.as_slice());
        let keep = pattern.len().saturating_sub(1);
        self.kept.drain(..self.kept.len().saturating_sub(keep));
    }
}

#[cfg(test)]
mod tests {
    use super::Tail;

    #[test]
    fn output_is_matched_across_pieces() {
        let mut tail = Tail::new(Some("counter: 2\n"));
        for piece in ["counter: 1\ncoun", "ter: ", "2", "\nmore"] {
            assert!(!tail.found);
            tail.push(piece.as_bytes());
        }
        assert!(tail.found);
        assert!(tail.kept.len() < 11);
    }
}
