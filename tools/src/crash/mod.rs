//! Crash-injection campaigns: run a workload, crash it at every storage
//! event (or a seeded sample) with every kind of damage, restart, and let
//! the oracle judge each restart.
//!
//! Everything is deterministic from the campaign seed: the points tried,
//! the damage each does, the workload itself. Points run in parallel;
//! shards (`i/n`) split a campaign across machines, and their JSON reports
//! merge into one.

pub mod kill;
pub mod oracle;
pub mod report;
pub mod workload;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use disk_image::storage::{FaultKind, FaultPlan, FaultyStorage};
use kernel::kernel::Config;
use parking_lot::Mutex;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::oracle::{Outcome, Reference, judge};
use self::workload::Workload;

/// The kinds of crash a campaign injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// Power stops before the event lands.
    Stop,
    /// The event's frame lands as a prefix of sectors.
    Torn,
    /// Writes since the last sync are lost, in a random subset.
    Lost,
    /// A bit of the event's frame is flipped.
    Flip,
    /// A crash (of a kind chosen by the seed), then another crash while
    /// the system restarts from it.
    Restart,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [Kind::Stop, Kind::Torn, Kind::Lost, Kind::Flip, Kind::Restart];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stop => "stop",
            Kind::Torn => "torn",
            Kind::Lost => "lost",
            Kind::Flip => "flip",
            Kind::Restart => "restart",
        }
    }

    /// Parses a name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn storage_fault(self) -> Option<FaultKind> {
        match self {
            Kind::Stop => Some(FaultKind::StopAtWrite),
            Kind::Torn => Some(FaultKind::TornWrite),
            Kind::Lost => Some(FaultKind::LostUnsynced),
            Kind::Flip => Some(FaultKind::BitFlip),
            Kind::Restart => None,
        }
    }
}

/// One crash to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Storage event (write or sync, from 0) the workload crashes at.
    pub event: u64,
    /// What kind of crash.
    pub kind: Kind,
    /// Seed of the crash's random choices.
    pub seed: u64,
}

/// A campaign's settings.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Workload name.
    pub workload: String,
    /// Kinds of crash to inject.
    pub kinds: Vec<Kind>,
    /// Most points to try (a seeded sample when there are more).
    pub points: Option<usize>,
    /// Campaign seed.
    pub seed: u64,
    /// This shard (index, count).
    pub shard: (usize, usize),
    /// Deliberately skip the snapshot's sync (to show the oracle catches it).
    pub break_sync: bool,
    /// The image of an `image` workload.
    #[serde(default)]
    pub image: Option<std::path::PathBuf>,
    /// Lines an `image` workload types at the console.
    #[serde(default)]
    pub script: Option<std::path::PathBuf>,
    /// Simulated seconds a world workload runs.
    #[serde(default)]
    pub seconds: Option<u64>,
}

/// What one point did.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PointResult {
    /// The point.
    pub point: Point,
    /// The oracle's decision.
    pub outcome: Outcome,
    /// Generation restarted at.
    pub generation: Option<u64>,
    /// Load and boot time, µs.
    pub recovery_us: f64,
    /// The damage done, and the oracle's reasons.
    pub detail: String,
}

/// A finished campaign (or shard).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Campaign {
    /// Its settings.
    pub settings: Settings,
    /// Storage events of the workload, in order: 'w' write, 's' sync.
    pub timeline: String,
    /// Every point tried.
    pub results: Vec<PointResult>,
    /// Wall time, s.
    pub seconds: f64,
}

impl Settings {
    fn kernel_config(&self) -> Config {
        Config { break_snapshot_sync: self.break_sync, ..Config::default() }
    }

    /// The points of this shard: every (event, kind), or a seeded sample.
    pub fn points(&self, events: u64) -> Vec<Point> {
        let mut all: Vec<Point> = (0..events)
            .flat_map(|event| self.kinds.iter().map(move |&kind| (event, kind)))
            .map(|(event, kind)| Point { event, kind, seed: point_seed(self.seed, event, kind) })
            .collect();
        if let Some(n) = self.points.filter(|&n| n < all.len()) {
            all.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
            all.truncate(n);
            all.sort_by_key(|p| (p.event, p.kind));
        }
        let (index, count) = self.shard;
        all.into_iter().enumerate().filter(|(i, _)| i % count == index).map(|(_, p)| p).collect()
    }
}

/// The seed of one point of a campaign.
pub fn point_seed(seed: u64, event: u64, kind: Kind) -> u64 {
    seed ^ event.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (kind as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
}

/// Runs a campaign on `threads` threads, calling `progress(done, total)`.
pub fn run(
    settings: &Settings,
    workload: &dyn Workload,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Campaign {
    let started = Instant::now();
    let config = settings.kernel_config();
    let (reference, events) = Reference::record(workload, &config);
    let timeline = timeline(workload, &config);
    let points = settings.points(events);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(points.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&point) = points.get(i) else { break };
                    let result = run_point(workload, &reference, &config, point);
                    let mut r = results.lock();
                    r.push(result);
                    progress(r.len(), points.len());
                }
            });
        }
    });
    let mut results = results.into_inner();
    results.sort_by_key(|r| (r.point.event, r.point.kind));
    Campaign { settings: settings.clone(), timeline, results, seconds: started.elapsed().as_secs_f64() }
}

fn timeline(workload: &dyn Workload, config: &Config) -> String {
    let storage = Arc::new(FaultyStorage::new(&workload.initial_image(), None));
    workload.run(storage.clone(), config, false);
    storage
        .events()
        .iter()
        .map(|e| match e {
            disk_image::storage::StorageEvent::Write { .. } => 'w',
            disk_image::storage::StorageEvent::Sync(_) => 's',
        })
        .collect()
}

/// Tries one point: crash, restart, judge.
pub fn run_point(
    workload: &dyn Workload,
    reference: &Reference,
    config: &Config,
    point: Point,
) -> PointResult {
    let image = workload.initial_image();
    let mut rng = ChaCha8Rng::seed_from_u64(point.seed);
    let first_kind =
        point.kind.storage_fault().unwrap_or(FaultKind::ALL[rng.gen_range(0..FaultKind::ALL.len())]);
    let crash = crash_once(
        workload,
        config,
        &image,
        FaultPlan { event: point.event, kind: first_kind, seed: point.seed },
    );
    let Some((bytes, mut detail)) = crash else {
        return PointResult {
            point,
            outcome: Outcome::Divergence,
            generation: None,
            recovery_us: 0.0,
            detail: "the planned event never happened".into(),
        };
    };
    let bytes = if point.kind == Kind::Restart {
        let (again, more) = crash_during_restart(config, &bytes, &mut rng);
        detail = format!("{detail}; then during restart: {more}");
        again
    } else {
        bytes
    };
    let verdict = judge(workload, reference, &bytes, point.event, config);
    if !verdict.detail.is_empty() {
        detail = format!("{detail}; {}", verdict.detail);
    }
    PointResult {
        point,
        outcome: verdict.outcome,
        generation: verdict.generation,
        recovery_us: verdict.recovery_ns as f64 / 1e3,
        detail,
    }
}

fn crash_once(
    workload: &dyn Workload,
    config: &Config,
    image: &[u8],
    plan: FaultPlan,
) -> Option<(Vec<u8>, String)> {
    let storage = Arc::new(FaultyStorage::new(image, Some(plan)));
    workload.run(storage.clone(), config, false);
    storage
        .crash_image()
        .map(|c| (c.bytes, format!("{} at event {}: {}", c.plan.kind.name(), plan.event, c.detail)))
}

/// Restarts `image` and crashes again at a random event of the restart
/// (which includes finishing its migration).
fn crash_during_restart(config: &Config, image: &[u8], rng: &mut ChaCha8Rng) -> (Vec<u8>, String) {
    let restart = |storage: Arc<FaultyStorage>| {
        if let Ok(mut k) = workload::boot(storage, config) {
            let _ = k.finish_background();
        }
    };
    let counter = Arc::new(FaultyStorage::new(image, None));
    restart(counter.clone());
    let events = counter.event_count();
    if events == 0 {
        return (image.to_vec(), "the restart wrote nothing".into());
    }
    let plan = FaultPlan {
        event: rng.gen_range(0..events),
        kind: FaultKind::ALL[rng.gen_range(0..4)],
        seed: rng.r#gen(),
    };
    let storage = Arc::new(FaultyStorage::new(image, Some(plan)));
    restart(storage.clone());
    match storage.crash_image() {
        Some(c) => (
            c.bytes,
            format!("{} at restart event {} of {events}: {}", plan.kind.name(), plan.event, c.detail),
        ),
        None => (storage.durable_image(), "no crash".into()),
    }
}
