//! `gnosis crash`: crash-injection campaigns with a report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tools::crash::oracle::{Outcome, Reference};
use tools::crash::{self, Campaign, Kind, Point, Settings, report, workload};

/// Arguments of `gnosis crash`.
#[derive(clap::Args)]
pub struct Args {
    /// Workload to crash: world (the primordial world with key-value
    /// commands), objects (the storage path alone), or image (--image).
    #[arg(long, default_value = "world")]
    pub workload: String,
    /// For --workload image: the world to crash (read into memory).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// For --workload image: lines to type at its console, one file line each.
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Simulated seconds a world or image workload runs (default 4).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Most crash points to try (a seeded sample when the workload has more).
    #[arg(long)]
    pub points: Option<usize>,
    /// Kinds of crash, comma separated: stop, torn, lost, flip, restart.
    #[arg(long, value_delimiter = ',', default_value = "stop,torn,lost,flip,restart")]
    pub kinds: Vec<String>,
    /// Campaign seed: the same seed gives the same campaign.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run shard I of N (e.g. 2/8) and report only its points.
    #[arg(long, value_parser = parse_shard, default_value = "0/1")]
    pub shard: (usize, usize),
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Directory for report.md, report.json and the plots.
    #[arg(long, default_value = "crash-report")]
    pub out: PathBuf,
    /// Deliberately skip the sync before each checkpoint header, to see the oracle catch it.
    #[arg(long)]
    pub break_sync: bool,
    /// Try only this point, EVENT:KIND (as a report's reproduce line gives).
    #[arg(long, value_name = "EVENT:KIND")]
    pub only: Option<String>,
    /// Real crashes: run `gnosis run` on --image (default: a fresh world) as a
    /// child process and kill -9 it this many times at random moments,
    /// checking the image after each kill and every acknowledged write at the end.
    #[arg(long, value_name = "N")]
    pub kill: Option<usize>,
    /// Merge these shard reports (report.json files) into one report in --out.
    #[arg(long, num_args = 1.., value_name = "REPORT.json")]
    pub merge: Vec<PathBuf>,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("'{s}' is not a shard: write I/N, e.g. 0/4"))?;
    let (i, n): (usize, usize) =
        (i.parse().map_err(|_| "bad shard index")?, n.parse().map_err(|_| "bad shard count")?);
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n} does not exist: I must be below N"));
    }
    Ok((i, n))
}

/// Runs the campaign (or one point, or a merge) and writes the report.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.merge.is_empty() {
        let parts = args
            .merge
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?;
                serde_json::from_str::<Campaign>(&text)
                    .with_context(|| format!("{} is not a campaign report", p.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        return finish(report::merge(parts)?, &args.out);
    }
    if let Some(rounds) = args.kill {
        return kill(&args, rounds);
    }
    let kinds = args
        .kinds
        .iter()
        .map(|k| {
            Kind::from_name(k)
                .with_context(|| format!("unknown crash kind '{k}': use stop, torn, lost, flip or restart"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let settings = Settings {
        workload: args.workload.clone(),
        kinds,
        points: args.points,
        seed: args.seed,
        shard: args.shard,
        break_sync: args.break_sync,
        image: args.image.clone(),
        script: args.script.clone(),
        seconds: args.seconds,
    };
    let workload = workload::from_settings(&settings)?;
    if let Some(only) = &args.only {
        return run_one(&settings, workload.as_ref(), only);
    }
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} crash points, {per_sec}, ETA {eta}")
            .expect("template"),
    );
    let campaign = crash::run(&settings, workload.as_ref(), threads, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    finish(campaign, &args.out)
}

fn finish(campaign: Campaign, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    report::write(&campaign, out)?;
    for (kind, counts) in report::tally(&campaign) {
        let cells: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| format!("{} {}", counts.get(o).copied().unwrap_or(0), o.name()))
            .collect();
        println!("{:<8} {}", kind.name(), cells.join(", "));
    }
    let divergent: Vec<_> = report::divergences(&campaign).collect();
    println!(
        "{} crash points over {} storage events in {:.1} s: {} divergences; report in {}",
        campaign.results.len(),
        campaign.timeline.len(),
        campaign.seconds,
        divergent.len(),
        out.join("report.md").display()
    );
    for r in divergent.iter().take(5) {
        println!(
            "  divergence at event {} ({}): {}\n    reproduce: {}",
            r.point.event,
            r.point.kind.name(),
            r.detail,
            report::reproduce(&campaign, r.point.event, r.point.kind)
        );
    }
    Ok(if divergent.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn run_one(settings: &Settings, workload: &dyn workload::Workload, only: &str) -> anyhow::Result<ExitCode> {
    let (event, kind) = only.split_once(':').context("--only takes EVENT:KIND, e.g. 57:torn")?;
    let event: u64 = event.parse().context("--only: the event is not a number")?;
    let kind = Kind::from_name(kind).with_context(|| format!("--only: unknown kind '{kind}'"))?;
    let config = kernel::kernel::Config { break_snapshot_sync: settings.break_sync, ..Default::default() };
    let (reference, events) = Reference::record(workload, &config);
    anyhow::ensure!(event < events, "the workload has only {events} storage events");
    let point = Point { event, kind, seed: crash::point_seed(settings.seed, event, kind) };
    let r = crash::run_point(workload, &reference, &config, point);
    println!(
        "event {event} ({}), seed {}: {} at generation {:?} in {:.0} µs",
        kind.name(),
        point.seed,
        r.outcome.name(),
        r.generation,
        r.recovery_us
    );
    println!("  {}", r.detail);
    Ok(if r.outcome == Outcome::Divergence { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn kill(args: &Args, rounds: usize) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir()?;
    let image = match &args.image {
        Some(image) => image.clone(),
        None => crash::kill::fresh_world(scratch.path())?,
    };
    let binary = std::env::current_exe().context("cannot find the gnosis executable")?;
    let report = crash::kill::run(&binary, &image, rounds, args.seed)?;
    println!("{:>6} {:>10} {:>12} {:>12}  fsck", "kill", "after ms", "generation", "restarts at");
    for (i, r) in report.rounds.iter().enumerate() {
        let fsck = if r.fsck.is_empty() { "clean".to_string() } else { r.fsck.join("; ") };
        println!(
            "{i:>6} {:>10} {:>12} {:>12}  {fsck}",
            r.killed_after_ms, r.generation_before, r.generation_after
        );
    }
    for lost in &report.lost {
        println!("LOST acknowledged write {lost}");
    }
    println!(
        "{} kills, {} acknowledged writes, {} lost: {}",
        report.rounds.len(),
        report.acknowledged,
        report.lost.len(),
        if report.passed() { "passed" } else { "FAILED" }
    );
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("kill-report.json"), serde_json::to_string_pretty(&report)?)?;
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
