//! Crash campaigns as users run them (`gnosis crash`): every kind of fault
//! over a built-in workload, the oracle's verdicts, and the proof that the
//! oracle can fail.

use tools::crash::oracle::{Outcome, Reference};
use tools::crash::{self, Kind, Settings, report, workload};

fn settings(break_sync: bool) -> Settings {
    Settings {
        workload: "objects".into(),
        kinds: Kind::ALL.to_vec(),
        points: None,
        seed: 5,
        shard: (0, 1),
        break_sync,
        image: None,
        script: None,
        seconds: None,
    }
}

/// Every point of a built-in workload's campaign; returns how many.
fn full_campaign_without_divergence(name: &str) -> usize {
    let w = workload::builtin(name).unwrap();
    let mut s = settings(false);
    s.workload = name.into();
    let c = crash::run(&s, w.as_ref(), 2, &|_, _| {});
    let tally = report::tally(&c);
    println!(
        "campaign {name}: {} crash points over {} storage events in {:.1} s: {tally:?}",
        c.results.len(),
        c.timeline.len(),
        c.seconds
    );
    assert!(c.timeline.len() >= 150, "a workload of some size: {} events", c.timeline.len());
    assert_eq!(c.results.len(), c.timeline.len() * Kind::ALL.len(), "every event with every kind");
    let divergent: Vec<_> = report::divergences(&c).map(|r| (r.point, r.detail.clone())).collect();
    assert!(divergent.is_empty(), "{divergent:?}");
    for kind in [Kind::Stop, Kind::Torn, Kind::Lost] {
        let counts = &tally[&kind];
        assert_eq!(
            counts.get(&Outcome::RecoveredExact).copied().unwrap_or(0),
            counts.values().sum::<usize>(),
            "power loss never damages: {kind:?}"
        );
    }
    assert!(
        tally[&Kind::Flip].contains_key(&Outcome::DetectedDamage),
        "some flipped bits land in referenced frames and are caught"
    );
    c.results.len()
}

#[test]
fn ci_sized_campaigns_have_no_divergence() {
    let points = full_campaign_without_divergence("objects") + full_campaign_without_divergence("world");
    println!("{points} crash points in all");
    assert!(points >= 2000, "a few thousand crash points");
}

/// A seeded sample of a workload's crash points; returns how many.
fn sampled_campaign_without_divergence(name: &str, points: usize) -> usize {
    let w = workload::builtin(name).unwrap();
    let mut s = settings(false);
    s.workload = name.into();
    s.points = Some(points);
    let c = crash::run(&s, w.as_ref(), 2, &|_, _| {});
    println!("campaign {name}: {} crash points over {} storage events", c.results.len(), c.timeline.len());
    assert_eq!(c.results.len(), points);
    let divergent: Vec<_> = report::divergences(&c).map(|r| (r.point, r.detail.clone())).collect();
    assert!(divergent.is_empty(), "{name}: {divergent:?}");
    c.timeline.len()
}

/// Users' workloads (a working set 2.5 times the checkpoint area, 200 more
/// domains, programs installed while the world runs), sampled; the full
/// campaigns of 10,000 points each are in BENCHMARKS.md.
#[test]
fn users_workloads_have_no_divergence() {
    let fill = sampled_campaign_without_divergence("fill", 120);
    assert!(fill >= 3000, "the filler forces many checkpoints: {fill} storage events");
    sampled_campaign_without_divergence("domains", 60);
    sampled_campaign_without_divergence("install", 120);
}

#[test]
fn a_broken_storage_path_is_caught() {
    let w = workload::builtin("objects").unwrap();
    let mut s = settings(true);
    s.kinds = vec![Kind::Lost];
    let c = crash::run(&s, w.as_ref(), 2, &|_, _| {});
    let bad = c.results.iter().filter(|r| r.outcome != Outcome::RecoveredExact).count();
    println!("broken path: {bad} of {} lost-write crashes did not recover exactly", c.results.len());
    assert!(bad > 0, "skipping the sync before the header must be caught");
    let r = c.results.iter().find(|r| r.outcome != Outcome::RecoveredExact).unwrap();
    let line = report::reproduce(&c, r.point.event, r.point.kind);
    assert_eq!(
        line,
        format!("gnosis crash --workload objects --seed 5 --break-sync --only {}:lost", r.point.event)
    );
}

#[test]
fn a_reported_point_reproduces_from_its_seed() {
    let w = workload::builtin("objects").unwrap();
    let s = settings(false);
    let config = kernel::kernel::Config::default();
    let (reference, events) = Reference::record(w.as_ref(), &config);
    for point in s.points(events).into_iter().filter(|p| p.event % 37 == 3) {
        let a = crash::run_point(w.as_ref(), &reference, &config, point);
        let b = crash::run_point(w.as_ref(), &reference, &config, point);
        assert_eq!((a.outcome, a.generation, &a.detail), (b.outcome, b.generation, &b.detail), "{point:?}");
    }
}

#[test]
fn shards_merge_into_the_whole_campaign() {
    let w = workload::builtin("objects").unwrap();
    let mut s = settings(false);
    s.kinds = vec![Kind::Stop, Kind::Torn];
    let whole = crash::run(&s, w.as_ref(), 2, &|_, _| {});
    let parts: Vec<_> = (0..3)
        .map(|i| {
            let mut part = s.clone();
            part.shard = (i, 3);
            crash::run(&part, w.as_ref(), 1, &|_, _| {})
        })
        .collect();
    let merged = report::merge(parts).unwrap();
    let key = |c: &crash::Campaign| {
        c.results.iter().map(|r| (r.point.event, r.point.kind, r.outcome)).collect::<Vec<_>>()
    };
    assert_eq!(key(&merged), key(&whole));
}
