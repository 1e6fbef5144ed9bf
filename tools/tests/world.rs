//! The living world as a user runs it: real `gnosis run` processes, killed
//! with SIGKILL at chosen and at random moments, restarted, and checked:
//! the counter goes on from its last checkpoint, acknowledged key-value
//! writes survive, the image stays clean, the checkpoint driver keeps time,
//! installed programs join the world.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rand::{Rng, SeedableRng};

#[test]
fn the_counter_goes_on_from_the_last_checkpoint_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "300"]);
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    let low = *w.counts().last().unwrap();
    let o = gnosis(&["checkpoint", image.to_str().unwrap()]);
    assert!(text(&o).contains("checkpoint generation 3"), "{}", text(&o));
    // The checkpoint holds a count between what was printed before asking
    // and what was printed once it was taken.
    let high = low + 1;
    w.expect(&format!("counter: {}", high + 3));
    w.kill9();

    let restarted = gnosis(&["run", image.to_str().unwrap(), "--until-output", "counter: "]);
    let out = text(&restarted);
    let first: u64 = out.lines().find_map(|l| l.strip_prefix("counter: ")?.parse().ok()).unwrap();
    assert!(
        (low + 1..=high + 1).contains(&first),
        "restarted at {first}, checkpoint held {low}..={high}: {out}"
    );
    assert!(out.contains("restart"), "{out}");
    let table = text(&gnosis(&["inspect", image.to_str().unwrap(), "--crash-table"]));
    let downtimes: Vec<f64> =
        table.lines().skip(1).filter_map(|l| l.split_whitespace().nth(3)?.parse().ok()).collect();
    assert!(downtimes.len() >= 2, "the first boot and the restart after kill -9: {table}");
    assert!(*downtimes.last().unwrap() > 0.0, "{table}");
    fsck_clean(&image);
}

#[test]
fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "1"]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut acknowledged = Vec::new();
    for round in 0..4 {
        let mut w = Instance::start(&image);
        w.expect("type help");
        for i in 0..3 {
            let (key, value) = (format!("k{round}{i}"), format!("v{}", rng.r#gen::<u16>()));
            w.send(&format!("set {key} {value}"));
            w.expect("ok");
            acknowledged.push((key, value));
        }
        // Unacknowledged writes in flight when the process dies.
        w.send(&format!("set pending{round} maybe"));
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..1500)));
        w.kill9();
        fsck_clean(&image);
    }
    let mut w = Instance::start(&image);
    w.expect("type help");
    for (key, value) in &acknowledged {
        w.send(&format!("get {key}"));
        let line = w.expect(&format!("{key} "));
        assert_eq!(line, format!("{key} = {value}"), "an acknowledged write was lost");
    }
    w.send("list");
    w.expect(&acknowledged.last().unwrap().0);
    w.kill9();
}

#[test]
fn the_checkpoint_driver_takes_checkpoints_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "1"]);
    let o = gnosis(&["run", image.to_str().unwrap(), "--until-seconds", "3.6", "--no-final-checkpoint"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&gnosis(&["inspect", image.to_str().unwrap()]));
    let generation: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("checkpoint  generation ")?.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(generation >= 4, "a checkpoint a second for 3.6 s after generation 2: {out}");
}

#[test]
fn programs_install_into_a_running_world_and_stay() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let source = dir.path().join("hello.s");
    std::fs::write(
        &source,
        "    .include \"gnosis.inc\"\n_start:\n    la s0, text\n    li s1, 13\n    KCALL_SEND 1, CONSOLE_WRITE, s0, s1\n    ebreak\n    .data\ntext: .ascii \"hello, world\\n\"\n",
    )
    .unwrap();
    let elf = dir.path().join("hello.elf");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domains/include");
    let o = gnosis(&[
        "asm",
        source.to_str().unwrap(),
        "-I",
        include.to_str().unwrap(),
        "-o",
        elf.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut w = Instance::start(&image);
    w.expect("type help");
    let p = image.to_str().unwrap();
    let o = gnosis(&["install", p, elf.to_str().unwrap(), "--name", "hello", "--key", "console"]);
    assert!(text(&o).contains("installed hello"), "{}", text(&o));
    w.expect("hello, world");
    let ps = text(&gnosis(&["ps", p]));
    assert!(ps.lines().any(|l| l.contains("hello") && l.contains("faulted: breakpoint")), "{ps}");
    let o = gnosis(&["install", p, elf.to_str().unwrap(), "--name", "hello", "--key", "nonsense"]);
    assert!(!o.status.success() && text(&o).contains("unknown key 'nonsense'"), "{}", text(&o));
    gnosis(&["checkpoint", p]);
    w.kill9();
    let ps = text(&gnosis(&["ps", p]));
    assert!(ps.contains("hello"), "the installed domain is in the checkpoint: {ps}");
}

#[test]
fn gnosis_run_with_no_image_makes_the_default_world() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["run", "--until-output", "counter: 2"])
        .env("XDG_DATA_HOME", dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("made a new world"), "{}", text(&o));
    let image = dir.path().join("gnosis/world.img");
    assert!(image.exists());
    fsck_clean(&image);
}

#[test]
fn crash_kill_kills_real_processes_and_checks_each_restart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let o = gnosis(&["crash", "--kill", "3", "--seed", "3", "--out", out.to_str().unwrap()]);
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("3 kills, 9 acknowledged writes, 0 lost: passed"), "{said}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("kill-report.json")).unwrap()).unwrap();
    assert_eq!(report["rounds"].as_array().unwrap().len(), 3);
}
