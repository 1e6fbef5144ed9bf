//! One image, one writer, with real processes: `gnosis run`s started at
//! the same instant on one image through its path, a symlink and a hard
//! link; commands against a running image; `run` racing `format`; formats
//! that must not touch what is at their path, racing each other, or asking
//! for more disk than there is.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Starts `gnosis run PATH` with its output collected.
fn start_run(path: &Path) -> Child {
    Command::new(BIN)
        .args(["run", s(path), "--until-seconds", "600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn runs_started_at_once_through_a_path_a_symlink_and_a_hard_link_leave_one_running() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let symlink = dir.path().join("symlink.img");
    std::os::unix::fs::symlink(&image, &symlink).unwrap();
    let hard = dir.path().join("hard.img");
    std::fs::hard_link(&image, &hard).unwrap();
    for round in 0..5 {
        let generation_before = generation(&image);
        let mut runs: Vec<Child> = [&image, &symlink, &hard].map(|p| start_run(p)).into();
        // Two give up at once; the third runs until told to stop.
        let deadline = Instant::now() + PATIENCE;
        let mut losers = Vec::new();
        while losers.len() < 2 {
            assert!(Instant::now() < deadline, "round {round}: more than one run went on");
            let mut i = 0;
            while i < runs.len() {
                match runs[i].try_wait().unwrap() {
                    Some(_) => losers.push(runs.remove(i).wait_with_output().unwrap()),
                    None => i += 1,
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let said: Vec<String> = losers.iter().map(text).collect();
        assert_eq!(runs.len(), 1, "round {round}: not exactly one run went on: {said:?}");
        let winner = runs.pop().unwrap();
        let pid = winner.id();
        for loser in &losers {
            let said = String::from_utf8_lossy(&loser.stderr);
            assert_eq!(loser.status.code(), Some(2), "round {round}: {said}");
            assert!(said.contains(&format!("is in use by gnosis (pid {pid})")), "round {round}: {said}");
            assert!(!said.contains("restarting"), "round {round}: a loser booted: {said}");
        }
        signal(pid, "INT");
        let out = winner.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.contains("final checkpoint"), "round {round}: {said}");
        fsck_clean(&image);
        assert_eq!(generation(&image), generation_before + 1, "round {round}: one final checkpoint");
    }
}

#[test]
fn commands_against_a_running_image_refuse_it_or_go_through_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let p = s(&image);
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    let pid = w.child.id();
    let writer = format!("is in use by gnosis (pid {pid}), which holds it for writing");
    let reader = format!("is being changed by gnosis (pid {pid})");
    let elf = program(dir.path(), "stop", "_start:\n    ebreak\n");
    let refused: [(&[&str], &str); 4] = [
        (&["run", p], &writer),
        (&["exec", s(&elf), "--image", p], &writer),
        (&["fsck", p], &reader),
        (&["inspect", p], &reader),
    ];
    for (args, expected) in refused {
        let o = gnosis_in_time(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(expected), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("gnosis status"), "{args:?} names what to do: {}", text(&o));
    }
    // The read-only commands that have a running world to ask, ask it.
    for args in [["status", p], ["ps", p]] {
        let o = gnosis_in_time(&args);
        assert!(o.status.success() && text(&o).contains("counter"), "{args:?}: {}", text(&o));
    }
    w.expect("counter: 4");
    assert!(w.interrupt().success());
    fsck_clean(&image);
}

#[test]
fn a_run_racing_a_format_finds_no_image_or_a_whole_one() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("racing.img");
    for round in 0..8 {
        let _ = std::fs::remove_file(&image);
        let format = Command::new(BIN)
            .args(["format", s(&image), "--size", "64MiB"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(25 * round));
        let run = gnosis_in_time(&["run", s(&image), "--until-output", "counter: 1\n"]);
        let formatted = format.wait_with_output().unwrap();
        assert!(formatted.status.success(), "{}", text(&formatted));
        let said = text(&run);
        if run.status.success() {
            assert!(said.contains("from checkpoint generation 2") && domains_ready(&said) >= 7, "{said}");
        } else {
            assert!(said.contains("racing.img does not exist"), "round {round}: {said}");
        }
        fsck_clean(&image);
        let ps = text(&gnosis(&["ps", s(&image)]));
        assert!(ps.contains("counter") && ps.contains("shell"), "round {round}: {ps}");
    }
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

/// Temporary files format left in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect()
}

#[test]
fn a_refused_format_leaves_whatever_was_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let dangling = dir.path().join("dangling.img");
    std::os::unix::fs::symlink("/nonexistent/target.img", &dangling).unwrap();
    let file = dir.path().join("file.img");
    std::fs::write(&file, b"precious").unwrap();
    let directory = dir.path().join("dir.img");
    std::fs::create_dir(&directory).unwrap();
    let cases = [
        (&dangling, "(a dangling symlink to /nonexistent/target.img)"),
        (&file, "already exists"),
        (&directory, "(a directory)"),
    ];
    for (path, expected) in cases {
        for size in ["4MiB", "1MiB", "8TiB"] {
            let o = gnosis_in_time(&["format", s(path), "--size", size]);
            assert!(!o.status.success(), "{path:?} {size}: {}", text(&o));
            if size == "4MiB" {
                assert!(text(&o).contains(expected), "{path:?}: {}", text(&o));
            }
        }
    }
    assert_eq!(std::fs::read_link(&dangling).unwrap(), Path::new("/nonexistent/target.img"));
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
    assert!(directory.is_dir());
    // A format that fails on its own (the world does not fit) leaves nothing.
    let tiny = dir.path().join("tiny.img");
    let o = gnosis_in_time(&["format", s(&tiny), "--size", "2MiB"]);
    assert!(!o.status.success() && text(&o).contains("does not fit"), "{}", text(&o));
    assert!(tiny.symlink_metadata().is_err());
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn of_concurrent_formats_of_one_path_exactly_one_wins_and_the_image_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("contested.img");
    for round in 0..25 {
        let _ = std::fs::remove_file(&image);
        let formats: Vec<Child> = (0..3)
            .map(|_| {
                Command::new(BIN)
                    .args(["format", s(&image), "--size", "8MiB"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = formats.into_iter().map(|f| f.wait_with_output().unwrap()).collect();
        let said: Vec<String> = outputs.iter().map(text).collect();
        let won = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(won, 1, "round {round}: {said:?}");
        for lost in outputs.iter().filter(|o| !o.status.success()) {
            assert!(text(lost).contains("contested.img already exists"), "round {round}: {}", text(lost));
        }
        assert!(image.metadata().unwrap().is_file(), "round {round}: the image is there");
        fsck_clean(&image);
    }
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

/// Free bytes on the file system of `dir`, as `df` counts them.
fn free_bytes(dir: &Path) -> u64 {
    let o = Command::new("df").args(["--output=avail", "-B1", s(dir)]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn format_refuses_more_than_the_free_space_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    assert!(free_bytes(dir.path()) < 2 << 40, "this test needs a disk with less than 2 TiB free");
    let big = dir.path().join("big.img");
    let o = gnosis_in_time(&["format", s(&big), "--size", "8TiB", "--bare"]);
    let said = text(&o);
    assert!(!o.status.success(), "{said}");
    assert!(said.contains("an image of 8 TiB needs 2.0 TiB on disk at once"), "{said}");
    assert!(said.contains("two checkpoint areas of 1 TiB each") && said.contains(" free"), "{said}");
    // Overcommitting does not help when even the checkpoint areas do not fit.
    let o = gnosis_in_time(&["format", s(&big), "--size", "8TiB", "--bare", "--sparse"]);
    assert!(!o.status.success() && text(&o).contains("needs 2.0 TiB on disk at once"), "{}", text(&o));
    assert!(big.symlink_metadata().is_err(), "nothing was made");
    // The default world made by `gnosis run` goes through the same checks.
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["run", "--size", "8TiB", "--until-seconds", "1"])
        .env("XDG_DATA_HOME", home.path())
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success() && text(&o).contains("needs 2.0 TiB on disk at once"), "{}", text(&o));
    assert!(!home.path().join("gnosis/world.img").exists());
    // An image that fits is made, with or without --sparse.
    for extra in [&[][..], &["--sparse"]] {
        let fits = dir.path().join(format!("fits{}.img", extra.len()));
        let mut args = vec!["format", s(&fits), "--size", "64MiB", "--bare"];
        args.extend_from_slice(extra);
        let o = gnosis_in_time(&args);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(fits.metadata().unwrap().len(), 64 << 20);
    }
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn the_lock_follows_the_inode_not_the_path() {
    // A copy is another image: it runs beside the original.
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let copy: PathBuf = dir.path().join("copy.img");
    std::fs::copy(&image, &copy).unwrap();
    assert_ne!(image.metadata().unwrap().ino(), copy.metadata().unwrap().ino());
    let mut a = Instance::start(&image);
    a.expect("counter: 2");
    let mut b = Instance::start(&copy);
    b.expect("counter: 2");
    assert!(a.interrupt().success() && b.interrupt().success());
    fsck_clean(&image);
    fsck_clean(&copy);
}

/// How many domains `gnosis run` said were ready at its restart.
fn domains_ready(said: &str) -> usize {
    said.split(" domains ready")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
