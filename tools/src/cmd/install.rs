//! `gnosis install IMAGE PROGRAM.elf --name NAME [--key KEY]…`: builds a
//! new domain from an ELF executable in a world and starts it (see
//! `world::install`). With the image running, the running instance does
//! it (through its control socket); otherwise the image is restarted, the
//! program installed, and a checkpoint taken.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kernel::kernel::Background;
use tools::world::install::{self, Grant};

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
}

/// Installs the program, in the running instance or in the image at rest.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let elf =
        std::fs::read(&args.program).with_context(|| format!("cannot read {}", args.program.display()))?;
    kernel::elf::parse(&elf)
        .with_context(|| format!("{} is not a program gnosis can run", args.program.display()))?;
    if control::is_running(&args.image) {
        let path = std::fs::canonicalize(&args.program)?;
        let keys: Vec<String> = args.keys.iter().map(Grant::to_string).collect();
        let line = format!("install\t{}\t{}\t{}", path.display(), args.name, keys.join(","));
        let answer = control::ask(&args.image, &line)?;
        print!("{answer}");
        return Ok(if answer.starts_with("error") { ExitCode::from(1) } else { ExitCode::SUCCESS });
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
