//! `gnosis`: format, run, inspect and check Gnosis images.

mod cmd;
mod size;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A persistent capability kernel in the Gnosis/KeyKOS model.
#[derive(Parser)]
#[command(name = "gnosis", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new image.
    Format(cmd::format::Args),
    /// Show an image's headers, regions, objects and checkpoint.
    Inspect(cmd::inspect::Args),
    /// Verify an image's checksums and invariants (exit status 1 if damaged).
    Fsck(cmd::fsck::Args),
    /// Assemble an RV32IM program into an ELF executable.
    Asm(cmd::asm::Args),
    /// Run an RV32IM ELF executable as a lone domain until it stops.
    Exec(cmd::exec::Args),
    /// Run the benchmark suite and print every figure with its target.
    Bench(cmd::bench::Args),
    /// Run a crash-injection campaign and write its report.
    Crash(cmd::crash::Args),
    /// Build a domain from an ELF executable in a world and start it.
    Install(cmd::install::Args),
    /// Make a new domain project in C, Rust or assembly that builds with one command.
    New(cmd::new::Args),
    /// List the domains of an image: name, state, meter, instructions.
    Ps(cmd::ps::Args),
    /// Boot or restart a world and run it until Ctrl-C (then checkpoint).
    Run(cmd::run::Args),
    /// Ask a running instance to take a checkpoint now.
    Checkpoint(cmd::control::CheckpointArgs),
    /// Print what a world is doing: checkpoint, migration, domains, restarts, history.
    Status(cmd::status::Args),
    /// Show what a running world is doing, refreshing (q quits).
    Top(cmd::status::TopArgs),
    /// Run a world under a watcher that keeps console connections through crashes.
    Supervise(cmd::supervise::Args),
    /// Write a domain and the objects that are its own to a directory (or prune old snapshots).
    Snapshot(cmd::snapshot::Args),
    /// Bring a snapshot back into a world, where the domain continues.
    Resume(cmd::snapshot::ResumeArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("GNOSIS_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Format(args) => cmd::format::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Fsck(args) => cmd::fsck::run(args),
        Command::Asm(args) => cmd::asm::run(args),
        Command::Exec(args) => cmd::exec::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Crash(args) => cmd::crash::run(args),
        Command::Install(args) => cmd::install::run(args),
        Command::New(args) => cmd::new::run(args),
        Command::Ps(args) => cmd::ps::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Checkpoint(args) => cmd::control::checkpoint(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Top(args) => cmd::status::top(args),
        Command::Supervise(args) => cmd::supervise::run(args),
        Command::Snapshot(args) => cmd::snapshot::run(args),
        Command::Resume(args) => cmd::snapshot::resume(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // Never a panic, even when stderr is closed.
            let _ = writeln!(std::io::stderr(), "gnosis: error: {error:#}");
            // A world that refused or did not answer: a failed request.
            let failed = error
                .chain()
                .any(|e| e.is::<tools::control::Unanswered>() || e.is::<tools::control::Refused>());
            ExitCode::from(if failed { 1 } else { 2 })
        }
    }
}
