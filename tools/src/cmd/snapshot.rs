//! `gnosis snapshot IMAGE --domain ID [--out DIR] [--kill]`, `gnosis
//! snapshot prune DIR --older-than AGE` and `gnosis resume IMAGE DIR
//! [--name NAME] [--map IMPORT=GRANT]…` (`tools::snapshot`, design.md
//! §22). With the image running, the running instance does the work
//! (through its control socket); otherwise the image is restarted, as
//! `gnosis install` does. A resume reads and checks the whole snapshot,
//! and plans it against the image opened read-only, before the image is
//! restarted: a damaged or foreign snapshot changes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kernel::kernel::{Background, Kernel};
use tools::snapshot::format::Resumption;
use tools::snapshot::restore::{self, Plan};
use tools::snapshot::{self, Snapshot, Taken, prune};
use tools::world::install::Grant;

use super::control;

/// Arguments of `gnosis snapshot`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    /// `prune`: remove old snapshots instead.
    #[command(subcommand)]
    pub action: Option<Action>,
    /// The world's image.
    #[arg(required = true)]
    pub image: Option<PathBuf>,
    /// The domain: its name or its root node number (`gnosis ps`).
    #[arg(long, value_name = "ID", required = true)]
    pub domain: Option<String>,
    /// Where to write it (default: snapshots/NAME-UTC-TIME next to the image).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Stop the domain for good once the snapshot is written.
    #[arg(long)]
    pub kill: bool,
}

/// `gnosis snapshot` subcommands.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Remove the snapshots under DIR older than an age.
    Prune(PruneArgs),
}

/// Arguments of `gnosis snapshot prune`.
#[derive(clap::Args)]
pub struct PruneArgs {
    /// The directory holding snapshot directories (e.g. the `snapshots` next to an image).
    pub dir: PathBuf,
    /// The age: a number with s, m, h or d (e.g. 5d, 12h); seconds without one.
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub older_than: Duration,
}

/// Arguments of `gnosis resume`.
#[derive(clap::Args)]
pub struct ResumeArgs {
    /// The world's image (the one the snapshot came from, or another).
    pub image: PathBuf,
    /// The snapshot directory.
    pub dir: PathBuf,
    /// The resumed domain's name (default: the snapshot's).
    #[arg(long)]
    pub name: Option<String>,
    /// Map import N (as `gnosis snapshot` listed them) to a key: console,
    /// bank, timer, checkpoint, bwait:N, start:NAME.
    #[arg(long = "map", value_name = "IMPORT=GRANT", value_parser = parse_map)]
    pub maps: Vec<(u32, Grant)>,
}

/// `gnosis snapshot`: takes a snapshot, or prunes old ones.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Action::Prune(prune)) = args.action {
        return run_prune(prune);
    }
    let (Some(image), Some(id)) = (args.image, args.domain) else {
        unreachable!("clap requires IMAGE and --domain without a subcommand")
    };
    if control::is_running(&image) {
        let out = match &args.out {
            Some(out) => std::path::absolute(out)?.display().to_string(),
            None => String::new(),
        };
        let kill = if args.kill { "kill" } else { "keep" };
        return Ok(answered(&control::ask(&image, &format!("snapshot\t{id}\t{out}\t{kill}"))?));
    }
    {
        // Refusals come with the image opened read-only: they change nothing.
        let loaded = super::load_read_only(&image)?;
        snapshot::admissible(&loaded.store, &id, args.kill)?;
    }
    let mut k = tools::world::boot(&image, Background::Inline)?;
    let taken = snapshot::take(&mut k, &image, &id, args.out.as_deref(), args.kill)?;
    k.finish_background()?;
    print!("{}", taken_text(&taken));
    Ok(ExitCode::SUCCESS)
}

/// `gnosis resume`: brings a snapshot into a world.
pub fn resume(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    if control::is_running(&args.image) {
        let dir = std::path::absolute(&args.dir)?;
        let maps: Vec<String> = args.maps.iter().map(|(i, g)| format!("{i}={g}")).collect();
        let name = args.name.unwrap_or_default();
        let line = format!("resume\t{}\t{name}\t{}", dir.display(), maps.join(","));
        return Ok(answered(&control::ask(&args.image, &line)?));
    }
    let snapshot = Snapshot::read(&args.dir)?;
    {
        // Everything that depends on the image is checked with it opened
        // read-only: a plan that fails here leaves it exactly as it was.
        let loaded = super::load_read_only(&args.image)?;
        restore::plan(&loaded.store, &snapshot, args.name.as_deref(), &args.maps)?;
    }
    let mut k = tools::world::boot(&args.image, Background::Inline)?;
    let plan = restore::plan(k.store(), &snapshot, args.name.as_deref(), &args.maps)?;
    let root = restore::resume(&mut k, &snapshot, &plan)?;
    let generation = k.checkpoint_now()?;
    k.finish_background()?;
    print!("{}", resumed_text(&args.dir, &snapshot, &plan, root));
    println!("checkpoint generation {generation}");
    Ok(ExitCode::SUCCESS)
}

fn run_prune(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let removed = prune::prune(&args.dir, args.older_than, kernel::clock::wall_now_ns())?;
    for r in &removed {
        println!("removed {} (snapshot of {}, {:.1} days old)", r.dir.display(), r.name, days(r.age));
    }
    println!(
        "{} snapshot{} older than {:.1} days removed from {}",
        removed.len(),
        if removed.len() == 1 { "" } else { "s" },
        days(args.older_than),
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn days(age: Duration) -> f64 {
    age.as_secs_f64() / 86_400.0
}

/// The exit status for an answer of the running instance (printed).
fn answered(answer: &str) -> ExitCode {
    print!("{answer}");
    if answer.starts_with("error") { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Answers a control request `snapshot<TAB>ID<TAB>OUT<TAB>kill|keep` (OUT
/// empty: the default directory) on the running world's thread.
pub fn serve_snapshot(k: &mut Kernel, image: &Path, id: &str, out: &str, kill: &str) -> String {
    let out = (!out.is_empty()).then(|| PathBuf::from(out));
    match snapshot::take(k, image, id, out.as_deref(), kill == "kill") {
        Ok(taken) => taken_text(&taken),
        Err(e) => format!("error: {:#}", anyhow::Error::from(e)),
    }
}

/// Answers a control request `resume<TAB>DIR<TAB>NAME<TAB>N=GRANT,…` (NAME
/// empty: the snapshot's) on the running world's thread.
pub fn serve_resume(k: &mut Kernel, dir: &str, name: &str, maps: &str) -> String {
    resume_live(k, Path::new(dir), name, maps).unwrap_or_else(|e| format!("error: {e:#}"))
}

fn resume_live(k: &mut Kernel, dir: &Path, name: &str, maps: &str) -> anyhow::Result<String> {
    let maps = maps
        .split(',')
        .filter(|m| !m.is_empty())
        .map(|m| parse_map(m).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let snapshot = Snapshot::read(dir)?;
    let name = (!name.is_empty()).then_some(name);
    let plan = restore::plan(k.store(), &snapshot, name, &maps)?;
    let root = restore::resume(k, &snapshot, &plan)?;
    Ok(resumed_text(dir, &snapshot, &plan, root))
}

fn taken_text(taken: &Taken) -> String {
    let m = &taken.manifest;
    let mut text = format!(
        "snapshot of {} (domain root node {}) in {}: {} pages, {} nodes, {} imports\n",
        m.domain.name,
        taken.root.number(),
        taken.dir.display(),
        m.pages.len(),
        m.nodes.len(),
        m.imports.len()
    );
    for (i, import) in m.imports.iter().enumerate() {
        text += &format!("  import {i}: {}\n", import.what);
    }
    if let Some(generation) = taken.stopped {
        text += &format!(
            "stopped {} for good (checkpoint generation {generation}); `gnosis resume` brings it back\n",
            m.domain.name
        );
    }
    text
}

fn resumed_text(dir: &Path, snapshot: &Snapshot, plan: &Plan, root: kernel::key::Cda) -> String {
    let m = &snapshot.manifest;
    let how = match &m.domain.resumption {
        Resumption::Run => "it runs on".to_string(),
        Resumption::Available => "it is available, as it was".into(),
        Resumption::Wait => "it waits, as it was".into(),
        Resumption::Reply { code, reason } => format!("{reason}, so its call returns {code}"),
        Resumption::Trap => "its trap goes to its keeper again".into(),
    };
    let mut text = format!(
        "resumed {} (domain root node {}) from {}, taken from {}: {} pages, {} nodes; {how}\n",
        plan.name,
        root.number(),
        dir.display(),
        m.source.image,
        m.pages.len(),
        m.nodes.len()
    );
    for (i, (import, target)) in m.imports.iter().zip(&plan.targets).enumerate() {
        text += &format!("  import {i}: {} -> {target}\n", import.what);
    }
    text
}

/// Parses `--map IMPORT=GRANT`.
pub fn parse_map(text: &str) -> Result<(u32, Grant), String> {
    let (index, grant) =
        text.split_once('=').ok_or_else(|| format!("'{text}': a mapping is IMPORT=GRANT, e.g. 2=timer"))?;
    let index = index.trim().parse().map_err(|_| format!("'{text}': IMPORT is an import number"))?;
    Ok((index, grant.trim().parse()?))
}

/// Parses an age: a number with s, m, h or d, or bare seconds.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let (value, unit) = crate::size::number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not an age: expected e.g. 5d, 12h or 30m"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit '{other}' in '{text}': use s, m, h or d")),
    };
    value.checked_mul(seconds).map(Duration::from_secs).ok_or_else(|| format!("age '{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("5d"), Ok(Duration::from_secs(5 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_age("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_age("90"), Ok(Duration::from_secs(90)));
        assert!(parse_age("5w").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("99999999999999999999d").is_err());
    }

    #[test]
    fn maps_parse() {
        assert_eq!(parse_map("2=timer"), Ok((2, Grant::Timer)));
        assert_eq!(parse_map("0=start:kv"), Ok((0, Grant::Start("kv".into()))));
        assert!(parse_map("timer").is_err());
        assert!(parse_map("x=timer").is_err());
        assert!(parse_map("1=nonsense").is_err());
    }
}
