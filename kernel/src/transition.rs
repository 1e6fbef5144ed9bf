//! Domain state transitions: every way a domain moves between running,
//! available and waiting, in one place.
//!
//! States (KeyKOS "Domain States", design.md §8): a **running** domain is
//! ready (in the run queue), in a time slice, *stalled* on a busy domain's
//! queue, *parked* until a meter changes, or waiting for room in the
//! working area; an **available** domain waits for a start-key invocation;
//! a **waiting** domain waits for a reply through one of its resume keys.
//!
//! The gate (`invoke`) decides what an invocation means and the handlers
//! what a kernel object answers; every change of a domain's state they
//! cause is one of the functions here:
//!
//! * [`Kernel::prepare`]: loads a domain's info block (DIB) into the cache;
//! * [`Kernel::finish`]: the invoker's side of a jump (CALL waits, RETURN
//!   makes it available and wakes its stall queue, FORK keeps it running);
//! * [`Kernel::stall`] and [`Kernel::wake_stalled`]: a jump to a busy
//!   domain waits on its queue, still running, and is executed again whole
//!   when the domain becomes available (KeyKOS's restartable jumps);
//! * [`Kernel::deliver`] and [`Kernel::run_again`]: a message reaches a
//!   domain, which runs;
//! * traps and faults ([`Kernel::set_trap`], [`Kernel::memory_fault`],
//!   [`Kernel::meter_stopped`]): an implicit CALL to a keeper. A trap is
//!   recorded first (the trap code on a *running* domain) and then
//!   delivered; a delivery that finds the keeper busy stalls like any call,
//!   and the domain, still running with its trap code set, delivers it
//!   again when it comes up. So no trap is ever lost, whatever its kind;
//! * [`Kernel::wait_for_room`]: a domain whose store or invocation finds
//!   the working area full waits, running, for the checkpoint that empties
//!   it (KeyKOS: "a delay in normal processing"), while the rest of the
//!   world goes on.
//!
//! Guarantee: a domain on a stall queue, parked or waiting for room is
//! always running (checked before every checkpoint, CHECK005 and CHECK007),
//! so whatever wakes it finds it ready to re-execute what it was doing.

use crate::cpu::Exit;
use crate::domain::{self, Dib, RunState, TrapState};
use crate::invoke::{self, Jump, Message};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, ResumeKind};
use crate::memory::MemoryFault;
use crate::meter::Stopped;
use crate::object::{self, node};
use crate::segment::SegmentFault;
use crate::store::{Claim, Store};
use crate::trap;

/// Working-area frames a deferred reply or a trap delivery may write: the
/// kernel-node slot, the target's call id, its cache entry (an eviction
/// and the write-back it adds), and a string over two pages.
pub const REPLY_FRAMES: u64 = 12;
/// Working-area frames running a domain that is not cached may add to the
/// snapshot's write-back: an eviction, its own three nodes and a whole
/// meter chain.
pub const LOAD_FRAMES: u64 = 6 + crate::meter::MAX_DEPTH as u64;

impl Kernel {
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
        for n in [nodes.root, nodes.keys, nodes.registers] {
            self.meters.uninvolve(&mut self.store, n)?;
        }
        let dib = Box::new(Dib::load(&self.store, nodes));
        self.domains.insert(&mut self.store, dib)?;
        // The snapshot's write-back grew: keep room for it.
        self.update_reserve();
        Ok(self.domains.get_mut(root))
    }

    /// [`Kernel::prepare`] for the host (a debugger, a tool), which has
    /// checked for no room: makes room first.
    pub(crate) fn host_prepare(&mut self, root: Cda) -> Result<Option<&mut Dib>, KernelError> {
        self.host_room(LOAD_FRAMES)?;
        self.prepare(root)
    }

    /// The prepared block of `root`, which the caller knows is a domain.
    fn dib(&mut self, root: Cda, tag: &str) -> Result<&mut Dib, KernelError> {
        match self.prepare(root)? {
            Some(dib) => Ok(dib),
            None => Err(KernelError::Invariant(format!("{tag} {root} is not a domain"))),
        }
    }

    /// Applies the invoker's side of a jump.
    pub(crate) fn finish(&mut self, invoker: Cda, jump: Jump) -> Result<(), KernelError> {
        let dib = self.dib(invoker, "TRANSITION001 invoker")?;
        if jump != Jump::Implicit {
            dib.hart.pc = dib.hart.pc.wrapping_add(4);
        }
        match jump {
            Jump::Call | Jump::Implicit => dib.state = RunState::Waiting,
            Jump::Return => {
                dib.state = RunState::Available;
                self.wake_stalled(invoker);
            }
            Jump::Fork => self.run_next(invoker),
        }
        Ok(())
    }

    /// `invoker` jumped to the busy domain `target`: it waits on `target`'s
    /// stall queue, running, and re-executes the whole jump when `target`
    /// becomes available.
    pub(crate) fn stall(&mut self, invoker: Cda, target: Cda) {
        self.stalled.entry(target).or_default().push(invoker);
    }

    /// Wakes every domain stalled on `root` (it just became available).
    pub(crate) fn wake_stalled(&mut self, root: Cda) {
        if let Some(waiters) = self.stalled.remove(&root) {
            self.ready.extend(waiters);
        }
    }

    /// Delivers `message` to `target`, which becomes running: registers
    /// a0..a2, the string into its receive buffer, keys into its receive
    /// slots, per the entry block in its a2. A string the buffer refuses
    /// traps the target (trap code 8) as it starts.
    pub(crate) fn deliver(
        &mut self,
        target: Cda,
        message: &Message,
        databyte: u8,
    ) -> Result<(), KernelError> {
        let dib = self.dib(target, "TRANSITION002 jumpee")?;
        let entry = invoke::EntryBlock::decode(dib.hart.x(12));
        let (buffer, capacity) = (dib.hart.x(15), dib.hart.x(16) as usize);
        for (i, &slot) in entry.slots.iter().enumerate() {
            if entry.key_mask & (1 << i) != 0 && slot != 0 {
                dib.keys[slot] = if message.key_mask & (1 << i) != 0 { message.keys[i] } else { Key::NULL };
            }
        }
        dib.hart.set_x(10, message.code);
        dib.hart.set_x(11, u32::from(databyte));
        dib.hart.set_x(12, message.string.len() as u32);
        dib.state = RunState::Running;
        self.run_next(target);
        if !entry.receive_string {
            return Ok(());
        }
        let n = capacity.min(message.string.len());
        let mut memory = self.memory_of(target, Claim::Kernel);
        let written = memory.write(buffer, &message.string[..n]);
        if memory.journal_written {
            self.journal_page_written()?;
        }
        let address = match written {
            Ok(()) => return Ok(()),
            Err(MemoryFault::Segment(f)) => f.address,
            Err(MemoryFault::Storage(e)) => return Err(e.into()),
            Err(MemoryFault::AreaFull) => return Err(KernelError::area_exhausted("TRANSITION003 delivery")),
        };
        let dib = self.dib(target, "TRANSITION004 jumpee")?;
        dib.trap = TrapState { code: trap::RECEIVE_FAULT, pc: dib.hart.pc, detail: address };
        Ok(())
    }

    /// Lets a waiting domain run on from where it stopped (a restart or
    /// fault key), delivering nothing.
    pub(crate) fn run_again(&mut self, target: Cda) -> Result<(), KernelError> {
        self.dib(target, "TRANSITION005 target")?.state = RunState::Running;
        self.run_next(target);
        Ok(())
    }

    /// A domain a message was just delivered to (or that forked) runs
    /// next, so a call and its reply cost no wait in the queue; but once
    /// the domains running next one after another have had a time slice
    /// between them ([`Kernel::burst`]), it queues behind the others like
    /// a domain whose slice ran out. Without that, a domain calling a
    /// kernel object in a loop, or a client and a server calling each
    /// other, would have the processor for good.
    pub(crate) fn run_next(&mut self, root: Cda) {
        if self.burst < self.config.time_slice {
            self.ready.push_front(root);
        } else {
            self.burst = 0;
            self.ready.push_back(root);
        }
    }

    /// Makes `root` ready to run (its state must be running).
    pub fn make_ready(&mut self, root: Cda) {
        if !self.ready.contains(&root) {
            self.ready.push_back(root);
        }
    }

    /// Makes every resume key to `root` obsolete.
    pub(crate) fn zap_resume_keys(&mut self, root: Cda) -> Result<(), KernelError> {
        let mut h = node::header(&self.store, root);
        h.call_id = h.call_id.wrapping_add(1);
        node::set_header(&mut self.store, root, h)?;
        if let Some(dib) = self.domains.get_mut(root) {
            dib.root_ids.1 = h.call_id;
        }
        Ok(())
    }

    /// Acts on why `root`'s time slice ended.
    pub(crate) fn after_exit(&mut self, root: Cda, exit: Exit<MemoryFault>) -> Result<(), KernelError> {
        match exit {
            Exit::Budget => {
                self.burst = 0;
                self.ready.push_back(root);
            }
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
                self.wait_for_room(root);
                Ok(())
            }
            MemoryFault::Storage(e) => Err(e.into()),
        }
    }

    /// Records a trap on the running domain `root` and delivers it.
    pub(crate) fn set_trap(&mut self, root: Cda, code: u32, detail: u32) -> Result<(), KernelError> {
        let dib = self.dib(root, "TRANSITION006 trapping domain")?;
        dib.state = RunState::Running;
        dib.trap = TrapState { code, pc: dib.hart.pc, detail };
        self.stats.traps += 1;
        self.deliver_trap(root)
    }

    /// Makes the implicit call of the trapped domain `root` to its keeper:
    /// order code = trap code, the trap string, key 2 a domain key to it.
    pub(crate) fn deliver_trap(&mut self, root: Cda) -> Result<(), KernelError> {
        let t = self.dib(root, "TRANSITION007 trapped domain")?.trap;
        let keeper = object::validate(&self.store, node::slot(&self.store, root, domain::SLOT_KEEPER));
        let domain_key = object::validate(
            &self.store,
            Key::object(KeyType::Domain, root, object::allocation(&self.store, root).id, 0),
        );
        let string = trap::trap_string(t.code, t.pc, t.detail);
        self.implicit_call(root, keeper, t.code, &string, domain_key)
    }

    /// A memory fault: to the segment keeper if there is one, else a trap.
    fn memory_fault(&mut self, root: Cda, fault: SegmentFault) -> Result<(), KernelError> {
        if let Some(k) = fault.keeper.filter(|k| invoke::is_gate(&self.store, k.keeper)) {
            let pc = self.dib(root, "TRANSITION008 faulting domain")?.hart.pc;
            let code = trap::MEMORY_FAULT_BASE + fault.code as u32;
            let string = trap::trap_string(code, pc, fault.address);
            let node_key = Key::object(KeyType::Node, k.node, object::allocation(&self.store, k.node).id, 0);
            return self.implicit_call(root, k.keeper, fault.code as u32, &string, node_key);
        }
        let (code, detail) = trap::from_segment(&fault);
        self.set_trap(root, code, detail)
    }

    /// A domain whose meter chain stops it: call the exhausted meter's
    /// keeper if it has one, else park the domain until meters change.
    pub(crate) fn meter_stopped(&mut self, root: Cda, stopped: Stopped) -> Result<(), KernelError> {
        if let Stopped::Exhausted(meter_node) = stopped {
            let keeper =
                object::validate(&self.store, node::slot(&self.store, meter_node, crate::meter::SLOT_KEEPER));
            if invoke::is_gate(&self.store, keeper) {
                let node_key =
                    Key::object(KeyType::Node, meter_node, object::allocation(&self.store, meter_node).id, 0);
                return self.implicit_call(root, keeper, invoke::METER_EXHAUSTED, &[], node_key);
            }
        }
        if !self.parked.contains(&root) {
            self.parked.push(root);
        }
        Ok(())
    }

    /// The implicit call of a trapped or faulting domain to a keeper: order
    /// code `code`, the string, `key2` as key 2 and a fault key as key 3.
    /// If the keeper is not a gate the domain stays stopped, visibly
    /// faulted; if it is busy, the domain stalls on it, still running.
    pub(crate) fn implicit_call(
        &mut self,
        root: Cda,
        keeper: Key,
        code: u32,
        string: &[u8],
        key2: Key,
    ) -> Result<(), KernelError> {
        if !self.room_for(root, invoke::INVOCATION_FRAMES) {
            return Ok(());
        }
        self.stats.invocations += 1;
        if !invoke::is_gate(&self.store, keeper) {
            self.dib(root, "TRANSITION009 faulting domain")?.state = RunState::Waiting;
            return Ok(());
        }
        let fault_key = Key::resume(ResumeKind::Fault, root, call_id(&self.store, root));
        let message = Message::code(code).with_string(string).with_key(2, key2).with_key(3, fault_key);
        invoke::perform(self, root, Jump::Implicit, object::validate(&self.store, keeper), message)
    }

    /// Whether the working area has `frames` for the kernel's work on
    /// behalf of `root`; if not, `root` waits for room (see
    /// [`Kernel::wait_for_room`]) and will do it again afterwards.
    pub(crate) fn room_for(&mut self, root: Cda, frames: u64) -> bool {
        if self.kernel_room() >= frames {
            return true;
        }
        self.wait_for_room(root);
        false
    }

    /// The running domain `root` needs room in the working area: it waits,
    /// running, until the next snapshot has given the kernel a fresh area,
    /// and then re-executes what it was doing. The snapshot is asked for.
    pub(crate) fn wait_for_room(&mut self, root: Cda) {
        if self.room_waiters.is_empty() {
            self.room_wait_since = Some(std::time::Instant::now());
        }
        if !self.room_waiters.contains(&root) {
            self.room_waiters.push(root);
        }
        self.request_checkpoint();
    }

    /// After a snapshot: the domains that waited for room run again,
    /// before the others, those that took the fewest frames in the epoch
    /// just ended first, so that a domain dirtying a few pages is not
    /// starved by one dirtying many (which would otherwise take the whole
    /// fresh area before the other's turn, every time).
    pub(crate) fn release_room_waiters(&mut self) {
        if let Some(since) = self.room_wait_since.take() {
            let waited = since.elapsed().as_nanos() as u64;
            self.checkpoints.migration_wait_ns += waited;
            self.checkpoints.stats.migration_wait_ns += waited;
        }
        let taken = std::mem::take(&mut self.frames_taken);
        let mut waiters = std::mem::take(&mut self.room_waiters);
        waiters.sort_by_key(|root| taken.get(root).copied().unwrap_or(0));
        for root in waiters.into_iter().rev() {
            self.ready.push_front(root);
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
        self.host_room(REPLY_FRAMES)?;
        let Some(dib) = self.prepare(root)? else { return Ok(false) };
        dib.state = RunState::Waiting;
        dib.trap = TrapState { code: trap::STOPPED, pc: dib.hart.pc, detail: 0 };
        self.zap_resume_keys(root)?;
        self.ready.retain(|&r| r != root);
        self.parked.retain(|&r| r != root);
        self.room_waiters.retain(|&r| r != root);
        for waiters in self.stalled.values_mut() {
            waiters.retain(|&r| r != root);
        }
        self.withdraw_replies_to(root)?;
        Ok(true)
    }

    /// Answers the call a waiting domain is waiting in with return code
    /// `code` and nothing else (no string, DK(0) for every key), as if the
    /// key it called had replied: what a restart does for the waits it
    /// cannot keep, and `gnosis resume` for a call whose answerer stayed
    /// behind. Nothing happens if `root` is not a waiting domain.
    pub fn reply_to_waiting(&mut self, root: Cda, code: u32) -> Result<(), KernelError> {
        self.host_room(REPLY_FRAMES)?;
        let key = Key::resume(ResumeKind::Return, root, call_id(&self.store, root));
        invoke::reply_through(self, Some(key), Message::code(code))
    }
}

/// The call id of a domain root (resume keys carry it).
pub(crate) fn call_id(store: &Store, root: Cda) -> u32 {
    node::header(store, root).call_id
}
