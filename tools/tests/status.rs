//! `gnosis status --json` against a running instance, `gnosis inspect
//! --history`, and the `gnosis top` screen drawn to a test backend.

mod common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use tools::status::{Status, view};

fn status_json(image: &str) -> Value {
    let o = gnosis(&["status", image, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&o)))
}

fn counter_instructions(status: &Value) -> u64 {
    let domains = status["domains"].as_array().unwrap();
    let counter = domains.iter().find(|d| d["name"] == "counter").expect("a counter domain");
    counter["instructions"].as_u64().unwrap()
}

#[test]
fn status_json_follows_a_running_world_through_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &["--checkpoint-interval", "300"]);
    let path = image.to_str().unwrap();
    let mut w = Instance::start(&image);
    w.expect("counter: 2");

    let before = status_json(path);
    assert_eq!(before["running"], true);
    let generation = before["checkpoint"]["generation"].as_u64().unwrap();
    assert!(before["checkpoint"]["area_frames"].as_u64().unwrap() > 0);
    assert!(before["checkpoint"]["dirty_frames"].as_u64().is_some(), "{before}");

    let o = gnosis(&["checkpoint", path]);
    assert!(o.status.success(), "{}", text(&o));
    w.expect("counter: 4");
    let after = status_json(path);
    assert_eq!(after["checkpoint"]["generation"].as_u64().unwrap(), generation + 1, "{after}");
    assert!(after["checkpoint"]["last_pause_ns"].as_u64().unwrap() > 0, "{after}");
    assert!(counter_instructions(&after) > counter_instructions(&before), "the counter ran on");
    let newest = &after["history"][0];
    assert_eq!(newest["generation"].as_u64().unwrap(), generation + 1, "{after}");
    assert!(newest["bytes"].as_u64().unwrap() > 0, "{newest}");
    assert!(
        after["system_time_ns"].as_u64().unwrap() > before["system_time_ns"].as_u64().unwrap(),
        "time moves"
    );
    w.kill9();

    let history = text(&gnosis(&["inspect", path, "--history"]));
    let generations: Vec<u64> =
        history.lines().skip(1).filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect();
    assert_eq!(generations.first(), Some(&(generation + 1)), "{history}");
    assert!(generations.windows(2).all(|w| w[0] > w[1]), "newest first: {history}");
}

#[test]
fn top_draws_domains_rates_checkpoint_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let o = gnosis(&["status", image.to_str().unwrap(), "--json"]);
    let before: Status = serde_json::from_slice(&o.stdout).expect("status JSON");
    let mut after = before.clone();
    let counter = after.domains.iter_mut().find(|d| d.name == "counter").unwrap();
    counter.instructions += 3_000_000;
    let root = counter.root;
    let rates = view::rates(&before, &after, 2.0);
    assert_eq!(rates[&root], 1_500_000.0);

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|frame| view::draw(frame, &after, &rates)).unwrap();
    let screen: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    for expected in
        ["checkpoint generation 2", "counter", "1.5 M/s", "ckptdvr", "checkpoint history", "restarts"]
    {
        assert!(screen.contains(expected), "no {expected:?} on the screen");
    }
}

/// Runs `tmux` on a server of the test's own, so a user's sessions are
/// never touched.
fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("tmux").args(["-L", socket]).args(args).output().expect("run tmux")
}

#[test]
fn top_in_tmux_shows_the_domain_list_and_the_checkpoint_line() {
    if !installed("tmux", "GNOSIS_REQUIRE_TOOLS") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = world(dir.path(), &[]);
    let mut w = Instance::start(&image);
    w.expect("counter: 2");
    let socket = format!("gnosis-top-{}", std::process::id());
    let command = format!("{BIN} top {} --interval 0.2", image.display());
    let o = tmux(&socket, &["new-session", "-d", "-s", "top", "-x", "120", "-y", "40", &command]);
    assert!(o.status.success(), "{}", text(&o));

    let deadline = std::time::Instant::now() + PATIENCE;
    let mut screen = String::new();
    while std::time::Instant::now() < deadline {
        screen = String::from_utf8_lossy(&tmux(&socket, &["capture-pane", "-p", "-t", "top"]).stdout).into();
        // A rate appears from the second refresh on: the view is live.
        if screen.contains("checkpoint generation") && screen.contains("M/s") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    tmux(&socket, &["send-keys", "-t", "top", "q"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    tmux(&socket, &["kill-server"]);
    w.kill9();
    for expected in ["checkpoint generation", "counter", "ckptdvr", "console", "M/s", "checkpoint history"] {
        assert!(screen.contains(expected), "no {expected:?} on the screen:\n{screen}");
    }
}
