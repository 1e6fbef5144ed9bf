//! The kernel: the store, the caches in front of it, and the scheduler.
//!
//! One thread runs domains. [`Kernel::step`] does the kernel's own work
//! (background checkpoint jobs, the replies it owes), takes the next ready
//! domain, prepares it (its domain info block), asks its meter chain for a
//! budget, runs its hart, charges the instructions, and acts on why the
//! hart stopped (`transition`): the budget ran out (back of the queue), an
//! `ecall` (the gate in `invoke`), a trap (its keeper), a memory fault (a
//! segment keeper or its keeper), or a full working area (the domain waits
//! for the next snapshot while the others run on).

use std::collections::VecDeque;

use disk_image::{ImageError, Layout, StorageError};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::checkpoint::{self, Checkpointer};
use crate::clock::Clock;
use crate::cpu;
use crate::device::Console;
use crate::domain::{self, Dib, DomainCache, RunState};
use crate::invoke;
use crate::invoke::Wait;
use crate::journal::{Journal, KernelFields};
use crate::key::{Cda, Key, KeyType};
use crate::memory::{CodeCache, DomainMemory, MemoryFault};
use crate::meter::{self, MeterCache, Stopped};
use crate::object::page;
use crate::object::{self, node};
use crate::restart::LoadedImage;
use crate::store::{Claim, Store, StoreError};
use crate::transition::LOAD_FRAMES;
use crate::wait::BWAIT_OBJECTS;
use disk_image::CheckpointState;

/// Instructions a domain runs before others get a turn (KeyKOS: ~10^5).
pub const TIME_SLICE: u64 = 100_000;

/// What an invocation counts for in a domain's share of the processor
/// (`Kernel::burst`), in instructions.
pub const INVOCATION_WEIGHT: u64 = 100;

/// The well-known prime meter: node 2, as in KeyKOS (`Base/ckitems.c`).
pub const PRIME_METER: Cda = Cda(crate::key::NODE_CDA_BIT | 2);

/// Errors that stop the kernel (never caused by what a domain does).
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The image is damaged.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A kernel invariant is violated: the state must not be checkpointed.
    #[error("kernel invariant violated, checkpoint refused: {0}")]
    Invariant(String),
    /// A domain the host asked for objects refused (e.g. the space bank is out of space).
    #[error("{0}")]
    Refused(String),
    /// The kernel found no room in the working area for work it had
    /// checked room for: a kernel bug. The kernel stops before anything is
    /// checkpointed; the image restarts from its last checkpoint.
    #[error("kernel bug, stopped before checkpointing: {0}; the image is intact at its last checkpoint")]
    AreaExhausted(String),
}

impl KernelError {
    /// The working area ran out where room was checked for (`tag` names where).
    pub(crate) fn area_exhausted(tag: &str) -> KernelError {
        KernelError::AreaExhausted(format!("{tag}: working area full where room was reserved"))
    }
}

impl From<StoreError> for KernelError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Storage(s) => KernelError::Storage(s),
            // Every writer but a domain's own store checks for room first.
            StoreError::AreaFull => KernelError::area_exhausted("KERNEL001"),
        }
    }
}

/// Kernel settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Instructions per time slice.
    pub time_slice: u64,
    /// The prime meter.
    pub prime_meter: Cda,
    /// Breaks crash safety on purpose: the snapshot is not synced before
    /// its header is written. Only for showing that crash experiments catch
    /// a broken storage path (`gnosis crash --break-sync`).
    pub break_snapshot_sync: bool,
    /// How long (system time, ns) a committed checkpoint's migration is
    /// held back so that the checkpoint before it stays restartable
    /// (`gnosis supervise` rolls back to it if the newest one keeps
    /// crashing). 0 migrates at once. A snapshot request, or the working
    /// area running low, starts a held migration early.
    pub keep_previous_ns: u64,
    /// How domains' code is run: translated when hot (the default), or by
    /// the interpreter alone (`gnosis run --interpret`).
    pub tier: cpu::Tier,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            time_slice: TIME_SLICE,
            prime_meter: PRIME_METER,
            break_snapshot_sync: false,
            keep_previous_ns: 0,
            tier: cpu::Tier::default(),
        }
    }
}

/// Counters for `gnosis exec`, `ps` and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Instructions executed by all domains.
    pub instructions: u64,
    /// Time slices run.
    pub slices: u64,
    /// Key invocations performed (explicit and implicit).
    pub invocations: u64,
    /// Traps delivered or left pending.
    pub traps: u64,
    /// Of `instructions`, those run as translated code.
    pub translated: u64,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// A domain ran.
    Ran {
        /// The domain.
        root: Cda,
        /// Instructions it retired.
        instructions: u64,
    },
    /// No domain was ready.
    Idle,
    /// Every domain that could run waited for room in the working area;
    /// the kernel waited for the background job that makes it.
    Waited,
}

/// The kernel.
pub struct Kernel {
    pub(crate) store: Store,
    pub(crate) domains: DomainCache,
    pub(crate) meters: MeterCache,
    pub(crate) code: CodeCache,
    /// Segment nodes translations went through since the last TLB flush.
    pub(crate) walked: FxHashSet<Cda>,
    pub(crate) ready: VecDeque<Cda>,
    /// Domains stalled on a busy domain, by the busy domain's root.
    pub(crate) stalled: FxHashMap<Cda, Vec<Cda>>,
    /// Domains whose meter chain is exhausted with no keeper to call.
    pub(crate) parked: Vec<Cda>,
    /// Running domains waiting for room in the working area (`transition::wait_for_room`).
    pub(crate) room_waiters: Vec<Cda>,
    /// Since when some domain has waited for room.
    pub(crate) room_wait_since: Option<std::time::Instant>,
    /// Working-area frames each domain's stores took in this epoch.
    pub(crate) frames_taken: FxHashMap<Cda, u64>,
    /// Instructions (an invocation counting [`INVOCATION_WEIGHT`]) run by
    /// the domains that ran next one after another since a domain last
    /// queued at the back (`transition::run_next`).
    pub(crate) burst: u64,
    /// Bumped whenever a meter node or a domain's meter slot changes:
    /// domains' cached meter chains older than it are found afresh.
    chain_epoch: u64,
    pub(crate) clock: Clock,
    pub(crate) config: Config,
    pub(crate) stats: Stats,
    /// Scratch for the string of the invocation being performed.
    pub(crate) send: Vec<u8>,
    /// Replies the kernel owes: what each waits for, its kernel-node slot, the key.
    pub(crate) deferred: Vec<(Wait, usize, Key)>,
    /// Device keys made in this boot carry this stamp; older ones are stale.
    pub(crate) restart_stamp: u64,
    /// Checkpoints and migration.
    pub(crate) checkpoints: Checkpointer,
    /// The journal page and journal records.
    pub(crate) journal: Journal,
    /// Wake-up times of the BWAIT objects (not checkpointed).
    pub(crate) bwait: [u64; BWAIT_OBJECTS],
    /// The console device.
    pub(crate) console: Console,
    /// The debugger's hold on one domain, if one is attached.
    pub(crate) debug: Option<crate::debug::Debugger>,
}

/// How background checkpoint work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Background {
    /// On a worker thread, overlapped with execution.
    Thread,
    /// Stepped between time slices on the kernel thread: deterministic.
    Inline,
}

impl Kernel {
    /// Boots (restarts) a kernel from a loaded image: applies journal
    /// records, resumes unfinished migration, sets the journal page's kernel
    /// fields, wakes recorded waiters, and makes the domains of the process
    /// list ready. The clock must already continue from the checkpoint.
    pub fn boot(
        loaded: LoadedImage,
        clock: Clock,
        config: Config,
        background: Background,
    ) -> Result<Kernel, KernelError> {
        let header = loaded.opened.header.clone();
        let storage = loaded.store.storage().clone();
        let journal = Journal::load(&loaded.opened, storage.as_ref())?;
        let directory: Vec<(u64, u64)> = {
            let mut d: Vec<(u64, u64)> = loaded.store.frozen().iter().map(|(&h, &f)| (h, f)).collect();
            d.sort_unstable();
            d
        };
        let background = match background {
            Background::Thread => checkpoint::worker::Background::thread(storage.clone()),
            Background::Inline => checkpoint::worker::Background::inline(),
        };
        let restart_stamp = clock.now_ns();
        check_area_size(loaded.store.layout())?;
        let mut kernel = Kernel {
            store: loaded.store,
            domains: DomainCache::default(),
            meters: MeterCache::default(),
            code: CodeCache::default(),
            walked: FxHashSet::default(),
            ready: loaded.processes.into_iter().collect(),
            stalled: FxHashMap::default(),
            parked: Vec::new(),
            room_waiters: Vec::new(),
            room_wait_since: None,
            frames_taken: FxHashMap::default(),
            burst: 0,
            chain_epoch: 0,
            clock,
            config,
            stats: Stats::default(),
            send: Vec::with_capacity(invoke::MAX_STRING),
            deferred: Vec::new(),
            restart_stamp,
            checkpoints: Checkpointer::new(header.clone(), background),
            journal,
            bwait: [0; BWAIT_OBJECTS],
            console: Console::default(),
            debug: None,
        };
        kernel.store.set_pinned(kernel.journal.page_home());
        kernel.apply_journal(&header)?;
        if header.state == CheckpointState::Committed {
            kernel.migrate_or_hold(header.clone(), directory)?;
        }
        let fields = kernel.kernel_fields();
        kernel.write_kernel_fields(KernelFields {
            last_checkpoint_ns: header.checkpoint_time_ns,
            restart_checkpoint_ns: header.checkpoint_time_ns,
            restart_ns: restart_stamp,
            restarts: fields.restarts + 1,
            restart_wall_ns: header
                .wall_time_ns
                .saturating_add(restart_stamp.saturating_sub(header.checkpoint_time_ns)),
        })?;
        // The restart count must survive the next crash (domains such as
        // the checkpoint driver tell restarts apart by it): journal it.
        kernel.journal_page_written()?;
        kernel.take_waiters_after_restart()?;
        kernel.update_reserve();
        Ok(kernel)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for building worlds and tests (no domain is running).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The image's regions.
    pub fn layout(&self) -> &Layout {
        self.store.layout()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The system clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Kernel settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs domains' code with `tier` from the next time slice on.
    pub fn set_tier(&mut self, tier: cpu::Tier) {
        self.config.tier = tier;
    }

    /// Whether a domain is ready to run, or will be once the working area
    /// has room again.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty() || !self.room_waiters.is_empty()
    }

    /// Domains ready to run, in order.
    pub fn ready(&self) -> impl Iterator<Item = Cda> + '_ {
        self.ready.iter().copied()
    }

    /// Runs one time slice of the next ready domain.
    pub fn step(&mut self) -> Result<StepOutcome, KernelError> {
        self.step_within(u64::MAX)
    }

    /// Runs one time slice, of at most `limit` instructions, after the
    /// kernel's own work: background checkpoint jobs, timers, and a
    /// checkpoint when the working area is running out.
    fn step_within(&mut self, limit: u64) -> Result<StepOutcome, KernelError> {
        self.check_damage()?;
        self.service_checkpoints(false)?;
        self.service_deferred()?;
        if self.kernel_room() < self.store.area().region().count / 8 {
            self.request_checkpoint();
        }
        let Some(root) = self.ready.pop_front() else { return self.idle_step() };
        if self.passed_over(root) {
            return Ok(StepOutcome::Ran { root, instructions: 0 });
        }
        let instructions = self.run_slice(root, limit)?;
        self.update_reserve();
        Ok(StepOutcome::Ran { root, instructions })
    }

    /// Stops the kernel if a frame failed verification: nothing built on
    /// damaged data may be checkpointed.
    pub(crate) fn check_damage(&self) -> Result<(), KernelError> {
        let Some(frame) = self.store.damage() else { return Ok(()) };
        let kind = self.store.layout().home_kind(frame);
        Err(KernelError::Image(ImageError::Damaged {
            generation: self.checkpoints.header.generation,
            what: format!(
                "home frame {frame} ({kind:?}) fails its checksum; the image needs restoring from a copy"
            ),
        }))
    }

    /// Nothing is ready. If domains wait for room, the kernel waits for
    /// the background job in progress (or takes the snapshot) that gives
    /// it: nothing else could run meanwhile.
    fn idle_step(&mut self) -> Result<StepOutcome, KernelError> {
        if self.room_waiters.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        self.service_checkpoints(true)?;
        Ok(StepOutcome::Waited)
    }

    /// Makes sure the working area has `frames` for the host's next
    /// writes (the builder, an install, a snapshot being resumed), taking a
    /// checkpoint first if it has not: the host never finds the area full.
    pub fn host_room(&mut self, frames: u64) -> Result<(), KernelError> {
        if self.kernel_room() >= frames {
            return Ok(());
        }
        self.checkpoint_now()?;
        if self.kernel_room() < frames {
            return Err(KernelError::Refused(format!(
                "the image's checkpoint area is too small: {frames} frames are needed at once, {} are free \
                 after a checkpoint; make a bigger image",
                self.kernel_room()
            )));
        }
        Ok(())
    }

    /// Restores journalized contents: the journal page's newest record (or
    /// zeros if it never had one), and each journalized page whose newest
    /// record is newer than the checkpoint restarted from.
    fn apply_journal(&mut self, header: &disk_image::CheckpointHeader) -> Result<(), KernelError> {
        let storage = self.store.storage().clone();
        let records = self.journal.to_apply(storage.as_ref(), header.generation);
        let journal_home = self.journal.page_home();
        if !records.iter().any(|(d, _)| d.page == crate::journal::JOURNAL_PAGE.number()) {
            self.store.write(journal_home, 0, &[0u8; page::PAGE_SIZE])?;
        }
        for (d, data) in records {
            let cda = Cda::page(d.page);
            let alloc = object::allocation(&self.store, cda);
            let same_page = d.page == crate::journal::JOURNAL_PAGE.number()
                || (alloc.allocated && alloc.id == d.allocation_id);
            if same_page {
                self.put_page(cda, 0, &data[..])?;
            }
        }
        Ok(())
    }

    /// The stamp device keys made in this boot carry.
    pub fn restart_stamp(&self) -> u64 {
        self.restart_stamp
    }

    /// The console device.
    pub fn console(&mut self) -> &mut Console {
        &mut self.console
    }

    /// Whether page `cda` existed with allocation id `id` in the newest
    /// committed checkpoint.
    pub(crate) fn existed_at_last_checkpoint(&self, cda: Cda, id: u32) -> bool {
        let l = self.store.layout();
        let (pot, index) = l.allocation_place(cda.number());
        // While a snapshot is being written the frozen set is that snapshot,
        // and the committed checkpoint is at home (it was migrated first).
        let frame = if self.checkpoints.writing() {
            pot
        } else {
            self.store.frozen().get(&pot).copied().unwrap_or(pot)
        };
        let mut b = [0u8; 4];
        self.store.storage().read(frame, disk_image::pots::entry_offset(index), &mut b);
        let entry = u32::from_le_bytes(b);
        entry & disk_image::pots::PAGE_ALLOCATED != 0
            && entry & disk_image::pots::PAGE_ALLOCATION_ID_MASK == id
    }

    /// Appends a journal record of `data` as page `cda`'s contents; false
    /// if the journal is full until the next checkpoint (two slots stay
    /// free for the journal page).
    pub(crate) fn journalize(&mut self, cda: Cda, data: &disk_image::Frame) -> Result<bool, KernelError> {
        let committed = self.checkpoints.header.generation;
        if self.journal.free_slots(committed) < 2 {
            return Ok(false);
        }
        let epoch = self.checkpoints.snapshot_generation + 1;
        let id = object::allocation(&self.store, cda).id;
        let storage = self.store.storage().clone();
        Ok(self.journal.append(storage.as_ref(), cda.number(), data, epoch, id, committed)?.is_ok())
    }

    /// The kernel fields of the journal page.
    pub fn kernel_fields(&self) -> KernelFields {
        let mut b = [0u8; KernelFields::BYTES];
        self.store.storage().read(self.journal.page_home(), KernelFields::OFFSET, &mut b);
        KernelFields::decode(&b)
    }

    /// Writes the kernel fields of the journal page, in place: they are
    /// recomputed at every restart, so they need no journal record.
    pub(crate) fn write_kernel_fields(&mut self, fields: KernelFields) -> Result<(), KernelError> {
        let home = self.journal.page_home();
        self.store.storage().grant_write(home)?;
        self.store.storage().store(home, KernelFields::OFFSET, &fields.encode())?;
        Ok(())
    }

    /// Runs until no domain is ready or `max_instructions` have run.
    /// Returns the instructions run.
    pub fn run(&mut self, max_instructions: u64) -> Result<u64, KernelError> {
        let start = self.stats.instructions;
        while self.stats.instructions - start < max_instructions {
            let left = max_instructions - (self.stats.instructions - start);
            if self.step_within(left)? == StepOutcome::Idle {
                break;
            }
        }
        Ok(self.stats.instructions - start)
    }

    /// `key` if it is current, else DK(0) (`object::validate`); gates and
    /// domain keys to cached domains are checked against the cache.
    pub(crate) fn validate(&self, key: Key) -> Key {
        let cached = match key.kind() {
            KeyType::Start | KeyType::Domain => self.domains.get(key.cda()).map(|d| d.root_ids.0),
            KeyType::Resume => self.domains.get(key.cda()).map(|d| d.root_ids.1),
            _ => None,
        };
        match cached {
            Some(id) if id == key.allocation_id() => key,
            Some(_) => Key::NULL,
            None => object::validate(&self.store, key),
        }
    }

    /// Whether `root` is the root of a well-formed domain (`domain::nodes`);
    /// cached domains are.
    pub(crate) fn is_domain(&self, root: Cda) -> bool {
        self.domains.contains(root) || domain::nodes(&self.store, root).is_some()
    }

    fn run_slice(&mut self, root: Cda, limit: u64) -> Result<u64, KernelError> {
        if !self.room_to_run(root) {
            return Ok(0);
        }
        let Some(dib) = self.prepare(root)? else { return Ok(0) };
        if dib.state != RunState::Running {
            return Ok(0);
        }
        if dib.trap.code != 0 {
            self.deliver_trap(root)?;
            return Ok(0);
        }
        let chain = match self.meter_chain(root) {
            Ok(chain) => chain,
            Err(stopped) => return self.meter_stopped(root, stopped).map(|_| 0),
        };
        let budget = match self.meters.budget(&self.store, &chain) {
            Ok(b) => b.min(self.config.time_slice).min(limit),
            Err(stopped) => return self.meter_stopped(root, stopped).map(|_| 0),
        };
        // The chain's meters may be newly cached: their write-back needs room.
        self.update_reserve();
        let slot = self.domains.slot(root).expect("KERNEL002 prepared domain vanished");
        let mut dib = self.domains.take(slot);
        dib.refresh_tlbs(self.store.location_generation());
        dib.code_tlb.set_tier(self.config.tier);
        let translated_before = dib.code_tlb.translated_instructions();
        let mut debugger = self.debug.take();
        let used_before = self.store.area().used();
        let (exit, retired, journal_written) = {
            let mut mem = self.memory_of(root, Claim::Domain);
            let (exit, retired) = match debugger.as_mut().filter(|d| d.root == root) {
                Some(d) => d.run(&mut dib.hart, &mut dib.data_tlb, &mut dib.code_tlb, &mut mem, budget),
                None => cpu::run(&mut dib.hart, &mut dib.data_tlb, &mut dib.code_tlb, &mut mem, budget),
            };
            (exit, retired, mem.journal_written)
        };
        self.debug = debugger;
        let taken = self.store.area().used() - used_before;
        if taken > 0 {
            *self.frames_taken.entry(root).or_default() += taken;
        }
        if journal_written {
            self.journal_page_written()?;
        }
        dib.instructions += retired;
        self.meters.charge(&self.store, &chain, retired);
        dib.meter_chain = Some((self.chain_epoch, chain));
        self.stats.translated += dib.code_tlb.translated_instructions() - translated_before;
        self.domains.put(slot, dib);
        self.clock.charge_instructions(retired);
        self.burst += retired + if matches!(exit, cpu::Exit::Ecall) { INVOCATION_WEIGHT } else { 0 };
        self.stats.instructions += retired;
        self.stats.slices += 1;
        self.after_slice(root, exit)?;
        Ok(retired)
    }

    /// Whether `root` may run now: running a domain that is not cached, or
    /// whose meter chain is not, makes the snapshot's write-back grow, so
    /// it needs room ([`LOAD_FRAMES`]); if there is none it waits for room.
    fn room_to_run(&mut self, root: Cda) -> bool {
        let epoch = self.chain_epoch;
        let cached =
            self.domains.get(root).is_some_and(|d| matches!(&d.meter_chain, Some((e, _)) if *e == epoch));
        cached || self.room_for(root, LOAD_FRAMES)
    }

    /// The meter chain of the prepared domain `root`: the one it cached, if
    /// no meter changed since, else found afresh.
    fn meter_chain(&mut self, root: Cda) -> Result<meter::Chain, Stopped> {
        let epoch = self.chain_epoch;
        let dib = self.domains.get_mut(root).expect("KERNEL005 running domain is not prepared");
        match dib.meter_chain.take() {
            Some((e, chain)) if e == epoch => Ok(chain),
            _ => {
                let meter_key = node::slot(&self.store, root, domain::SLOT_METER);
                MeterCache::chain(&self.store, meter_key, self.config.prime_meter)
            }
        }
    }

    /// Forgets every cached meter chain (a meter node or a domain's meter
    /// slot changed).
    pub(crate) fn meters_changed(&mut self) {
        self.chain_epoch += 1;
    }

    /// Makes a node current in the image before it is read or written
    /// through a node key: writes back and drops any cached domain or meter
    /// it belongs to, and marks translations stale if it is a segment node.
    pub(crate) fn uninvolve(&mut self, node: Cda, for_write: bool) -> Result<(), KernelError> {
        self.domains.uninvolve(&mut self.store, node)?;
        if self.meters.uninvolve(&mut self.store, node)? {
            // A meter changed: parked domains may run again.
            self.ready.extend(self.parked.drain(..));
            self.meters_changed();
        }
        if for_write && self.walked.contains(&node) {
            self.walked.clear();
            self.store.bump_location_generation();
        }
        Ok(())
    }

    /// Writes a key into a node slot through a node key.
    pub(crate) fn write_slot(&mut self, node: Cda, slot: usize, key: Key) -> Result<(), KernelError> {
        self.uninvolve(node, true)?;
        node::set_slot(&mut self.store, node, slot, key)?;
        Ok(())
    }

    /// Reads a node slot through a node key (current, not validated).
    pub(crate) fn read_slot(&mut self, node: Cda, slot: usize) -> Result<Key, KernelError> {
        self.uninvolve(node, false)?;
        Ok(node::slot(&self.store, node, slot))
    }

    /// Writes bytes into a page for the host (the builder, the operator's
    /// strings, loading a program), making room first (see
    /// [`Kernel::host_room`]).
    pub fn write_page(&mut self, cda: Cda, offset: usize, data: &[u8]) -> Result<(), KernelError> {
        self.host_room(2)?;
        self.put_page(cda, offset, data)
    }

    /// Writes bytes into a page on the kernel's behalf (page keys, the
    /// journal at restart), in work that has checked for room: copy on
    /// write, and any decoded copy of the page dropped. A write to the
    /// journal page is durable before this returns.
    pub(crate) fn put_page(&mut self, cda: Cda, offset: usize, data: &[u8]) -> Result<(), KernelError> {
        let home = page::home(&self.store, cda);
        self.store.write(home, offset, data)?;
        if self.code.invalidate(home) {
            self.store.bump_location_generation();
        }
        if self.store.is_pinned(home) {
            self.journal_page_written()?;
        }
        Ok(())
    }

    /// Copies bytes out of a domain's address space (through its segment,
    /// as the domain would read them); `None` if an address faults.
    pub fn read_memory(&mut self, root: Cda, vaddr: u32, buf: &mut [u8]) -> Option<()> {
        self.memory_of(root, Claim::Kernel).read(vaddr, buf).ok()
    }

    /// Copies bytes into a domain's address space, respecting its
    /// read-only rules; `false` if an address faults.
    pub fn write_memory(&mut self, root: Cda, vaddr: u32, data: &[u8]) -> Result<bool, KernelError> {
        self.host_room(crate::transition::REPLY_FRAMES)?;
        let mut memory = self.memory_of(root, Claim::Kernel);
        let written = memory.write(vaddr, data);
        let journal = memory.journal_written;
        if journal {
            self.journal_page_written()?;
        }
        match written {
            Ok(()) => Ok(true),
            Err(MemoryFault::Storage(e)) => Err(e.into()),
            Err(_) => Ok(false),
        }
    }

    /// The memory of domain `root`, as its interpreter and string copies
    /// see it, for writes on behalf of `claim`.
    pub(crate) fn memory_of(&mut self, root: Cda, claim: Claim) -> DomainMemory<'_> {
        let memory = node::slot(&self.store, root, domain::SLOT_MEMORY);
        DomainMemory {
            store: &mut self.store,
            code: &mut self.code,
            walked: &mut self.walked,
            memory,
            journal_written: false,
            claim,
        }
    }

    /// Appends a journal record of the journal page's current contents.
    pub(crate) fn journal_page_written(&mut self) -> Result<(), KernelError> {
        let home = self.journal.page_home();
        let data = self.store.storage().read_frame(home);
        let (epoch, committed) =
            (self.checkpoints.snapshot_generation + 1, self.checkpoints.header.generation);
        let storage = self.store.storage().clone();
        let page = crate::journal::JOURNAL_PAGE.number();
        self.journal.append(storage.as_ref(), page, &data, epoch, 0, committed)?.map_err(|_| {
            KernelError::Invariant("JOURNAL001 no journal slot left for the journal page".into())
        })?;
        Ok(())
    }

    /// Zeroes a page or sets every slot of a node to DK(0).
    pub(crate) fn clear_object(&mut self, cda: Cda) -> Result<(), KernelError> {
        if cda.is_node() {
            self.uninvolve(cda, true)?;
            object::clear(&mut self.store, cda)?;
            Ok(())
        } else {
            self.put_page(cda, 0, &[0u8; page::PAGE_SIZE])
        }
    }

    /// Severs an object: every key to it becomes DK(0). With `destroy`, it
    /// is also cleared and freed, and a domain rooted at it stops existing.
    pub(crate) fn sever(&mut self, cda: Cda, destroy: bool) -> Result<u32, KernelError> {
        if cda.is_node() {
            self.uninvolve(cda, true)?;
            if destroy {
                self.domains.discard(cda);
                domain::set_process_bit(&mut self.store, cda, false)?;
            }
        } else if destroy && self.code.invalidate(page::home(&self.store, cda)) {
            self.store.bump_location_generation();
        }
        // Translations may go through the object.
        self.store.bump_location_generation();
        Ok(object::sever(&mut self.store, cda, destroy)?)
    }

    /// Writes every cached domain and meter back to the image.
    pub fn write_back_caches(&mut self) -> Result<(), KernelError> {
        self.domains.write_back_all(&mut self.store)?;
        self.meters.write_back_all(&mut self.store)?;
        Ok(())
    }

    /// The cached state of a domain, if it is cached.
    pub fn domain(&self, root: Cda) -> Option<&Dib> {
        self.domains.get(root)
    }

    /// Loads (if needed) and returns a domain's state; `None` if malformed.
    pub fn domain_state(&mut self, root: Cda) -> Result<Option<&Dib>, KernelError> {
        Ok(self.host_prepare(root)?.map(|d| &*d))
    }

    /// A domain's 16 key registers as they are now (from its cached block,
    /// or its general-keys node), without loading it; `None` if `root` is
    /// not a well-formed domain.
    pub fn key_registers(&self, root: Cda) -> Option<[Key; 16]> {
        if let Some(dib) = self.domains.get(root) {
            return Some(dib.keys);
        }
        let nodes = domain::nodes(&self.store, root)?;
        let mut keys = node::slots(&self.store, nodes.keys);
        keys[0] = Key::NULL;
        Some(keys)
    }
}

impl Kernel {
    /// Every domain, as `inspect::domains` finds them in the store, with
    /// the live state of those the kernel holds in its domain cache (whose
    /// nodes are written back only when they stop running and at
    /// checkpoints). Meter figures are the store's, and so may lag.
    pub fn live_domains(&self) -> Vec<crate::inspect::DomainSummary> {
        let mut all = crate::inspect::domains(&self.store);
        for d in &mut all {
            if let Some(dib) = self.domains.get(d.root) {
                d.state = dib.state;
                d.trap = (dib.trap.code, dib.trap.pc);
                d.instructions = dib.instructions;
            }
        }
        all
    }
}

/// Refuses an image whose checkpoint areas cannot hold the checkpoint's
/// own frames, the largest write-back a snapshot can need, and the room
/// for one invocation and one domain to run: the kernel could never make
/// room in them.
fn check_area_size(layout: &Layout) -> Result<(), KernelError> {
    let g = &layout.geometry;
    let needed =
        checkpoint::writer_frames(layout) + g.node_pot_count + invoke::INVOCATION_FRAMES + LOAD_FRAMES;
    if g.area_frames < needed {
        return Err(KernelError::Image(ImageError::BadLabel {
            field: "frames per checkpoint area",
            problem: format!("{} frames; the kernel needs at least {needed} in each area", g.area_frames),
        }));
    }
    Ok(())
}
