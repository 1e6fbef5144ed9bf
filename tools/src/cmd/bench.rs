//! `gnosis bench`: the benchmark suite, as a table (and JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tools::bench::{self, Figure};

/// Arguments of `gnosis bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory for the benchmark images (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write the figures as JSON to this file too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Fewer samples and smaller sizes (about 30 seconds).
    #[arg(long)]
    pub quick: bool,
}

/// Runs the suite and prints the table.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))
        .context("scratch directory")?;
    let dir = scratch.path();
    let samples = if args.quick { 3 } else { 7 };
    let mut figures: Vec<Figure> = Vec::new();
    let mut add = |f: anyhow::Result<Figure>| -> anyhow::Result<()> {
        let f = f?;
        print_row(&f);
        figures.push(f);
        Ok(())
    };
    println!("{:<64} {:>12} {:>12} {:>12}  target", "figure", "median", "min", "max");
    for f in bench::compute_loop(dir, if args.quick { 10_000_000 } else { 100_000_000 }, samples)? {
        add(Ok(f))?;
    }
    add(bench::ipc_round_trip(dir, if args.quick { 100_000 } else { 1_000_000 }, samples))?;
    let sizes: &[u64] =
        if args.quick { &[64 << 20, 1 << 30] } else { &[64 << 20, 256 << 20, 1 << 30, 4 << 30] };
    for &size in sizes {
        let area_pages = (size / 4096 / 8) as usize;
        for dirty in [0usize, 1_000, 10_000, 100_000] {
            if dirty <= area_pages * 4 / 5 {
                add(bench::checkpoint_pause(dir, size, dirty, samples))?;
            }
        }
    }
    let mib = if args.quick { 64 } else { 256 };
    let (rate, ratio) = bench::checkpoint_throughput(dir, mib << 8, samples)?;
    add(Ok(rate))?;
    add(Ok(ratio))?;
    add(bench::restart_time(dir, 1 << 30, 10_000, samples))?;
    add(bench::migration_interference(dir, if args.quick { 16_384 } else { 65_536 }, samples))?;
    add(bench::memory(dir, if args.quick { 1 << 30 } else { 4 << 30 }, samples.min(3)))?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)
            .with_context(|| format!("write {}", path.display()))?;
    }
    let missed = figures.iter().filter(|f| !f.meets_target()).count();
    println!("{} figures, {missed} below target", figures.len());
    Ok(ExitCode::SUCCESS)
}

fn print_row(f: &Figure) {
    let target = match f.target {
        Some(bench::Target::AtMost(t)) => format!("≤ {t} {}{}", f.unit, mark(f)),
        Some(bench::Target::AtLeast(t)) => format!("≥ {t} {}{}", f.unit, mark(f)),
        None => String::new(),
    };
    println!(
        "{:<64} {:>12.3} {:>12.3} {:>12.3}  {target}",
        format!("{} ({})", f.name, f.unit),
        f.median,
        f.min,
        f.max
    );
}

fn mark(f: &Figure) -> &'static str {
    if f.meets_target() { "  met" } else { "  MISSED" }
}
