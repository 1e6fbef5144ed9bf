//! `gnosis snapshot IMAGE --domain ID [--out DIR] [--kill]`, `gnosis
//! snapshot prune DIR --older-than AGE` and `gnosis resume IMAGE DIR
//! [--name NAME] [--map IMPORT=GRANT]…` (`tools::snapshot`, design.md
//! §22). With the image running, the running instance does the work
//! through its control socket, and the files travel over it: the world
//! sends a snapshot's files and this command checks and writes them, with
//! the user's own rights; a resume reads the directory here and sends its
//! files. Otherwise the image is restarted, as `gnosis install` does. A
//! resume reads and checks the whole snapshot, and plans it against the
//! image opened read-only, before the image is restarted: a damaged or
//! foreign snapshot changes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use crossbeam::channel::Sender;
use domains::world::install::Grant;
use kernel::kernel::{Background, Kernel};
use tools::control::{Client, Reply, SNAPSHOT_CONFIRM};
use tools::snapshot::format::{FILE_LIMITS, Resumption};
use tools::snapshot::restore::{self, Plan};
use tools::snapshot::{self, Snapshot, Taken, prune};

use super::control::{answered, parse_timeout};

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
    /// Seconds to wait for a running world.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_timeout)]
    pub timeout: Duration,
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
    /// Seconds to wait for a running world.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// `gnosis snapshot`: takes a snapshot, or prunes old ones.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Action::Prune(prune)) = args.action {
        return run_prune(prune);
    }
    let (Some(image), Some(id)) = (args.image, args.domain) else {
        unreachable!("clap requires IMAGE and --domain without a subcommand")
    };
    if let Some(world) = Client::connect(&image, args.timeout)? {
        return snapshot_live(world, &image, &id, args.out.as_deref(), args.kill);
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
    let snapshot = Snapshot::read(&args.dir)?;
    if let Some(mut world) = Client::connect(&args.image, args.timeout)? {
        let maps: Vec<String> = args.maps.iter().map(|(i, g)| format!("{i}={g}")).collect();
        // Only for the world's messages: it never opens the directory.
        let origin = std::path::absolute(&args.dir)?.display().to_string().replace(['\t', '\n', '\r'], " ");
        let name = args.name.unwrap_or_default();
        let files = snapshot.files();
        let files: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        world.send(&["resume", &origin, &name, &maps.join(",")], &files)?;
        return Ok(answered(&world.text()?));
    }
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

/// Takes a snapshot through the running `world` of `image`: the world
/// sends the snapshot's files; they are checked in full and written here.
/// With `kill`, the world stops the domain only once this command says the
/// snapshot is written.
fn snapshot_live(
    mut world: Client,
    image: &Path,
    id: &str,
    out: Option<&Path>,
    kill: bool,
) -> anyhow::Result<ExitCode> {
    world.send(&["snapshot", id, if kill { "kill" } else { "keep" }], &[])?;
    let head = world.line(256)?;
    let Some((root, lengths)) = parse_snapshot_head(&head) else {
        // A refusal, as text.
        let rest = world.text().unwrap_or_default();
        return Ok(answered(&format!("{head}\n{rest}")));
    };
    let mut files: [Vec<u8>; 3] = Default::default();
    for (file, length) in files.iter_mut().zip(lengths) {
        *file = world.file(length)?;
    }
    let snapshot = Snapshot::from_files(Path::new("(the snapshot the world sent)"), &files)?;
    let dir = match out {
        Some(dir) => dir.to_path_buf(),
        None => snapshot.default_dir(image)?,
    };
    let written = snapshot.write(&dir);
    let stopped = match kill {
        false => {
            written?;
            None
        }
        true => {
            world.say(if written.is_ok() { "written" } else { "failed" })?;
            let answer = world.text()?;
            written.with_context(|| format!("{} runs on", snapshot.manifest.domain.name))?;
            let generation = answer.trim().strip_prefix("stopped\t").and_then(|g| g.parse().ok());
            let Some(generation) = generation else {
                print!(
                    "the snapshot is in {}, but the world did not stop the domain: {answer}",
                    dir.display()
                );
                return Ok(ExitCode::from(1));
            };
            Some(generation)
        }
    };
    let root = kernel::key::Cda::node(root);
    print!("{}", taken_text(&Taken { dir, root, manifest: snapshot.manifest, stopped }));
    Ok(ExitCode::SUCCESS)
}

/// `snapshot ROOT M P N`: the root node and the three files' lengths, each
/// within its limit.
fn parse_snapshot_head(head: &str) -> Option<(u64, [usize; 3])> {
    let fields: Vec<&str> = head.strip_prefix("snapshot\t")?.split('\t').collect();
    let [root, m, p, n] = fields.as_slice() else { return None };
    let mut lengths = [0usize; 3];
    for ((length, text), limit) in lengths.iter_mut().zip([m, p, n]).zip(FILE_LIMITS) {
        *length = text.parse().ok().filter(|&l: &u64| l <= limit)? as usize;
    }
    Some((root.parse().ok()?, lengths))
}

/// Answers a control request `snapshot<TAB>ID<TAB>kill|keep` on the
/// running world's thread: sends the snapshot's files; with `kill`, waits
/// (at most [`SNAPSHOT_CONFIRM`]) for the client to say it wrote them,
/// then stops the domain. The kernel thread waits meanwhile, as it would
/// for writing the files itself.
pub fn serve_snapshot(k: &mut Kernel, image: &Path, id: &str, kill: bool, reply: &Sender<Reply>) {
    let text = match snapshot::capture_domain(k, image, id, kill) {
        Err(e) => format!("error: {:#}", anyhow::Error::from(e)),
        Ok((root, snapshot)) if !kill => {
            let _ =
                reply.send(Reply::Snapshot { root: root.number(), files: snapshot.files(), confirm: None });
            return;
        }
        Ok((root, snapshot)) => {
            let (confirm, confirmed) = crossbeam::channel::bounded(1);
            let files = snapshot.files();
            let _ = reply.send(Reply::Snapshot { root: root.number(), files, confirm: Some(confirm) });
            let name = &snapshot.manifest.domain.name;
            // The connection thread answers within SNAPSHOT_CONFIRM, or drops `confirm`.
            match confirmed.recv_timeout(SNAPSHOT_CONFIRM + Duration::from_secs(5)) {
                Ok(true) => match snapshot::stop(k, root) {
                    Ok(generation) => format!("stopped\t{generation}"),
                    Err(e) => format!("error: {name} could not be stopped: {:#}", anyhow::Error::from(e)),
                },
                _ => format!("error: the snapshot of {name} was not written, so {name} runs on"),
            }
        }
    };
    let _ = reply.send(Reply::Text(text));
}

/// Answers a control request `resume<TAB>ORIGIN<TAB>NAME<TAB>N=GRANT,…`
/// carrying a snapshot's `files` (NAME empty: the snapshot's; ORIGIN, the
/// directory they came from, only names them in messages) on the running
/// world's thread. The files are checked as if read from a directory.
pub fn serve_resume(k: &mut Kernel, origin: &str, name: &str, maps: &str, files: &[Vec<u8>; 3]) -> String {
    resume_live(k, Path::new(origin), name, maps, files).unwrap_or_else(|e| format!("error: {e:#}"))
}

fn resume_live(
    k: &mut Kernel,
    origin: &Path,
    name: &str,
    maps: &str,
    files: &[Vec<u8>; 3],
) -> anyhow::Result<String> {
    let maps = maps
        .split(',')
        .filter(|m| !m.is_empty())
        .map(|m| parse_map(m).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let snapshot = Snapshot::from_files(origin, files)?;
    let name = (!name.is_empty()).then_some(name);
    let plan = restore::plan(k.store(), &snapshot, name, &maps)?;
    let root = restore::resume(k, &snapshot, &plan)?;
    Ok(resumed_text(origin, &snapshot, &plan, root))
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
