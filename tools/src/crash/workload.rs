//! Workloads a campaign crashes: deterministic from their seed, run on a
//! storage that may crash at a planned event, and reporting what they saw.

use std::collections::BTreeMap;
use std::sync::Arc;

use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{CheckpointState, FRAME_BYTES, Geometry};
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
    /// The durable image right after each generation's migration finished
    /// (reference runs only): a restart from a migrated checkpoint has no
    /// migration to do, so its migrator behaves differently.
    pub images_at_migrated: BTreeMap<u64, Vec<u8>>,
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
    /// The newest acknowledged-write counter the journal page holds.
    fn journal_counter(&self, journal_page: &[u8]) -> u64 {
        disk_image::frame::read_u64(journal_page, JOURNAL_COUNTER_OFFSET)
    }
}

/// The built-in workloads.
pub fn builtin(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        "objects" => Some(Box::new(Objects { seed: 11 })),
        "world" => Some(Box::new(World::primordial(11, WORLD_SECONDS))),
        "fill" => Some(Box::new(World::filling(11, WORLD_SECONDS))),
        "domains" => Some(Box::new(World::many_domains(11, WORLD_SECONDS))),
        "install" => Some(Box::new(World::installing(11, WORLD_SECONDS))),
        _ => None,
    }
}

/// Names of the built-in workloads.
pub const BUILTIN: &[&str] = &["objects", "world", "fill", "domains", "install"];

/// Simulated seconds the world workloads run by default.
pub const WORLD_SECONDS: u64 = 4;

/// The workload a campaign's settings name: a built-in one (the world for
/// `seconds` if given), or `image`: the world in `image`, run for `seconds`
/// while the lines of `script` are typed at its console.
pub fn from_settings(settings: &super::Settings) -> anyhow::Result<Box<dyn Workload>> {
    let seconds = settings.seconds.unwrap_or(WORLD_SECONDS);
    match settings.workload.as_str() {
        "image" => {
            let path = settings.image.as_ref().ok_or_else(|| {
                anyhow::anyhow!("--workload image needs --image IMAGE (and optionally --script FILE)")
            })?;
            let image =
                std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let script = match &settings.script {
                Some(p) => std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?
                    .lines()
                    .map(|l| format!("{l}\n"))
                    .collect(),
                None => Vec::new(),
            };
            Ok(Box::new(World::from_image(image, script, seconds)))
        }
        "world" => Ok(Box::new(World::primordial(11, seconds))),
        "fill" => Ok(Box::new(World::filling(11, seconds))),
        "domains" => Ok(Box::new(World::many_domains(11, seconds))),
        "install" => Ok(Box::new(World::installing(11, seconds))),
        name => {
            anyhow::ensure!(
                settings.image.is_none() && settings.script.is_none(),
                "--image and --script go with --workload image"
            );
            builtin(name).ok_or_else(|| {
                anyhow::anyhow!(
                    "no workload '{name}': the built-in ones are {}, or image",
                    BUILTIN.join(", ")
                )
            })
        }
    }
}

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
        let header = k.checkpoint_header();
        let g = header.generation;
        let keep = self.keep_images && !self.storage.crashed();
        let mut o = self.observations.borrow_mut();
        if let std::collections::btree_map::Entry::Vacant(e) = o.committed_by.entry(g) {
            e.insert(self.storage.event_count());
            if keep {
                o.images_at_commit.insert(g, self.storage.durable_image());
            }
        }
        if keep && header.state == CheckpointState::Migrated && !o.images_at_migrated.contains_key(&g) {
            o.images_at_migrated.insert(g, self.storage.durable_image());
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
        recorder.note(&k);
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

/// A world (every system domain and demo) run for a simulated time while a
/// script types lines at its console, one when the previous one has been
/// answered: the primordial world with key-value commands at the shell
/// (journaled writes, acknowledged with "ok"), the counter, a checkpoint a
/// second by the checkpoint driver, the migrator; or a user's image and
/// script. Variants add users' programs: one whose working set is more
/// than twice the checkpoint area (`fill`), hundreds of domains (`domains`),
/// or programs installed while the world runs (`install`).
pub struct World {
    name: &'static str,
    image: std::sync::OnceLock<Vec<u8>>,
    make: fn() -> Vec<u8>,
    script: Vec<String>,
    seconds: u64,
    /// When (simulated ns after the start) to install a program.
    installs: Vec<u64>,
}

/// Sets and deletes the primordial world's script makes per simulated second.
const WORLD_COMMANDS_PER_SECOND: u64 = 10;
/// Keys the script uses.
const WORLD_KEYS: usize = 8;
/// Domains the `domains` workload adds to the world.
pub const MANY_DOMAINS: usize = 200;

impl World {
    fn new(name: &'static str, make: fn() -> Vec<u8>, seed: u64, seconds: u64) -> World {
        World {
            name,
            image: std::sync::OnceLock::new(),
            make,
            script: script(seed, WORLD_COMMANDS_PER_SECOND * seconds),
            seconds,
            installs: Vec::new(),
        }
    }

    /// The primordial world with a key-value script from `seed`, for `seconds`.
    pub fn primordial(seed: u64, seconds: u64) -> World {
        World::new("world", primordial_image, seed, seconds)
    }

    /// The primordial world with a program that dirties two and a half
    /// times the checkpoint area, page by page, for several passes: full
    /// areas force checkpoints while it waits for room.
    pub fn filling(seed: u64, seconds: u64) -> World {
        World::new("fill", filling_image, seed, seconds)
    }

    /// The primordial world with [`MANY_DOMAINS`] more domains, each calling
    /// the key-value store a few times (queueing on it) and storing the
    /// answers.
    pub fn many_domains(seed: u64, seconds: u64) -> World {
        World::new("domains", many_domains_image, seed, seconds)
    }

    /// The primordial world into which a program (a key-value client) is
    /// installed every simulated second, while it runs.
    pub fn installing(seed: u64, seconds: u64) -> World {
        let mut world = World::new("install", primordial_image, seed, seconds);
        world.installs = (0..seconds).map(|s| s * 1_000_000_000 + 500_000_000).collect();
        world
    }

    /// The world in `image`, typing `script`, for `seconds`.
    pub fn from_image(image: Vec<u8>, script: Vec<String>, seconds: u64) -> World {
        World {
            name: "image",
            image: std::sync::OnceLock::from(image),
            make: Vec::new,
            script,
            seconds,
            installs: Vec::new(),
        }
    }
}

/// Key-value commands: sets, and deletes of keys that are set.
fn script(seed: u64, commands: u64) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut set = std::collections::BTreeSet::new();
    (0..commands)
        .map(|_| {
            let key = rng.gen_range(0..WORLD_KEYS);
            if set.contains(&key) && rng.gen_bool(0.2) {
                set.remove(&key);
                format!("del k{key}\n")
            } else {
                set.insert(key);
                format!("set k{key} {}\n", rng.r#gen::<u32>())
            }
        })
        .collect()
}

/// The primordial world in a fresh image of `bytes`, checkpointing every
/// second, with `add` run on it before its first checkpoint.
fn world_image(bytes: u64, add: impl FnOnce(&mut Kernel)) -> Vec<u8> {
    let storage = Arc::new(FaultyStorage::new(&formatted(bytes), None));
    let mut k = boot(storage.clone(), &Config::default()).expect("boot");
    let settings = domains::world::big_bang::Settings { checkpoint_interval_s: 1 };
    domains::world::big_bang::build(&mut k, &settings).expect("big bang");
    add(&mut k);
    k.checkpoint_now().expect("checkpoint");
    k.finish_background().expect("background");
    storage.durable_image()
}

/// The primordial world in a fresh 8 MiB image.
fn primordial_image() -> Vec<u8> {
    world_image(8 << 20, |_| {})
}

/// Passes the `fill` workload's program makes over its memory.
const FILL_PASSES: u32 = 6;

/// The primordial world in 8 MiB (1 MiB checkpoint areas) with the filler.
fn filling_image() -> Vec<u8> {
    world_image(8 << 20, |k| {
        let bytes = (k.layout().geometry.area_frames * FRAME_BYTES * 5 / 2) as u32;
        let elf = assemble(&format!(
            r#"
        _start:
            li   s0, {FILL_PASSES}
        1:  la   t0, big
            li   t1, {bytes}
            add  t1, t0, t1
        2:  lbu  t2, 0(t0)
            addi t2, t2, 1
            sb   t2, 0(t0)
            li   t3, 4096
            add  t0, t0, t3
            bltu t0, t1, 2b
            addi s0, s0, -1
            bnez s0, 1b
            ebreak
            .bss
        big: .space {bytes}
        "#
        ));
        domains::world::install::install_with_stack(k, &elf, "filler", &[], 4096)
            .expect("install the filler");
    })
}

/// A key-value client: calls the store's count order three times, storing
/// each answer, then stops.
const KV_CLIENT: &str = r#"
    .include "gnosis.inc"
_start:
    li   s0, 3
1:  KCALL 1, 5
    la   t0, answers
    sw   a0, 0(t0)
    addi t0, t0, 4
    addi s0, s0, -1
    bnez s0, 1b
    ebreak
    .data
answers: .space 12
"#;

/// The primordial world in 48 MiB with [`MANY_DOMAINS`] key-value clients
/// (each takes nine nodes; without a stack, which they do not use).
fn many_domains_image() -> Vec<u8> {
    world_image(48 << 20, |k| {
        let elf = assemble(KV_CLIENT);
        let grants = ["start:kv".parse().expect("grant")];
        for i in 0..MANY_DOMAINS {
            domains::world::install::install_with_stack(k, &elf, &format!("c{i}"), &grants, 0)
                .expect("install a client");
        }
    })
}

/// Assembles a workload's program (with `domains/include` available).
fn assemble(text: &str) -> Vec<u8> {
    let resolver = assembler::FsResolver::with_search_dirs(vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../domains/include"
    ))]);
    let source = assembler::Source { name: "workload.s", text };
    assembler::assemble(source, &resolver, &assembler::Options::default()).expect("assemble").to_elf()
}

impl Workload for World {
    fn name(&self) -> &'static str {
        self.name
    }

    fn initial_image(&self) -> Vec<u8> {
        self.image.get_or_init(self.make).clone()
    }

    fn run(&self, storage: Arc<FaultyStorage>, config: &Config, keep_images: bool) -> Observations {
        let recorder = Recorder::start(&storage, keep_images);
        let Ok(mut k) = boot(storage.clone(), config) else { return recorder.finish() };
        recorder.watch(&mut k);
        let mut script = self.script.iter();
        let start = k.clock().now_ns();
        let end = start + self.seconds * 1_000_000_000;
        let mut installs = self.installs.iter().enumerate().peekable();
        let (mut acknowledged, mut answered) = (0u64, true);
        while k.clock().now_ns() < end {
            if answered && let Some(line) = script.next() {
                k.console().feed(line.as_bytes());
                answered = false;
            }
            if let Some((i, _)) = installs.next_if(|(_, at)| start + **at <= k.clock().now_ns()) {
                let grants = ["start:kv".parse().expect("grant")];
                let elf = assemble(KV_CLIENT);
                let installed = domains::world::install::install_with_stack(
                    &mut k,
                    &elf,
                    &format!("i{i}"),
                    &grants,
                    4096,
                );
                if installed.is_err() {
                    break;
                }
            }
            if k.step().is_err() {
                break;
            }
            recorder.note(&k);
            let out = String::from_utf8_lossy(&k.console().take_output()).into_owned();
            for _ in out.matches("ok\n") {
                acknowledged += 1;
                recorder.ack_journal(acknowledged);
            }
            answered |= out.contains('\n') && !out.lines().all(|l| l.starts_with("counter: "));
            if !k.has_ready() && !k.idle_until_next_timer() {
                break;
            }
        }
        let _ = k.finish_background();
        recorder.note(&k);
        recorder.finish()
    }

    fn continuation(&self) -> u64 {
        2_000_000
    }

    /// The key-value store's newest log record's sequence number (one per
    /// acknowledged write; see `domains/programs/kv.s`).
    fn journal_counter(&self, journal_page: &[u8]) -> u64 {
        (0..63).map(|i| u64::from(disk_image::frame::read_u32(journal_page, 64 + 64 * i))).max().unwrap_or(0)
    }
}
