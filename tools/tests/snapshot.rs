//! Per-domain snapshots with real `gnosis` processes: a ticking program
//! snapshotted from one world and resumed in a fresh one goes on counting
//! from its snapshot's value; `--kill` stops the original for good; the
//! same works against a running world; damaged and foreign snapshots are
//! refused without changing the image; prune removes only old snapshots.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

/// The world's counter program (`domains/programs/counter.s`) made to
/// print "ticks: N" four times a second, so its lines stand apart from the
/// world's own counter. N lives in its memory. Keys as the counter's: k1
/// the system timer, k2 a BWAIT object, k3 the console.
fn ticker_source() -> String {
    let counter = include_str!("../../domains/programs/counter.s");
    let mut source = counter.to_string();
    for (from, to) in [
        (".equ PERIOD_NS, 1000000000", ".equ PERIOD_NS, 250000000"),
        (".equ PREFIX_LEN, 9", ".equ PREFIX_LEN, 7"),
        (r#".ascii "counter: ""#, r#".ascii "ticks: ""#),
    ] {
        assert!(source.contains(from), "counter.s no longer has `{from}`");
        source = source.replace(from, to);
    }
    source
}

/// A new world in the new directory `dir`.
fn world_in(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    world(dir, &[])
}

/// A new world in `dir` with the ticker installed (not yet run).
fn ticker_world(dir: &Path) -> PathBuf {
    let image = world_in(dir);
    let source = dir.join("ticker.s");
    std::fs::write(&source, ticker_source()).unwrap();
    let elf = dir.join("ticker.elf");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domains/include");
    let o = gnosis(&["asm", s(&source), "-I", s(&include), "-o", s(&elf)]);
    assert!(o.status.success(), "{}", text(&o));
    let o = gnosis(&[
        "install",
        s(&image),
        s(&elf),
        "--name",
        "ticker",
        "--key",
        "timer",
        "--key",
        "bwait:2",
        "--key",
        "console",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    image
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The ticks printed, in order.
fn ticks(output: &str) -> Vec<u64> {
    output.lines().filter_map(|l| l.strip_prefix("ticks: ")?.parse().ok()).collect()
}

/// Runs `gnosis ARGS`, which must succeed; returns what it printed.
fn ok(args: &[&str]) -> String {
    let o = gnosis(args);
    assert!(o.status.success(), "gnosis {args:?} failed: {}", text(&o));
    text(&o)
}

/// Runs the ticker's world until it has printed `n` ticks; returns them.
fn tick_until(image: &Path, n: u64) -> Vec<u64> {
    ticks(&ok(&["run", s(image), "--until-output", &format!("ticks: {n}\n")]))
}

fn hash(path: &Path) -> u32 {
    crc32c::crc32c(&std::fs::read(path).unwrap())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_resumed_domain_goes_on_in_a_fresh_world_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let source = ticker_world(&dir.path().join("source"));
    let before = tick_until(&source, 3);
    let last = *before.last().unwrap();
    assert_eq!(before, (1..=last).collect::<Vec<_>>(), "the ticker counts from 1");

    let snap = dir.path().join("snap");
    let said = ok(&["snapshot", s(&source), "--domain", "ticker", "--out", s(&snap)]);
    assert!(said.contains("snapshot of ticker") && said.contains("start key to console"), "{said}");
    let ps = ok(&["ps", s(&source)]);
    assert!(ps.lines().any(|l| l.contains("ticker") && !l.contains("stopped")), "not killed: {ps}");

    let fresh = world_in(&dir.path().join("fresh"));
    let said = ok(&["resume", s(&fresh), s(&snap)]);
    assert!(said.contains("resumed ticker"), "{said}");
    assert!(said.contains("-> start key to console"), "the console import is mapped: {said}");
    assert!(said.contains("-> the user meter"), "the meter import is mapped: {said}");
    let after = tick_until(&fresh, last + 2);
    assert_eq!(after, vec![last + 1, last + 2], "the count goes on from the snapshot's {last}");
    fsck_clean(&source);
    fsck_clean(&fresh);
}

#[test]
fn snapshot_kill_stops_the_original_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let image = ticker_world(dir.path());
    let last = *tick_until(&image, 2).last().unwrap();

    let taken = ok(&["snapshot", s(&image), "--domain", "ticker", "--kill"]);
    assert!(taken.contains("stopped ticker for good"), "{taken}");
    let snapshots: Vec<PathBuf> =
        std::fs::read_dir(dir.path().join("snapshots")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(snapshots.len(), 1, "the default directory is snapshots/ next to the image");
    let snap = &snapshots[0];
    assert!(snap.file_name().unwrap().to_str().unwrap().starts_with("ticker-"), "{snap:?}");
    let ps = ok(&["ps", s(&image)]);
    assert!(ps.lines().any(|l| l.contains("ticker") && l.contains("stopped for good")), "{ps}");

    // The world runs on (the counter demo prints), the ticker does not.
    let out = ok(&["run", s(&image), "--until-seconds", "2"]);
    assert!(out.contains("counter: "), "{out}");
    assert!(ticks(&out).is_empty(), "the killed ticker ticked: {out}");

    // Back in the same image, next to its stopped original, under another name.
    let before = hash(&image);
    let o = gnosis(&["resume", s(&image), s(snap)]);
    assert!(!o.status.success() && text(&o).contains("already exists"), "{}", text(&o));
    assert_eq!(hash(&image), before, "a refused plan leaves the image as it was");
    // The console import, mapped by hand to the users' channel.
    let console = taken
        .lines()
        .find_map(|l| {
            let (number, what) = l.strip_prefix("  import ")?.split_once(": ")?;
            what.starts_with("start key to console").then_some(number)
        })
        .unwrap_or_else(|| panic!("no console import: {taken}"));
    let map = format!("{console}=console");
    let said = ok(&["resume", s(&image), s(snap), "--name", "again", "--map", &map]);
    assert!(said.contains("resumed again") && said.contains("-> console\n"), "{said}");
    assert_eq!(tick_until(&image, last + 1), vec![last + 1]);
    fsck_clean(&image);
}

#[test]
fn snapshot_and_resume_work_against_a_running_world() {
    let dir = tempfile::tempdir().unwrap();
    let image = ticker_world(dir.path());
    let snap = dir.path().join("snap");
    let mut w = Instance::start(&image);
    w.expect("ticks: 2");
    let said = ok(&["snapshot", s(&image), "--domain", "ticker", "--out", s(&snap), "--kill"]);
    assert!(said.contains("stopped ticker for good"), "{said}");
    let said = ok(&["resume", s(&image), s(&snap), "--name", "again"]);
    assert!(said.contains("resumed again"), "{said}");
    let ps = ok(&["ps", s(&image)]);
    assert!(ps.lines().any(|l| l.contains("ticker") && l.contains("stopped for good")), "{ps}");
    for _ in 0..3 {
        w.expect("ticks: ");
    }
    // One count, no value twice (the original would repeat the copy's) and
    // none skipped: the copy took over from the original's last value.
    let seen = ticks(&w.seen.join("\n"));
    assert_eq!(seen, (1..=*seen.last().unwrap()).collect::<Vec<_>>());
    w.kill9();
}

#[test]
fn damaged_and_foreign_snapshots_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = ticker_world(&dir.path().join("source"));
    let snap = dir.path().join("snap");
    ok(&["snapshot", s(&source), "--domain", "ticker", "--out", s(&snap)]);
    let target = world_in(&dir.path().join("target"));
    let unchanged = hash(&target);

    let edited = |name: &str, file: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let bad = dir.path().join(name);
        copy_dir(&snap, &bad);
        let path = bad.join(file);
        let mut bytes = std::fs::read(&path).unwrap();
        edit(&mut bytes);
        std::fs::write(&path, bytes).unwrap();
        bad
    };
    let flipped = |name: &str, file: &str, at: usize| edited(name, file, &|b| b[at] ^= 0x20);
    let renamed = edited("renamed", "manifest.json", &|b| {
        *b = String::from_utf8(b.clone()).unwrap().replace("\"ticker\"", "\"tickex\"").into_bytes()
    });
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "not a snapshot").unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("manifest.json"), r#"{"format": "something-else", "version": 1}"#).unwrap();
    let cases = [
        (
            flipped("page", "pages.bin", 5000),
            vec!["pages.bin is damaged", "page 1 of the snapshot", "take it again"],
        ),
        (
            flipped("node", "nodes.bin", 300),
            vec!["nodes.bin is damaged", "node 1 of the snapshot", "take it again"],
        ),
        (renamed, vec!["manifest.json is damaged", "checksum", "take it again"]),
        (foreign, vec!["is not a gnosis snapshot: it has no manifest.json", "`gnosis snapshot` wrote"]),
        (other, vec!["is not a gnosis snapshot manifest", "\"something-else\""]),
    ];
    for (bad, expected) in cases {
        let o = gnosis(&["resume", s(&target), s(&bad)]);
        let said = text(&o);
        assert!(!o.status.success(), "{bad:?} was resumed: {said}");
        for e in expected {
            assert!(said.contains(e), "{bad:?}: expected {e:?} in: {said}");
        }
        assert_eq!(hash(&target), unchanged, "{bad:?} changed the image");
    }
    // The target was never the problem.
    ok(&["resume", s(&target), s(&snap)]);
    assert_ne!(hash(&target), unchanged);
    fsck_clean(&target);
}

#[test]
fn kill_refuses_the_system_domains_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let image = world_in(dir.path());
    let unchanged = hash(&image);
    for system in tools::snapshot::SYSTEM_DOMAINS {
        let out = dir.path().join(system);
        let o = gnosis(&["snapshot", s(&image), "--domain", system, "--out", s(&out), "--kill"]);
        let said = text(&o);
        assert!(!o.status.success(), "{system} was killed: {said}");
        assert!(said.contains("system domains") && said.contains("without --kill"), "{said}");
        assert!(!out.exists(), "no snapshot of {system} was written");
    }
    assert_eq!(hash(&image), unchanged, "the image is unchanged");
}

#[test]
fn prune_removes_only_the_snapshots_older_than_the_age() {
    let dir = tempfile::tempdir().unwrap();
    let image = ticker_world(&dir.path().join("w"));
    let snaps = dir.path().join("snaps");
    let new = snaps.join("new");
    ok(&["snapshot", s(&image), "--domain", "ticker", "--out", s(&new)]);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    for (name, days) in [("ten-days", 10), ("two-days", 2)] {
        let path = snaps.join(name);
        copy_dir(&new, &path);
        let mut manifest = tools::snapshot::Manifest::read(&path).unwrap();
        manifest.created_unix_ns = (now - Duration::from_secs(days * 86_400)).as_nanos() as u64;
        manifest.write(&path).unwrap();
    }
    // Old, but not snapshots: left alone.
    std::fs::create_dir(snaps.join("notes")).unwrap();
    std::fs::write(snaps.join("notes/manifest.json"), "{}").unwrap();
    std::fs::write(snaps.join("README"), "keep me").unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&snaps)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };

    let said = ok(&["snapshot", "prune", s(&snaps), "--older-than", "5d"]);
    assert!(said.contains("ten-days") && !said.contains("two-days"), "{said}");
    assert_eq!(listing(), ["README", "new", "notes", "two-days"]);
    let said = ok(&["snapshot", "prune", s(&snaps), "--older-than", "1d"]);
    assert!(said.contains("two-days"), "{said}");
    assert_eq!(listing(), ["README", "new", "notes"]);

    let o = gnosis(&["snapshot", "prune", s(&snaps), "--older-than", "5w"]);
    assert!(!o.status.success() && text(&o).contains("use s, m, h or d"), "{}", text(&o));
    let o = gnosis(&["snapshot", s(&image)]);
    assert!(!o.status.success() && text(&o).contains("--domain"), "{}", text(&o));
}
