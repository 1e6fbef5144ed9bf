//! `gnosis fsck IMAGE`: verify every checksum and structural invariant.

use std::path::PathBuf;
use std::process::ExitCode;

use kernel::check::{self, Severity};

/// Arguments of `gnosis fsck`.
#[derive(clap::Args)]
pub struct Args {
    /// The image to check (opened read-only).
    pub image: PathBuf,
}

/// Prints every finding; exit status 0 when clean, 1 when damaged.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (storage, bytes) = super::open_read_only(&args.image)?;
    let report = check::check_image(storage, bytes)?;
    for f in &report.findings {
        let level = match f.severity {
            Severity::Note => "note",
            Severity::Error => "error",
        };
        println!("{level}: [{}] {}", f.tag, f.what);
    }
    let errors = report.errors().count();
    println!(
        "checked generation {}: {} nodes, {} pages, {} keys, {} journal records: {}",
        report.generation,
        report.nodes,
        report.pages,
        report.keys,
        report.journal_records,
        if errors == 0 { "clean".to_string() } else { format!("{errors} problems") }
    );
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
