//! The kernel: the store, the caches in front of it, and the scheduler.
//!
//! One thread runs domains. [`Kernel::step`] takes the next ready domain,
//! prepares it (its domain info block), asks its meter chain for a budget,
//! runs its hart, charges the instructions, and acts on why the hart
//! stopped: the budget ran out (back of the queue), an `ecall` (the gate in
//! `invoke`), a trap (its keeper), a memory fault (a segment keeper or its
//! keeper), or a full working area (a checkpoint first).

use std::collections::VecDeque;

use disk_image::{ImageError, Layout, StorageError};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::checkpoint::{self, Checkpointer};
use crate::clock::Clock;
use crate::cpu::{self, Exit};
use crate::device::Console;
use crate::domain::{self, Dib, DomainCache, RunState};
use crate::invoke::Wait;
use crate::journal::{Journal, KernelFields};
use crate::key::{Cda, Key, KeyType};
use crate::memory::{CodeCache, DomainMemory, MemoryFault};
use crate::meter::{self, MeterCache, Stopped};
use crate::object::page;
use crate::object::{self, node};
use crate::restart::LoadedImage;
use crate::segment::SegmentFault;
use crate::store::{Store, StoreError};
use crate::wait::BWAIT_OBJECTS;
use crate::{invoke, trap};
use disk_image::CheckpointState;

/// Instructions a domain runs before others get a turn (KeyKOS: ~10^5).
pub const TIME_SLICE: u64 = 100_000;

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
}

impl From<StoreError> for KernelError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Storage(s) => KernelError::Storage(s),
            // Callers reserve room before writing; running out is a bug.
            StoreError::AreaFull => panic!("KERNEL001 working area full where room was reserved"),
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
    /// Bumped whenever a meter node or a domain's meter slot changes:
    /// domains' cached meter chains older than it are found afresh.
    chain_epoch: u64,
    pub(crate) clock: Clock,
    pub(crate) config: Config,
    pub(crate) stats: Stats,
    /// Scratch for the string of the invocation being performed.
    pub(crate) send: Vec<u8>,
    /// Set when a domain found the working area full.
    pub(crate) checkpoint_needed: bool,
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
        let mut kernel = Kernel {
            store: loaded.store,
            domains: DomainCache::default(),
            meters: MeterCache::default(),
            code: CodeCache::default(),
            walked: FxHashSet::default(),
            ready: loaded.processes.into_iter().collect(),
            stalled: FxHashMap::default(),
            parked: Vec::new(),
            chain_epoch: 0,
            clock,
            config,
            stats: Stats::default(),
            send: Vec::with_capacity(invoke::MAX_STRING),
            checkpoint_needed: false,
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
        })?;
        // The restart count must survive the next crash (domains such as
        // the checkpoint driver tell restarts apart by it): journal it.
        kernel.journal_page_written()?;
        kernel.wake_waiters_after_restart()?;
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

    /// Whether a domain is ready to run.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Domains ready to run, in order.
    pub fn ready(&self) -> impl Iterator<Item = Cda> + '_ {
        self.ready.iter().copied()
    }

    /// Whether a domain found the working area full.
    pub fn checkpoint_needed(&self) -> bool {
        self.checkpoint_needed
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
        self.service_timers()?;
        self.service_input()?;
        if self.checkpoint_needed || self.store.area().available() < self.store.area().region().count / 8 {
            self.make_room()?;
        }
        let Some(root) = self.ready.pop_front() else { return Ok(StepOutcome::Idle) };
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

    /// The working area is low or full: ask for a checkpoint and, if it is
    /// full, wait (counting the wait) until the snapshot has been taken.
    fn make_room(&mut self) -> Result<(), KernelError> {
        self.request_checkpoint();
        if !self.checkpoint_needed {
            return Ok(());
        }
        let waited = std::time::Instant::now();
        let migrating = self.checkpoints.migrating();
        while self.checkpoints.pending {
            self.service_checkpoints(true)?;
        }
        if migrating {
            self.checkpoints.migration_wait_ns += waited.elapsed().as_nanos() as u64;
            self.checkpoints.stats.migration_wait_ns += waited.elapsed().as_nanos() as u64;
        }
        self.checkpoint_needed = false;
        Ok(())
    }

    /// Whether the working area has room for an invocation by `root`; if
    /// not, `root` will retry it after a checkpoint.
    pub(crate) fn room_for_invocation(&mut self, root: Cda) -> bool {
        if self.store.area().available() >= invoke::INVOCATION_FRAMES {
            return true;
        }
        self.ready.push_front(root);
        self.checkpoint_needed = true;
        false
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
                self.write_page(cda, 0, &data[..])?;
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
        let mut b = [0u8; 32];
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

    /// Makes `root` ready to run (its state must be running).
    pub fn make_ready(&mut self, root: Cda) {
        if !self.ready.contains(&root) {
            self.ready.push_back(root);
        }
    }

    /// Stops the domain `root` for good (`gnosis snapshot --kill`): it
    /// waits with trap code [`trap::STOPPED`], which no keeper is told of;
    /// every resume key to it becomes obsolete and the replies the kernel
    /// owes it are withdrawn (their kernel-node slots cleared), so neither
    /// the scheduler, a restart nor a former callee runs it again. Only a
    /// holder of its domain key could. Returns false if `root` is not a
    /// domain.
    pub fn stop_domain(&mut self, root: Cda) -> Result<bool, KernelError> {
        let Some(dib) = self.prepare(root)? else { return Ok(false) };
        dib.state = RunState::Waiting;
        dib.trap = domain::TrapState { code: trap::STOPPED, pc: dib.hart.pc, detail: 0 };
        invoke::zap_resume_keys(self, root)?;
        self.ready.retain(|&r| r != root);
        self.parked.retain(|&r| r != root);
        for waiters in self.stalled.values_mut() {
            waiters.retain(|&r| r != root);
        }
        let (owed, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.deferred).into_iter().partition(|(_, _, key)| key.cda() == root);
        self.deferred = kept;
        for (_, slot, _) in owed {
            node::set_slot(&mut self.store, crate::wait::KERNEL_NODE, slot, Key::NULL)?;
        }
        Ok(true)
    }

    /// Answers the call a waiting domain is waiting in with return code
    /// `code` and nothing else (no string, DK(0) for every key), as if the
    /// key it called had replied: what a restart does for the waits it
    /// cannot keep, and `gnosis resume` for a call whose answerer stayed
    /// behind. Nothing happens if `root` is not a waiting domain.
    pub fn reply_to_waiting(&mut self, root: Cda, code: u32) -> Result<(), KernelError> {
        let key = Key::resume(crate::key::ResumeKind::Return, root, invoke::call_id(&self.store, root));
        invoke::reply_through(self, Some(key), invoke::Message::code(code))
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

    /// The cached block of `root`, loading it if needed; `None` if `root`
    /// is not a well-formed domain.
    pub(crate) fn prepare(&mut self, root: Cda) -> Result<Option<&mut Dib>, KernelError> {
        if let Some(slot) = self.domains.slot(root) {
            return Ok(Some(self.domains.at(slot)));
        }
        if !root.is_node()
            || !object::exists(&self.store, root)
            || !object::allocation(&self.store, root).allocated
        {
            return Ok(None);
        }
        let Some(nodes) = domain::nodes(&self.store, root) else { return Ok(None) };
        self.meters_uninvolve_all(&[nodes.root, nodes.keys, nodes.registers])?;
        let dib = Box::new(Dib::load(&self.store, nodes));
        self.domains.insert(&mut self.store, dib)?;
        Ok(self.domains.get_mut(root))
    }

    fn meters_uninvolve_all(&mut self, nodes: &[Cda]) -> Result<(), KernelError> {
        for &n in nodes {
            self.meters.uninvolve(&mut self.store, n)?;
        }
        Ok(())
    }

    fn run_slice(&mut self, root: Cda, limit: u64) -> Result<u64, KernelError> {
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
        let slot = self.domains.slot(root).expect("KERNEL002 prepared domain vanished");
        let mut dib = self.domains.take(slot);
        dib.refresh_tlbs(self.store.location_generation());
        dib.code_tlb.set_tier(self.config.tier);
        let translated_before = dib.code_tlb.translated_instructions();
        let mut debugger = self.debug.take();
        let (exit, retired, journal_written) = {
            let mut mem = self.memory_of(root);
            let (exit, retired) = match debugger.as_mut().filter(|d| d.root == root) {
                Some(d) => d.run(&mut dib.hart, &mut dib.data_tlb, &mut dib.code_tlb, &mut mem, budget),
                None => cpu::run(&mut dib.hart, &mut dib.data_tlb, &mut dib.code_tlb, &mut mem, budget),
            };
            (exit, retired, mem.journal_written)
        };
        self.debug = debugger;
        if journal_written {
            self.journal_page_written()?;
        }
        dib.instructions += retired;
        self.meters.charge(&self.store, &chain, retired);
        dib.meter_chain = Some((self.chain_epoch, chain));
        self.stats.translated += dib.code_tlb.translated_instructions() - translated_before;
        self.domains.put(slot, dib);
        self.clock.charge_instructions(retired);
        self.stats.instructions += retired;
        self.stats.slices += 1;
        self.after_slice(root, exit)?;
        Ok(retired)
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

    pub(crate) fn after_exit(&mut self, root: Cda, exit: Exit<MemoryFault>) -> Result<(), KernelError> {
        match exit {
            Exit::Budget => self.ready.push_back(root),
            Exit::Ecall => invoke::ecall(self, root)?,
            Exit::Trap(t) => {
                let (code, detail) = trap::from_cpu(t);
                self.set_trap(root, code, detail)?;
            }
            Exit::Fault(fault) => self.memory_fault_at(root, fault)?,
        }
        Ok(())
    }

    /// Acts on a memory fault of `root` at its pc.
    pub(crate) fn memory_fault_at(&mut self, root: Cda, fault: MemoryFault) -> Result<(), KernelError> {
        match fault {
            MemoryFault::Segment(fault) => self.memory_fault(root, fault),
            MemoryFault::AreaFull => {
                self.ready.push_front(root);
                self.checkpoint_needed = true;
                Ok(())
            }
            MemoryFault::Storage(e) => Err(e.into()),
        }
    }

    /// Records a trap on `root` and calls its keeper.
    pub(crate) fn set_trap(&mut self, root: Cda, code: u32, detail: u32) -> Result<(), KernelError> {
        let dib = self.prepare(root)?.expect("KERNEL003 trapping domain is not prepared");
        dib.trap = domain::TrapState { code, pc: dib.hart.pc, detail };
        self.stats.traps += 1;
        self.deliver_trap(root)
    }

    /// Makes the implicit call of a trapped domain to its keeper.
    fn deliver_trap(&mut self, root: Cda) -> Result<(), KernelError> {
        let dib = self.domains.get(root).expect("KERNEL004 trapped domain is not prepared");
        let t = dib.trap;
        let keeper = object::validate(&self.store, node::slot(&self.store, root, domain::SLOT_KEEPER));
        let domain_key = object::validate(
            &self.store,
            Key::object(KeyType::Domain, root, object::allocation(&self.store, root).id, 0),
        );
        let string = trap::trap_string(t.code, t.pc, t.detail);
        invoke::implicit_call(self, root, keeper, t.code, &string, domain_key)
    }

    /// A memory fault: to the segment keeper if there is one, else a trap.
    fn memory_fault(&mut self, root: Cda, fault: SegmentFault) -> Result<(), KernelError> {
        if let Some(k) = fault.keeper.filter(|k| invoke::is_gate(&self.store, k.keeper)) {
            let pc = self.domains.get(root).expect("KERNEL005 faulting domain is not prepared").hart.pc;
            let code = trap::MEMORY_FAULT_BASE + fault.code as u32;
            let string = trap::trap_string(code, pc, fault.address);
            let node_key = Key::object(KeyType::Node, k.node, object::allocation(&self.store, k.node).id, 0);
            return invoke::implicit_call(self, root, k.keeper, fault.code as u32, &string, node_key);
        }
        let (code, detail) = trap::from_segment(&fault);
        self.set_trap(root, code, detail)
    }

    /// A domain whose meter chain stops it: call the exhausted meter's
    /// keeper if it has one, else park the domain until meters change.
    fn meter_stopped(&mut self, root: Cda, stopped: Stopped) -> Result<(), KernelError> {
        if let Stopped::Exhausted(meter_node) = stopped {
            let keeper =
                object::validate(&self.store, node::slot(&self.store, meter_node, meter::SLOT_KEEPER));
            if invoke::is_gate(&self.store, keeper) {
                let node_key =
                    Key::object(KeyType::Node, meter_node, object::allocation(&self.store, meter_node).id, 0);
                return invoke::implicit_call(self, root, keeper, invoke::METER_EXHAUSTED, &[], node_key);
            }
        }
        if !self.parked.contains(&root) {
            self.parked.push(root);
        }
        Ok(())
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

    /// Wakes every domain stalled on `root` (it just became available).
    pub(crate) fn wake_stalled(&mut self, root: Cda) {
        if let Some(waiters) = self.stalled.remove(&root) {
            self.ready.extend(waiters);
        }
    }

    /// Writes bytes into a page on the kernel's behalf (page keys, string
    /// delivery): copy on write, and any decoded copy of the page dropped.
    /// A write to the journal page is durable before this returns.
    pub fn write_page(&mut self, cda: Cda, offset: usize, data: &[u8]) -> Result<(), KernelError> {
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
        self.memory_of(root).read(vaddr, buf).ok()
    }

    /// Copies bytes into a domain's address space, respecting its
    /// read-only rules; `false` if an address faults.
    pub fn write_memory(&mut self, root: Cda, vaddr: u32, data: &[u8]) -> Result<bool, KernelError> {
        let mut memory = self.memory_of(root);
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

    /// The memory of domain `root`, as its interpreter and string copies see it.
    pub(crate) fn memory_of(&mut self, root: Cda) -> DomainMemory<'_> {
        let memory = node::slot(&self.store, root, domain::SLOT_MEMORY);
        DomainMemory {
            store: &mut self.store,
            code: &mut self.code,
            walked: &mut self.walked,
            memory,
            journal_written: false,
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
        self.journal
            .append(storage.as_ref(), page, &data, epoch, 0, committed)?
            .expect("JOURNAL001 no slot for the journal page");
        Ok(())
    }

    /// Zeroes a page or sets every slot of a node to DK(0).
    pub(crate) fn clear_object(&mut self, cda: Cda) -> Result<(), KernelError> {
        if cda.is_node() {
            self.uninvolve(cda, true)?;
            object::clear(&mut self.store, cda)?;
            Ok(())
        } else {
            self.write_page(cda, 0, &[0u8; page::PAGE_SIZE])
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
        Ok(self.prepare(root)?.map(|d| &*d))
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
