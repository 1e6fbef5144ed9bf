//! `gnosis ps IMAGE`: the domains of an image's newest checkpoint.

use std::path::PathBuf;
use std::process::ExitCode;

use kernel::domain::RunState;
use kernel::{inspect, restart, trap};

/// Arguments of `gnosis ps`.
#[derive(clap::Args)]
pub struct Args {
    /// The image (opened read-only).
    pub image: PathBuf,
}

/// Prints one line per domain.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (storage, bytes) = super::open_read_only(&args.image)?;
    let loaded = restart::load(storage, bytes)?;
    println!("{:<10} {:<12} {:<40} {:<12} {:>16}", "root", "name", "state", "meter", "instructions");
    for d in inspect::domains(&loaded.store) {
        let state = match (d.state, d.trap.0) {
            (_, code) if code != 0 => format!("faulted: {} at {:#x}", trap::describe(code), d.trap.1),
            (RunState::Running, _) => "running".into(),
            (RunState::Available, _) => "available".into(),
            (RunState::Waiting, _) => "waiting".into(),
        };
        let meter = match (d.meter, d.meter_left) {
            (Some(m), Some(left)) if left == u64::MAX => format!("{} ∞", m.number()),
            (Some(m), Some(left)) => format!("{} {left}", m.number()),
            _ => "none".into(),
        };
        println!("{:<10} {:<12} {:<40} {:<12} {:>16}", d.root.number(), d.name, state, meter, d.instructions);
    }
    Ok(ExitCode::SUCCESS)
}
