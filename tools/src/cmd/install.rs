//! `gnosis install IMAGE PROGRAM.elf --name NAME [--key KEY]…`: builds a
//! new domain from an ELF executable in a world and starts it (see
//! `domains::world::install`). With the image running, the running instance does
//! it (through its control socket, which is sent the program's bytes:
//! the world never opens a path); otherwise the image is restarted, the
//! program installed, and a checkpoint taken. Either way the program is
//! read by this command, with the user's rights, and only if it is a
//! regular file of at most `MAX_PROGRAM_BYTES`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use domains::world::install::{self, Grant};
use kernel::kernel::Background;
use tools::control::{Client, MAX_PROGRAM_BYTES};

use super::control;

/// Arguments of `gnosis install`.
#[derive(clap::Args)]
pub struct Args {
    /// The world's image.
    pub image: PathBuf,
    /// The RV32IM ELF executable (from `gnosis asm`, or clang).
    pub program: PathBuf,
    /// The new domain's name (1 to 11 characters).
    #[arg(long)]
    pub name: String,
    /// A key to give it, in key registers 1, 2, … in order: console, bank,
    /// timer, checkpoint, bwait:N, start:NAME.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<Grant>,
    /// Seconds to wait for a running world to answer.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = control::parse_timeout)]
    pub timeout: Duration,
}

/// Installs the program, in the running instance or in the image at rest.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let elf = tools::user_file::read(&args.program, MAX_PROGRAM_BYTES, "a program")?;
    kernel::elf::parse(&elf)
        .with_context(|| format!("{} is not a program gnosis can run", args.program.display()))?;
    if let Some(mut world) = Client::connect(&args.image, args.timeout)? {
        let keys: Vec<String> = args.keys.iter().map(Grant::to_string).collect();
        world.send(&["install", &args.name, &keys.join(",")], &[&elf])?;
        return Ok(control::answered(&world.text()?));
    }
    let mut k = tools::world::boot(&args.image, Background::Inline)?;
    let root = install::install(&mut k, &elf, &args.name, &args.keys)?;
    let generation = k.checkpoint_now()?;
    k.finish_background()?;
    println!(
        "installed {} (domain root node {}), checkpoint generation {generation}",
        args.name,
        root.number()
    );
    Ok(ExitCode::SUCCESS)
}
