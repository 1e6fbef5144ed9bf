//! The oracle: after a crash, restart and decide whether the system came
//! back as it must.
//!
//! A restart must (a) open the image or report damage explicitly; (b) come
//! back exactly at a checkpoint no older than the last one committed before
//! the crash (digest of every page, node and register); its journal page at
//! least as new as the last acknowledged journal write; (c) treat every
//! device key as stale; (d) then run on to the same results as a restart
//! from the same checkpoint that never crashed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{CheckpointHeader, CheckpointState, ImageError, Layout};
use kernel::check;
use kernel::journal::JOURNAL_PAGE;
use kernel::kernel::{Config, Kernel};
use kernel::key::{Cda, KeyType};
use kernel::object::{self, node, page};
use parking_lot::Mutex;

use super::workload::{Observations, Workload, boot};

/// How a crash point came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// Exactly the newest checkpoint that could be recovered.
    RecoveredExact,
    /// Damage was found and an older, intact checkpoint was used instead.
    RecoveredOlder,
    /// The image reported damage and refused to restart.
    DetectedDamage,
    /// Anything else: a bug.
    Divergence,
}

impl Outcome {
    /// All outcomes, in report order.
    pub const ALL: [Outcome; 4] =
        [Outcome::RecoveredExact, Outcome::RecoveredOlder, Outcome::DetectedDamage, Outcome::Divergence];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::RecoveredExact => "recovered-exact",
            Outcome::RecoveredOlder => "recovered-to-older-checkpoint",
            Outcome::DetectedDamage => "detected-damage",
            Outcome::Divergence => "divergence",
        }
    }
}

/// The oracle's decision on one restart.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// How it came back.
    pub outcome: Outcome,
    /// The generation it restarted at.
    pub generation: Option<u64>,
    /// Load and boot time, ns.
    pub recovery_ns: u64,
    /// Why, in words.
    pub detail: String,
}

/// What the oracle compares against: a run that never crashed.
pub struct Reference {
    /// What that run saw.
    pub observations: Observations,
    /// Continuation digests by generation and journal contents, computed
    /// on demand.
    continuations: Mutex<BTreeMap<(u64, bool, u64), u64>>,
    initial_image: Vec<u8>,
}

impl Reference {
    /// Runs the workload without faults.
    pub fn record(workload: &dyn Workload, config: &Config) -> (Reference, u64) {
        let image = workload.initial_image();
        let storage = Arc::new(FaultyStorage::new(&image, None));
        let observations = workload.run(storage.clone(), config, true);
        let events = storage.event_count();
        (Reference { observations, continuations: Mutex::new(BTreeMap::new()), initial_image: image }, events)
    }

    /// The newest generation committed by the time `events` events had completed.
    pub fn committed_before(&self, events: u64) -> u64 {
        let o = &self.observations;
        o.committed_by
            .iter()
            .filter(|&(_, &at)| at <= events)
            .map(|(&g, _)| g)
            .max()
            .unwrap_or_else(|| o.digests.keys().next().copied().unwrap_or(1))
    }

    /// The digest a never-crashed run reaches, restarted from generation
    /// `generation` with the journal of `crashed`, and run on. The journal
    /// page and journalized pages keep their newest contents across a
    /// restart, so they are an input of the comparison, not part of it.
    fn continuation(
        &self,
        workload: &dyn Workload,
        header: &CheckpointHeader,
        crashed: &[u8],
        layout: &Layout,
        config: &Config,
    ) -> Result<u64, String> {
        let (generation, migrated) = (header.generation, header.state == CheckpointState::Migrated);
        let journal = journal_frames(layout);
        let key = (generation, migrated, journal_hash(crashed, &journal));
        if let Some(&d) = self.continuations.lock().get(&key) {
            return Ok(d);
        }
        let o = &self.observations;
        let reference = if migrated { &o.images_at_migrated } else { &o.images_at_commit };
        let mut image = match reference.get(&generation) {
            Some(image) => image.clone(),
            None if Some(&generation) == self.observations.digests.keys().next() => {
                self.initial_image.clone()
            }
            None => return Err(format!("no never-crashed image of generation {generation} to compare with")),
        };
        for span in &journal {
            image[span.clone()].copy_from_slice(&crashed[span.clone()]);
        }
        let d = continue_run(Arc::new(FaultyStorage::new(&image, None)), workload, config)?;
        self.continuations.lock().insert(key, d);
        Ok(d)
    }
}

/// Byte spans of the journal: its slots and the journal page's home frame.
fn journal_frames(layout: &Layout) -> Vec<std::ops::Range<usize>> {
    let frame = |f: u64| f as usize * disk_image::FRAME_SIZE;
    let slots = frame(layout.journal.first)..frame(layout.journal.first + layout.journal.count);
    let page = frame(layout.page_frame(JOURNAL_PAGE.number()));
    vec![slots, page..page + disk_image::FRAME_SIZE]
}

fn journal_hash(image: &[u8], spans: &[std::ops::Range<usize>]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for span in spans {
        image[span.clone()].hash(&mut h);
    }
    h.finish()
}

fn continue_run(
    storage: Arc<FaultyStorage>,
    workload: &dyn Workload,
    config: &Config,
) -> Result<u64, String> {
    let mut k =
        boot(storage, config).map_err(|e| format!("the never-crashed reference failed to restart: {e}"))?;
    continue_kernel(&mut k, workload).map_err(|p| match p {
        Problem::Damage(s) | Problem::Divergence(s) => format!("the never-crashed reference failed: {s}"),
    })
}

fn continue_kernel(k: &mut Kernel, workload: &dyn Workload) -> Result<u64, Problem> {
    k.run(workload.continuation()).map_err(|e| kernel_problem("continuation", e))?;
    k.write_back_caches().map_err(|e| kernel_problem("write-back", e))?;
    Ok(check::digest(k.store()))
}

/// Restarts `image` (crashed after `events` completed events) and judges it.
pub fn judge(
    workload: &dyn Workload,
    reference: &Reference,
    image: &[u8],
    events: u64,
    config: &Config,
) -> Verdict {
    let started = Instant::now();
    let storage = Arc::new(FaultyStorage::new(image, None));
    let dynamic: Arc<dyn Storage> = storage.clone();
    let loaded = match kernel::restart::load(dynamic, image.len() as u64) {
        Ok(l) => l,
        Err(e @ (ImageError::Damaged { .. } | ImageError::NoValidHeader { .. })) => {
            return verdict(Outcome::DetectedDamage, None, started, e.to_string());
        }
        Err(e) => {
            return verdict(Outcome::Divergence, None, started, format!("unexpected error opening: {e}"));
        }
    };
    let h = loaded.opened.header.generation;
    let fell_back = loaded.fell_back.as_ref().map(|e| e.to_string());
    if let Some(damage) = fsck_damage(&storage) {
        return verdict(Outcome::DetectedDamage, Some(h), started, damage);
    }
    let problem = check_restart(workload, reference, &loaded, storage, (image, events), config);
    match problem {
        Err(Problem::Damage(why)) => verdict(Outcome::DetectedDamage, Some(h), started, why),
        Err(Problem::Divergence(why)) => verdict(Outcome::Divergence, Some(h), started, why),
        Ok(recovery_ns) => {
            let outcome = if fell_back.is_some() { Outcome::RecoveredOlder } else { Outcome::RecoveredExact };
            Verdict { outcome, generation: Some(h), recovery_ns, detail: fell_back.unwrap_or_default() }
        }
    }
}

/// Damage the whole-store checker finds (beyond a fallback, which the
/// outcome already says), if any.
fn fsck_damage(storage: &Arc<FaultyStorage>) -> Option<String> {
    let dynamic: Arc<dyn Storage> = storage.clone();
    let len = storage.frame_count() * disk_image::FRAME_BYTES;
    let report = check::check_image(dynamic, len).ok()?;
    report.errors().find(|f| f.tag != "FSCK-FALLBACK").map(|f| format!("fsck: [{}] {}", f.tag, f.what))
}

/// Why a restart was not right.
enum Problem {
    /// Damage was reported.
    Damage(String),
    /// The restarted system is wrong.
    Divergence(String),
}

impl From<String> for Problem {
    fn from(s: String) -> Self {
        Problem::Divergence(s)
    }
}

/// Classifies a kernel error: damage it reports, or a divergence.
fn kernel_problem(context: &str, e: kernel::kernel::KernelError) -> Problem {
    match e {
        kernel::kernel::KernelError::Image(ImageError::Damaged { .. }) => {
            Problem::Damage(format!("{context}: {e}"))
        }
        other => Problem::Divergence(format!("{context}: {other}")),
    }
}

fn verdict(outcome: Outcome, generation: Option<u64>, started: Instant, detail: String) -> Verdict {
    Verdict { outcome, generation, recovery_ns: started.elapsed().as_nanos() as u64, detail }
}

fn check_restart(
    workload: &dyn Workload,
    reference: &Reference,
    loaded: &kernel::restart::LoadedImage,
    storage: Arc<FaultyStorage>,
    (crashed, events): (&[u8], u64),
    config: &Config,
) -> Result<u64, Problem> {
    let started = Instant::now();
    let h = loaded.opened.header.generation;
    let must_have = reference.committed_before(events);
    if h < must_have {
        return Err(format!("restarted at generation {h}, but generation {must_have} had committed").into());
    }
    let expected = reference.observations.digests.get(&h).ok_or(format!("generation {h} was never taken"))?;
    if check::digest(&loaded.store) != *expected {
        return Err(format!("generation {h} came back with different contents").into());
    }
    let mut k = boot(storage, config).map_err(|e| kernel_problem("restart", e))?;
    let recovery_ns = started.elapsed().as_nanos() as u64;
    check_journal(&k, workload, reference, events)?;
    check_devices_stale(&k)?;
    let expected =
        reference.continuation(workload, &loaded.opened.header, crashed, &loaded.opened.layout, config)?;
    if continue_kernel(&mut k, workload)? != expected {
        return Err(format!("after restarting at generation {h} the domains ran to different results").into());
    }
    Ok(recovery_ns)
}

fn check_journal(
    k: &Kernel,
    workload: &dyn Workload,
    reference: &Reference,
    events: u64,
) -> Result<(), String> {
    let acked = reference
        .observations
        .journal_acks
        .iter()
        .filter(|(_, at)| *at <= events)
        .map(|(c, _)| *c)
        .max()
        .unwrap_or(0);
    let mut b = vec![0u8; disk_image::FRAME_SIZE];
    page::read(k.store(), JOURNAL_PAGE, 0, &mut b);
    let found = workload.journal_counter(&b);
    if found < acked {
        return Err(format!("journal page holds write {found}, older than acknowledged write {acked}"));
    }
    Ok(())
}

fn check_devices_stale(k: &Kernel) -> Result<(), String> {
    let store = k.store();
    for n in 0..store.layout().geometry.node_count() {
        let cda = Cda::node(n);
        if !object::allocation(store, cda).allocated {
            continue;
        }
        for key in node::slots(store, cda) {
            if key.kind() == KeyType::Device && key.body() == k.restart_stamp() {
                return Err(format!("a device key in {cda} is valid after the restart"));
            }
        }
    }
    Ok(())
}
