//! `gnosis supervise IMAGE --listen ADDR`: run a world under a watcher that
//! keeps its console clients connected through crashes and restarts (the
//! machinery is `tools::supervise`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tools::supervise::{self, Event, Settings};
use tools::world::Listener;

/// Arguments of `gnosis supervise`.
#[derive(clap::Args)]
pub struct Args {
    /// The image to run (default: the default world, made on first use).
    pub image: Option<PathBuf>,
    /// Serve the console on this address (host:port for TCP, or a path for a Unix socket).
    #[arg(long)]
    pub listen: String,
    /// A world that dies within this many seconds of starting has failed.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub stable_after: f64,
    /// The wait before the second restart in a row, in milliseconds; it doubles after each.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub backoff_ms: u64,
    /// Failures in a row after which the watcher goes back one checkpoint (once), then stops.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_failures: u32,
    /// Size of the default image when it is made.
    #[arg(long, value_parser = crate::size::parse_size, default_value = "256MiB")]
    pub size: u64,
    /// Make the default image even if it is bigger than the free disk space (see `gnosis format --sparse`).
    #[arg(long)]
    pub sparse: bool,
    /// Keep the checkpoint before the newest restartable this long after each checkpoint
    /// (its migration waits), so a newest checkpoint that keeps crashing can be abandoned.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub keep_previous: f64,
}

/// Supervises the world until it stops or crashes too often.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let image =
        super::run::image_or_new_world(args.image, args.size, super::format::overcommit(args.sparse))?;
    // A world that cannot boot now would only crash in a loop: say why at once.
    super::load_read_only(&image).with_context(|| format!("{} cannot be restarted", image.display()))?;
    let listener = Listener::bind(&args.listen)?;
    let settings = Settings {
        image: image.clone(),
        program: std::env::current_exe().context("cannot find the gnosis executable")?,
        stable_after: Duration::from_secs_f64(args.stable_after.max(0.0)),
        backoff: Duration::from_millis(args.backoff_ms),
        max_failures: args.max_failures,
        keep_previous: Duration::from_secs_f64(args.keep_previous.max(0.0)),
    };
    let (sender, events) = supervise::events();
    let stop = sender.clone();
    ctrlc::set_handler(move || {
        let _ = stop.send(Event::Stop);
    })
    .context("cannot catch Ctrl-C")?;
    eprintln!(
        "gnosis supervise: console on {}; clients stay connected while {} restarts; Ctrl-C stops",
        listener.address(),
        image.display()
    );
    supervise::supervise(settings, listener, sender, events)?;
    Ok(ExitCode::SUCCESS)
}
