//! System-wide checkpoints: the single-level store survives anything.
//!
//! The protocol (design.md, "Checkpoint protocol"), phase by phase:
//!
//! 1. **Request**: the checkpoint key, the working area running low, or
//!    shutdown. If the previous checkpoint is still migrating, the snapshot
//!    waits for it (domains keep running unless the area is full: then
//!    they wait, and the wait is counted).
//! 2. **Snapshot** (the only pause, on the kernel thread between time
//!    slices): run the invariant check, write cached domains and meters
//!    back to their nodes, list the running domains, and freeze the working
//!    set: two map swaps. Its cost depends on the number of cached domains,
//!    not on the image's size nor on how many frames are dirty.
//! 3. **Write** (background, `writer`): seals, checksum pots, directory,
//!    process list, sync, then the header, primary then secondary. The
//!    durable header is the commit point.
//! 4. **Migrate** (background, `migrate`): copy the committed frames home,
//!    sync, rewrite the header as migrated. Only then is the frozen area
//!    free for the next snapshot. With [`Config::keep_previous_ns`] the
//!    migration is first *held* for that long (or until the next snapshot
//!    is asked for), keeping the checkpoint before it restartable.
//!
//! [`Config::keep_previous_ns`]: crate::kernel::Config::keep_previous_ns

pub mod job;
pub mod migrate;
pub mod worker;
pub mod writer;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use disk_image::header::{CheckpointHeader, CheckpointState, CheckpointStats};
use parking_lot::Mutex;

use self::job::{Finished, Job};
use self::migrate::{MigrationJob, MigrationQueue};
use self::worker::Background;
use self::writer::{Commit, SnapshotJob};
use crate::clock::wall_now_ns;
use crate::domain::RunState;
use crate::invoke::{self, Wait};
use crate::journal::KernelFields;
use crate::kernel::{Kernel, KernelError};
use crate::key::Cda;
use crate::store::{Claim, Reserve};

/// The part of the kernel that takes checkpoints and drives migration.
pub struct Checkpointer {
    /// The newest durable header.
    pub(crate) header: CheckpointHeader,
    /// Generation of the newest snapshot taken (committed or being written).
    pub(crate) snapshot_generation: u64,
    pub(crate) background: Background,
    /// A checkpoint has been asked for and not yet taken.
    pub(crate) pending: bool,
    /// The migration in progress, if any.
    pub(crate) migration: Option<MigrationQueue>,
    /// A migration held back to keep the previous checkpoint restartable:
    /// the committed header, its directory, and when (system time) to start.
    pub(crate) held: Option<HeldMigration>,
    /// The directory of the newest committed checkpoint: (home, area frame).
    pub(crate) directory: Vec<(u64, u64)>,
    /// The generation whose migration a migrator was last told about (the
    /// migrate key's Wait answers once per migration).
    pub(crate) announced: u64,
    /// Time domains waited for migration since the last snapshot.
    pub(crate) migration_wait_ns: u64,
    /// Figures over the run.
    pub(crate) stats: CheckpointerStats,
    /// Called at each snapshot with its generation and the state it freezes
    /// (crash experiments record the digest of every checkpoint here).
    pub(crate) observer: Option<SnapshotObserver>,
}

/// See [`Checkpointer::held`].
pub(crate) struct HeldMigration {
    header: CheckpointHeader,
    directory: Vec<(u64, u64)>,
    until_ns: u64,
}

/// See [`Checkpointer::observer`].
pub type SnapshotObserver = Box<dyn FnMut(u64, &crate::store::Store)>;

/// Checkpoint figures over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointerStats {
    /// Checkpoints committed.
    pub committed: u64,
    /// Migrations finished.
    pub migrated: u64,
    /// The last snapshot pause, ns.
    pub last_pause_ns: u64,
    /// The longest snapshot pause, ns.
    pub max_pause_ns: u64,
    /// Total time domains waited for migration, ns.
    pub migration_wait_ns: u64,
}

/// Where checkpointing stands at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointProgress {
    /// Frames of the working area written since the last snapshot (pages
    /// and pots changed in this epoch).
    pub dirty_frames: u64,
    /// Frames in one checkpoint area.
    pub area_frames: u64,
    /// A snapshot is being written.
    pub writing: bool,
    /// The newest checkpoint's migration, while it runs.
    pub migration: Option<MigrationProgress>,
}

/// How far a migration has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MigrationProgress {
    /// Directory entries not yet copied home.
    pub left: u64,
    /// Directory entries in all.
    pub total: u64,
}

impl Checkpointer {
    /// A checkpointer after restart from `header`, running jobs on `background`.
    pub fn new(header: CheckpointHeader, background: Background) -> Checkpointer {
        Checkpointer {
            snapshot_generation: header.generation,
            header,
            background,
            pending: false,
            migration: None,
            held: None,
            directory: Vec::new(),
            announced: 0,
            migration_wait_ns: 0,
            stats: CheckpointerStats::default(),
            observer: None,
        }
    }

    /// Whether the newest checkpoint's frames are still being copied home.
    pub fn migrating(&self) -> bool {
        self.migration.is_some()
    }

    /// Whether a snapshot is being written.
    pub fn writing(&self) -> bool {
        self.snapshot_generation > self.header.generation
    }
}

impl Kernel {
    /// The newest durable checkpoint header.
    pub fn checkpoint_header(&self) -> &CheckpointHeader {
        &self.checkpoints.header
    }

    /// Checkpoint figures.
    pub fn checkpoint_stats(&self) -> CheckpointerStats {
        self.checkpoints.stats
    }

    /// Where checkpointing stands now: the working area's fill and the
    /// migration's progress.
    pub fn checkpoint_progress(&self) -> CheckpointProgress {
        let area = self.store.area();
        let migration = self.checkpoints.migration.as_ref().map(|queue| MigrationProgress {
            left: queue.lock().len() as u64,
            total: self.checkpoints.directory.len() as u64,
        });
        CheckpointProgress {
            dirty_frames: area.used(),
            area_frames: area.region().count,
            writing: self.checkpoints.writing(),
            migration,
        }
    }

    /// Calls `observer` at every snapshot, with the generation being taken
    /// and the store holding exactly the state it freezes.
    pub fn observe_snapshots(&mut self, observer: SnapshotObserver) {
        self.checkpoints.observer = Some(observer);
    }

    /// Asks for a checkpoint; it is taken as soon as the previous one has
    /// been migrated.
    pub fn request_checkpoint(&mut self) {
        self.checkpoints.pending = true;
        // The snapshot waits for the migration in progress: no more pacing.
        self.checkpoints.background.hurry();
    }

    /// Migrates a committed checkpoint whose directory is `directory`, or
    /// holds its migration back (see [`Checkpointer::held`]) if it keeps
    /// the previous checkpoint and the configuration asks for that.
    pub(crate) fn migrate_or_hold(
        &mut self,
        header: CheckpointHeader,
        directory: Vec<(u64, u64)>,
    ) -> Result<(), KernelError> {
        let keep = self.config.keep_previous_ns;
        if keep == 0 || header.previous.is_none() {
            return self.start_migration(header, directory);
        }
        let until_ns = self.clock.now_ns().saturating_add(keep);
        self.checkpoints.held = Some(HeldMigration { header, directory, until_ns });
        Ok(())
    }

    /// Starts a held migration if its time has come or a snapshot waits.
    fn release_held_migration(&mut self) -> Result<(), KernelError> {
        let due = match &self.checkpoints.held {
            Some(held) => self.checkpoints.pending || self.clock.now_ns() >= held.until_ns,
            None => false,
        };
        if due {
            let held = self.checkpoints.held.take().expect("CKPT002 held migration");
            self.start_migration(held.header, held.directory)?;
        }
        Ok(())
    }

    /// Starts migrating a committed checkpoint whose directory is `directory`.
    /// A migrator waiting for it is answered between time slices
    /// (`wait::service_deferred`).
    fn start_migration(
        &mut self,
        header: CheckpointHeader,
        directory: Vec<(u64, u64)>,
    ) -> Result<(), KernelError> {
        // Copying home ends the previous checkpoint; the job says so on disk first.
        self.checkpoints.header.previous = None;
        let queue: MigrationQueue = Arc::new(Mutex::new(directory.iter().copied().collect::<VecDeque<_>>()));
        self.checkpoints.directory = directory;
        self.checkpoints.migration = Some(queue.clone());
        let job = MigrationJob::new(*self.store.layout(), header, queue);
        self.checkpoints.background.start(Job::Migration(Box::new(job)));
        Ok(())
    }

    /// Background work between time slices: collects finished jobs and
    /// takes a requested snapshot when it can. With `block`, waits for the
    /// job in progress.
    pub(crate) fn service_checkpoints(&mut self, block: bool) -> Result<(), KernelError> {
        let c = &self.checkpoints;
        if !c.background.busy() && !c.pending && c.held.is_none() {
            return Ok(());
        }
        self.release_held_migration()?;
        let storage = self.store.storage().clone();
        if let Some(done) = self.checkpoints.background.poll(storage.as_ref(), block)? {
            match done {
                Finished::Committed(commit) => self.on_commit(commit)?,
                Finished::Migrated { generation } => self.on_migrated(generation),
            }
        }
        if self.checkpoints.pending && !self.checkpoints.background.busy() && !self.checkpoints.migrating() {
            self.snapshot()?;
        }
        Ok(())
    }

    /// Takes a checkpoint and waits until it is committed; returns its generation.
    pub fn checkpoint_now(&mut self) -> Result<u64, KernelError> {
        let target = self.checkpoints.snapshot_generation + 1;
        self.request_checkpoint();
        while self.checkpoints.header.generation < target {
            let waited = Instant::now();
            let migrating = self.checkpoints.migrating();
            self.service_checkpoints(true)?;
            if migrating && !self.checkpoints.migrating() {
                self.checkpoints.migration_wait_ns += waited.elapsed().as_nanos() as u64;
            }
        }
        Ok(self.checkpoints.header.generation)
    }

    /// Waits until every background job (writing, migration) is done.
    pub fn finish_background(&mut self) -> Result<(), KernelError> {
        while self.checkpoints.background.busy() {
            self.service_checkpoints(true)?;
        }
        Ok(())
    }

    /// The snapshot: the pause. See the module doc.
    fn snapshot(&mut self) -> Result<(), KernelError> {
        self.check_damage()?;
        let started = Instant::now();
        self.check_invariants().map_err(KernelError::Invariant)?;
        // The write-back takes the frames kept for it.
        self.store.set_reserve(Reserve { checkpoint: self.writer_reserve(), kernel: 0 });
        self.write_back_caches()?;
        let processes: Vec<u64> = self.process_list().into_iter().map(|c| c.0).collect();
        let generation = self.checkpoints.snapshot_generation + 1;
        if let Some(observe) = self.checkpoints.observer.as_mut() {
            observe(generation, &self.store);
        }
        let area = self.store.freeze();
        let checkpoint_time_ns = self.clock.now_ns();
        let stats = CheckpointStats {
            generation,
            checkpoint_time_ns,
            migration_wait_ns: std::mem::take(&mut self.checkpoints.migration_wait_ns),
            ..Default::default()
        };
        let mut header = writer::new_header(&self.checkpoints.header, stats, wall_now_ns());
        let pause = started.elapsed().as_nanos() as u64;
        header.history[0].pause_ns = pause;
        let mut job = SnapshotJob::new(*self.store.layout(), area, header, processes);
        if self.config.break_snapshot_sync {
            job.break_sync();
        }
        self.checkpoints.background.start(Job::Snapshot(Box::new(job)));
        self.checkpoints.snapshot_generation = generation;
        self.checkpoints.pending = false;
        let s = &mut self.checkpoints.stats;
        s.last_pause_ns = pause;
        s.max_pause_ns = s.max_pause_ns.max(pause);
        self.update_reserve();
        self.release_room_waiters();
        Ok(())
    }

    fn on_commit(&mut self, commit: Commit) -> Result<(), KernelError> {
        self.store.extend_frozen(commit.added.iter().copied());
        let header = commit.header;
        self.checkpoints.stats.committed += 1;
        self.checkpoints.header = header.clone();
        let fields = KernelFields { last_checkpoint_ns: header.checkpoint_time_ns, ..self.kernel_fields() };
        self.write_kernel_fields(fields)?;
        self.migrate_or_hold(header, commit.directory)
    }

    fn on_migrated(&mut self, generation: u64) {
        assert_eq!(
            generation, self.checkpoints.header.generation,
            "CKPT001 migrated an unexpected generation"
        );
        self.checkpoints.header.state = CheckpointState::Migrated;
        self.checkpoints.migration = None;
        self.checkpoints.stats.migrated += 1;
        self.store.release_frozen();
    }

    fn writer_reserve(&self) -> u64 {
        writer_frames(self.store.layout())
    }

    /// Sets the working area's reserve (design.md §4, "Room in the working
    /// area"): kept from everyone but the checkpoint, the writer's frames
    /// and the snapshot's write-back of every cached domain (three nodes)
    /// and meter (one), of which there can be no more than node pots; kept
    /// from domains' stores besides, the kernel's margin.
    pub(crate) fn update_reserve(&mut self) {
        let cached = 3 * self.domains.len() as u64 + self.meters.len() as u64;
        let writeback = cached.min(self.store.layout().geometry.node_pot_count);
        let checkpoint = self.writer_reserve() + writeback;
        self.store.set_reserve(Reserve { checkpoint, kernel: self.kernel_margin() });
    }

    /// Frames the kernel keeps from domains' stores: room for an
    /// invocation and for running a domain that is not cached, so a world
    /// whose domains have filled the area can still answer calls (the
    /// checkpoint key among them); at most a quarter of a small area.
    fn kernel_margin(&self) -> u64 {
        let wanted = invoke::INVOCATION_FRAMES + crate::transition::LOAD_FRAMES;
        wanted.min(self.store.area().region().count / 4)
    }

    /// Frames the kernel may still take in the working area.
    pub(crate) fn kernel_room(&self) -> u64 {
        self.store.area().available(Claim::Kernel)
    }

    /// Roots of every domain that is running (ready, stalled, parked,
    /// waiting for room or cached as running), in run-queue order first.
    pub(crate) fn process_list(&self) -> Vec<Cda> {
        let mut seen = rustc_hash::FxHashSet::default();
        let stalled = self.stalled.values().flatten();
        let cached = self
            .domains
            .roots()
            .into_iter()
            .filter(|&r| self.domains.get(r).is_some_and(|d| d.state == RunState::Running));
        let mut cached: Vec<Cda> = cached.collect();
        cached.sort();
        self.ready
            .iter()
            .chain(stalled)
            .chain(self.parked.iter())
            .chain(self.room_waiters.iter())
            .copied()
            .chain(self.debug_passed_over())
            .chain(cached)
            .filter(|c| seen.insert(*c))
            .collect()
    }

    /// Breaks an invariant on purpose (a deferred reply to a data key), so
    /// tests can see that the checkpoint is refused.
    #[doc(hidden)]
    pub fn corrupt_for_test(&mut self) {
        self.deferred.push((Wait::Migration, 15, crate::key::Key::data(1)));
    }

    /// Kernel invariants that must hold for a checkpoint to be committed
    /// (KeyKOS runs CHECK before every checkpoint): each violation is named.
    pub fn check_invariants(&self) -> Result<(), String> {
        if !self.store.frozen().is_empty() {
            return Err("CHECK001 snapshot while the previous checkpoint is unmigrated".into());
        }
        for root in self.domains.roots() {
            let d = self.domains.get(root).expect("CHECK002");
            if crate::domain::nodes(&self.store, root) != Some(d.nodes) {
                return Err(format!("CHECK003 cached {root} no longer matches its nodes"));
            }
            if d.keys[0] != crate::key::Key::NULL {
                return Err(format!("CHECK004 key register 0 of {root} is not DK(0)"));
            }
        }
        for waiter in self.stalled.values().flatten() {
            if self.domains.get(*waiter).is_some_and(|d| d.state != RunState::Running) {
                return Err(format!("CHECK005 stalled {waiter} is not running"));
            }
        }
        for waiter in self.parked.iter().chain(&self.room_waiters) {
            if self.domains.get(*waiter).is_some_and(|d| d.state != RunState::Running) {
                return Err(format!("CHECK007 {waiter}, parked or waiting for room, is not running"));
            }
        }
        for (_, _, key) in &self.deferred {
            if key.kind() != crate::key::KeyType::Resume {
                return Err(format!("CHECK006 deferred reply to {key:?}, not a resume key"));
            }
        }
        Ok(())
    }
}

/// Frames the checkpoint writer needs in its area beyond the frozen
/// frames: checksum pots and directory frames.
pub(crate) fn writer_frames(layout: &disk_image::Layout) -> u64 {
    let g = &layout.geometry;
    g.pots_for_pages() + g.area_frames.div_ceil(disk_image::directory::ENTRIES_PER_FRAME as u64) + 2
}
