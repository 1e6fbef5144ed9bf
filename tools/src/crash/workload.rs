//! Workloads a campaign crashes: deterministic from their seed, run on a
//! storage that may crash at a planned event, and reporting what they saw.

use std::collections::BTreeMap;
use std::sync::Arc;

use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{FRAME_BYTES, Geometry};
use kernel::builder::Builder;
use kernel::check;
use kernel::clock::Clock;
use kernel::journal::JOURNAL_PAGE;
use kernel::kernel::{Background, Config, Kernel};
use kernel::key::{Cda, Key, KeyType};
use kernel::object::node;
use kernel::restart;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where workloads keep an acknowledged-write counter in the journal page.
pub const JOURNAL_COUNTER_OFFSET: usize = 64;

/// What one run of a workload saw.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    /// Digest of every checkpoint, taken at its snapshot (and of the
    /// starting checkpoint).
    pub digests: BTreeMap<u64, u64>,
    /// Storage events completed when each generation's commit was observed.
    pub committed_by: BTreeMap<u64, u64>,
    /// Journal counter values acknowledged, with the storage events
    /// completed at the acknowledgement.
    pub journal_acks: Vec<(u64, u64)>,
    /// The durable image right after each commit (reference runs only).
    pub images_at_commit: BTreeMap<u64, Vec<u8>>,
}

/// A deterministic workload.
pub trait Workload: Send + Sync {
    /// Its name on the command line.
    fn name(&self) -> &'static str;
    /// The image it starts from.
    fn initial_image(&self) -> Vec<u8>;
    /// Runs it on `storage` to its end (crashing or not); with
    /// `keep_images`, keeps the durable image at each commit.
    fn run(&self, storage: Arc<FaultyStorage>, config: &Config, keep_images: bool) -> Observations;
    /// Instructions to run after a restart before comparing with a run that
    /// never crashed.
    fn continuation(&self) -> u64;
}

/// The built-in workloads.
pub fn builtin(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        "objects" => Some(Box::new(Objects { seed: 11 })),
        _ => None,
    }
}

/// Names of the built-in workloads.
pub const BUILTIN: &[&str] = &["objects"];

/// Boots a kernel on `storage` with a simulated clock (downtime 1 µs) and
/// inline background work: fully deterministic.
pub fn boot(storage: Arc<FaultyStorage>, config: &Config) -> Result<Kernel, kernel::kernel::KernelError> {
    let len = storage.frame_count() * FRAME_BYTES;
    let dynamic: Arc<dyn Storage> = storage;
    let loaded = restart::load(dynamic, len)?;
    let clock = Clock::simulated_after_restart(loaded.opened.header.checkpoint_time_ns, 1_000);
    Kernel::boot(loaded, clock, config.clone(), Background::Inline)
}

/// Records digests at snapshots and commits as they happen.
struct Recorder {
    storage: Arc<FaultyStorage>,
    observations: std::rc::Rc<std::cell::RefCell<Observations>>,
    keep_images: bool,
}

impl Recorder {
    fn start(storage: &Arc<FaultyStorage>, keep_images: bool) -> Recorder {
        let observations = std::rc::Rc::new(std::cell::RefCell::new(Observations::default()));
        let len = storage.frame_count() * FRAME_BYTES;
        let dynamic: Arc<dyn Storage> = storage.clone();
        if let Ok(loaded) = restart::load(dynamic, len) {
            observations
                .borrow_mut()
                .digests
                .insert(loaded.opened.header.generation, check::digest(&loaded.store));
        }
        Recorder { storage: storage.clone(), observations, keep_images }
    }

    fn watch(&self, k: &mut Kernel) {
        let o = self.observations.clone();
        k.observe_snapshots(Box::new(move |generation, store| {
            o.borrow_mut().digests.insert(generation, check::digest(store));
        }));
    }

    fn note(&self, k: &Kernel) {
        let g = k.checkpoint_header().generation;
        let mut o = self.observations.borrow_mut();
        if let std::collections::btree_map::Entry::Vacant(e) = o.committed_by.entry(g) {
            e.insert(self.storage.event_count());
            if self.keep_images && !self.storage.crashed() {
                o.images_at_commit.insert(g, self.storage.durable_image());
            }
        }
    }

    fn ack_journal(&self, counter: u64) {
        self.observations.borrow_mut().journal_acks.push((counter, self.storage.event_count()));
    }

    fn finish(self) -> Observations {
        self.observations.borrow().clone()
    }
}

/// Page and node writes, journal-page writes and checkpoints, driven
/// directly through the kernel: the storage path alone, no domains.
pub struct Objects {
    /// Seed of the writes.
    pub seed: u64,
}

impl Workload for Objects {
    fn name(&self) -> &'static str {
        "objects"
    }

    fn initial_image(&self) -> Vec<u8> {
        formatted(4 << 20)
    }

    fn run(&self, storage: Arc<FaultyStorage>, config: &Config, keep_images: bool) -> Observations {
        let recorder = Recorder::start(&storage, keep_images);
        let Ok(mut k) = boot(storage.clone(), config) else { return recorder.finish() };
        recorder.watch(&mut k);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let (pages, nodes) = {
            let mut b = Builder::new(&mut k);
            let pages: Vec<Cda> = (0..12).map(|_| b.page().expect("page")).collect();
            let nodes: Vec<Cda> = (0..6).map(|_| b.node().expect("node")).collect();
            (pages, nodes)
        };
        let mut counter = 0u64;
        for round in 0..5 {
            for i in 0..20 {
                let page = pages[rng.gen_range(0..pages.len())];
                let bytes: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.r#gen()).collect();
                k.write_page(page, rng.gen_range(0..4000), &bytes).expect("write");
                let target = pages[rng.gen_range(0..pages.len())];
                let slot = rng.gen_range(0..16);
                node::set_slot(
                    k.store_mut(),
                    nodes[rng.gen_range(0..nodes.len())],
                    slot,
                    Key::object(KeyType::Page, target, 0, 0),
                )
                .expect("node write");
                if i % 7 == 0 {
                    counter += 1;
                    k.write_page(JOURNAL_PAGE, JOURNAL_COUNTER_OFFSET, &counter.to_le_bytes())
                        .expect("journal");
                    recorder.ack_journal(counter);
                }
                k.step().expect("step");
                recorder.note(&k);
            }
            if round % 2 == 0 {
                k.request_checkpoint();
            }
        }
        k.checkpoint_now().expect("checkpoint");
        recorder.note(&k);
        k.finish_background().expect("background");
        recorder.finish()
    }

    fn continuation(&self) -> u64 {
        0
    }
}

/// A freshly formatted image of `bytes`.
pub fn formatted(bytes: u64) -> Vec<u8> {
    let geometry = Geometry::for_size(bytes).expect("geometry");
    let storage = FaultyStorage::new(&vec![0u8; (geometry.total_frames * FRAME_BYTES) as usize], None);
    disk_image::format(&storage, geometry, 0x5EED, 1).expect("format");
    storage.durable_image()
}
