//! Debugging one domain (the GDB stub of `gnosis run --gdb` drives it).
//!
//! A debugger attaches to one domain and *holds* it: while held the domain
//! keeps its run state (running, available or waiting), so the checkpoint
//! records it exactly as it is and a restart runs it on, but the scheduler
//! passes it over. Released, it runs instruction by instruction, stopping
//! before any instruction at a breakpoint, after one instruction when
//! single-stepping, and at any trap or memory fault, which is held back
//! from the keeper until the debugger lets the domain go on. Watchpoints
//! are software ones: before each instruction the debugger looks at the
//! load or store it is (its address from the registers), and stops before
//! one that touches a watched range, as RISC-V's hardware triggers do (GDB
//! then steps over it and compares the value); the kernel's own writes,
//! such as a received string, are not seen.
//! Detaching
//! releases the domain and delivers a held-back trap: the domain is left as
//! it was. Nothing here is written to the image: breakpoints live in the
//! debugger, never in the domain's memory.

use rustc_hash::FxHashSet;

use crate::cpu::decode::OpKind;
use crate::cpu::{self, CodeTlb, DataTlb, Exit, Hart, Mmu, Trap};
use crate::kernel::{Kernel, KernelError};
use crate::key::Cda;
use crate::memory::MemoryFault;

/// Why a debugged domain stopped, as the debugger reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugStop {
    /// Held when the debugger attached or asked it to stop.
    Halted,
    /// Before the instruction at a breakpoint.
    Breakpoint,
    /// After a single step.
    Step,
    /// At an exception the interpreter raised (held back from the keeper).
    Trap(Trap),
    /// At a memory fault (held back from the segment keeper or keeper).
    Fault,
    /// Before an access a watchpoint covers.
    Watch {
        /// The watchpoint's kind.
        kind: WatchKind,
        /// The watched address the access touched.
        address: u32,
    },
}

/// What a watchpoint fires on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// Stores.
    Write,
    /// Loads.
    Read,
    /// Both.
    Access,
}

/// A watched range of memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Watchpoint {
    address: u32,
    len: u32,
    kind: WatchKind,
}

impl Watchpoint {
    /// The first watched byte that a `write` (or load) of `len` bytes at
    /// `address` touches, if this watchpoint fires on it.
    fn hit(&self, address: u32, len: u32, write: bool) -> Option<u32> {
        let fires = match self.kind {
            WatchKind::Write => write,
            WatchKind::Read => !write,
            WatchKind::Access => true,
        };
        let (start, end) = (u64::from(address), u64::from(address) + u64::from(len));
        let (w_start, w_end) = (u64::from(self.address), u64::from(self.address) + u64::from(self.len));
        (fires && start < w_end && w_start < end).then(|| start.max(w_start) as u32)
    }
}

/// The debugger's hold on one domain.
pub(crate) struct Debugger {
    /// The domain debugged.
    pub root: Cda,
    breakpoints: FxHashSet<u32>,
    watchpoints: Vec<Watchpoint>,
    /// Held: the scheduler passes the domain over.
    pub held: bool,
    /// The domain was ready when the scheduler passed it over.
    pub ready_when_released: bool,
    /// Stop after the next instruction (or invocation).
    stepping: bool,
    /// An instruction or invocation completed since the last release.
    stepped: bool,
    /// The pc the domain was released at: its breakpoint is not hit again.
    released_at: Option<u32>,
    /// A stop the debugger has not yet been told of.
    pub unreported: Option<DebugStop>,
    /// A trap or fault held back from the keeper.
    pub held_exit: Option<Exit<MemoryFault>>,
}

impl Debugger {
    /// Attaches to `root`, holding it.
    pub fn new(root: Cda) -> Debugger {
        Debugger {
            root,
            breakpoints: FxHashSet::default(),
            watchpoints: Vec::new(),
            held: true,
            ready_when_released: false,
            stepping: false,
            stepped: false,
            released_at: None,
            unreported: Some(DebugStop::Halted),
            held_exit: None,
        }
    }

    /// Sets (`on`) or clears a breakpoint; whether that changed anything.
    pub fn breakpoint(&mut self, address: u32, on: bool) -> bool {
        if on { self.breakpoints.insert(address) } else { self.breakpoints.remove(&address) }
    }

    /// Sets (`on`) or clears a watchpoint over `len` bytes at `address`;
    /// whether that changed anything.
    pub fn watchpoint(&mut self, address: u32, len: u32, kind: WatchKind, on: bool) -> bool {
        let w = Watchpoint { address, len: len.max(1), kind };
        let at = self.watchpoints.iter().position(|x| *x == w);
        match (on, at) {
            (true, None) => self.watchpoints.push(w),
            (false, Some(i)) => {
                self.watchpoints.swap_remove(i);
            }
            _ => return false,
        }
        true
    }

    /// The watchpoint stop the instruction at the pc would cause, if any.
    fn watch_hit<M: Mmu>(&self, hart: &Hart, mmu: &mut M) -> Option<DebugStop> {
        if self.watchpoints.is_empty() {
            return None;
        }
        let page = mmu.code(hart.pc).ok()?;
        let op = page.ops[(hart.pc as usize & 0xFFF) / 4];
        let (len, write) = match op.kind {
            OpKind::Lb | OpKind::Lbu => (1, false),
            OpKind::Lh | OpKind::Lhu => (2, false),
            OpKind::Lw => (4, false),
            OpKind::Sb => (1, true),
            OpKind::Sh => (2, true),
            OpKind::Sw => (4, true),
            _ => return None,
        };
        let address = hart.x(op.rs1 as usize).wrapping_add(op.imm as u32);
        self.watchpoints.iter().find_map(|w| {
            w.hit(address, len, write).map(|address| DebugStop::Watch { kind: w.kind, address })
        })
    }

    /// Lets the domain run, at `pc`: on until a stop, or for one step.
    pub fn release(&mut self, pc: u32, step: bool) {
        self.held = false;
        self.stepping = step;
        self.stepped = false;
        self.released_at = Some(pc);
        self.unreported = None;
    }

    /// Holds the domain, to be reported as stopped for `why`.
    pub fn hold(&mut self, why: DebugStop) {
        self.held = true;
        self.unreported = Some(why);
    }

    /// Runs `hart` for at most `budget` instructions, one at a time,
    /// stopping as the debugger asked. An `Exit::Budget` with the domain
    /// held is a debugger stop.
    pub fn run<M: Mmu>(
        &mut self,
        hart: &mut Hart,
        data: &mut DataTlb,
        code: &mut CodeTlb,
        mmu: &mut M,
        budget: u64,
    ) -> (Exit<M::Fault>, u64) {
        let mut retired = 0;
        while retired < budget {
            if self.stepping && self.stepped {
                self.hold(DebugStop::Step);
                return (Exit::Budget, retired);
            }
            let resuming_here = self.released_at.take() == Some(hart.pc);
            if !resuming_here && self.breakpoints.contains(&hart.pc) {
                self.hold(DebugStop::Breakpoint);
                return (Exit::Budget, retired);
            }
            if let Some(watched) = self.watch_hit(hart, mmu).filter(|_| !resuming_here) {
                self.hold(watched);
                return (Exit::Budget, retired);
            }
            let (exit, n) = cpu::run(hart, data, code, mmu, 1);
            retired += n;
            match exit {
                Exit::Budget => self.stepped = true,
                Exit::Ecall => {
                    self.stepped = true;
                    return (exit, retired);
                }
                Exit::Trap(trap) => {
                    self.hold(DebugStop::Trap(trap));
                    return (exit, retired);
                }
                Exit::Fault(_) => {
                    self.hold(DebugStop::Fault);
                    return (exit, retired);
                }
            }
        }
        (Exit::Budget, retired)
    }
}

/// The debugger's view of a domain's processor state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    /// The pc.
    pub pc: u32,
    /// x0..x31 (x0 reads 0).
    pub x: [u32; 32],
}

impl Kernel {
    /// Attaches the debugger to domain `root`, holding it (reported as
    /// [`DebugStop::Halted`]). Replaces any earlier attachment.
    pub fn debug_attach(&mut self, root: Cda) -> Result<(), KernelError> {
        if self.host_prepare(root)?.is_none() {
            return Err(KernelError::Refused(format!("node {} is not the root of a domain", root.number())));
        }
        self.debug_detach()?;
        let mut debugger = Debugger::new(root);
        if let Some(at) = self.ready.iter().position(|&r| r == root) {
            self.ready.remove(at);
            debugger.ready_when_released = true;
        }
        self.debug = Some(debugger);
        Ok(())
    }

    /// Detaches the debugger: the domain runs on as it would have, a
    /// held-back trap goes to its keeper, breakpoints are forgotten.
    pub fn debug_detach(&mut self) -> Result<(), KernelError> {
        if self.debug.is_some() {
            self.debug_resume(false, true)?;
        }
        self.debug = None;
        Ok(())
    }

    /// Lets the held domain go on (`step`: for one instruction). A trap or
    /// fault it stopped at goes to its keeper if `deliver`, else is dropped
    /// and the instruction at the (possibly changed) pc runs again.
    pub fn debug_resume(&mut self, step: bool, deliver: bool) -> Result<(), KernelError> {
        let Some(d) = self.debug.as_mut().filter(|d| d.held) else { return Ok(()) };
        let root = d.root;
        let held_exit = d.held_exit.take();
        let was_ready = std::mem::take(&mut d.ready_when_released);
        let pc = self.host_prepare(root)?.map(|dib| dib.hart.pc);
        let d = self.debug.as_mut().expect("DEBUG001 debugger vanished");
        d.release(pc.unwrap_or(0), step);
        match held_exit {
            Some(exit) if deliver => self.after_exit(root, exit)?,
            Some(_) => self.make_ready(root),
            None if was_ready => self.make_ready(root),
            None => {}
        }
        Ok(())
    }

    /// Stops the debugged domain now (the debugger's Ctrl-C).
    pub fn debug_interrupt(&mut self) {
        if let Some(d) = self.debug.as_mut().filter(|d| !d.held) {
            if let Some(at) = self.ready.iter().position(|&r| r == d.root) {
                self.ready.remove(at);
                d.ready_when_released = true;
            }
            d.hold(DebugStop::Halted);
        }
    }

    /// A stop the debugger has not been told of yet.
    pub fn debug_take_stop(&mut self) -> Option<DebugStop> {
        self.debug.as_mut().and_then(|d| d.unreported.take())
    }

    /// Whether the debugged domain is held.
    pub fn debug_held(&self) -> bool {
        self.debug.as_ref().is_some_and(|d| d.held)
    }

    /// Sets (`on`) or clears a breakpoint in the debugged domain; whether
    /// there is a debugged domain.
    pub fn debug_breakpoint(&mut self, address: u32, on: bool) -> bool {
        self.debug.as_mut().map(|d| d.breakpoint(address, on)).is_some()
    }

    /// Sets (`on`) or clears a watchpoint in the debugged domain; whether
    /// there is a debugged domain.
    pub fn debug_watchpoint(&mut self, address: u32, len: u32, kind: WatchKind, on: bool) -> bool {
        self.debug.as_mut().map(|d| d.watchpoint(address, len, kind, on)).is_some()
    }

    /// A domain's pc and registers; `None` if `root` is not a domain.
    pub fn registers(&mut self, root: Cda) -> Result<Option<Registers>, KernelError> {
        Ok(self
            .host_prepare(root)?
            .map(|dib| Registers { pc: dib.hart.pc, x: std::array::from_fn(|i| dib.hart.x(i)) }))
    }

    /// Sets a domain's pc and registers (x0 stays 0); `false` if `root` is
    /// not a domain. Meant for a held domain: a running one would see its
    /// registers change between two instructions.
    pub fn set_registers(&mut self, root: Cda, registers: &Registers) -> Result<bool, KernelError> {
        let Some(dib) = self.host_prepare(root)? else { return Ok(false) };
        dib.hart.pc = registers.pc;
        for (i, &value) in registers.x.iter().enumerate() {
            dib.hart.set_x(i, value);
        }
        // The pc may have moved off the page the code TLB expected.
        dib.code_tlb.flush();
        Ok(true)
    }

    /// Whether the scheduler should pass `root` over (held by the
    /// debugger); records that it was ready.
    pub(crate) fn passed_over(&mut self, root: Cda) -> bool {
        match self.debug.as_mut() {
            Some(d) if d.held && d.root == root => {
                d.ready_when_released = true;
                true
            }
            _ => false,
        }
    }

    /// After a slice of `root`: a debugger stop keeps the domain held (a
    /// trap or fault held back); anything else is acted on as usual.
    pub(crate) fn after_slice(&mut self, root: Cda, exit: Exit<MemoryFault>) -> Result<(), KernelError> {
        if let Some(d) = self.debug.as_mut().filter(|d| d.held && d.root == root) {
            match exit {
                Exit::Budget => {
                    d.ready_when_released = true;
                    return Ok(());
                }
                // Not the domain's doing: the kernel retries or stops.
                Exit::Fault(MemoryFault::AreaFull | MemoryFault::Storage(_)) => {
                    d.held = false;
                    d.unreported = None;
                }
                Exit::Trap(_) | Exit::Fault(_) => {
                    d.held_exit = Some(exit);
                    return Ok(());
                }
                Exit::Ecall => {}
            }
        }
        self.after_exit(root, exit)
    }

    /// The debugged domain, if it is passed over now but must run after a
    /// restart (it is in the checkpoint's process list).
    pub(crate) fn debug_passed_over(&self) -> Option<Cda> {
        self.debug.as_ref().filter(|d| d.ready_when_released || d.held_exit.is_some()).map(|d| d.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watchpoint_fires_on_overlapping_accesses_of_its_kind() {
        let w = Watchpoint { address: 0x1000, len: 4, kind: WatchKind::Write };
        assert_eq!(w.hit(0x1000, 4, true), Some(0x1000));
        assert_eq!(w.hit(0x0FFE, 4, true), Some(0x1000), "a store reaching into the range");
        assert_eq!(w.hit(0x1003, 1, true), Some(0x1003));
        assert_eq!(w.hit(0x1004, 4, true), None, "just past the end");
        assert_eq!(w.hit(0x0FFC, 4, true), None, "just before");
        assert_eq!(w.hit(0x1000, 4, false), None, "a load does not fire a write watchpoint");
        let r = Watchpoint { kind: WatchKind::Read, ..w };
        assert_eq!(r.hit(0x1002, 2, false), Some(0x1002));
        assert_eq!(r.hit(0x1002, 2, true), None);
        let a = Watchpoint { kind: WatchKind::Access, ..w };
        assert!(a.hit(0x1000, 1, true).is_some() && a.hit(0x1000, 1, false).is_some());
        let top = Watchpoint { address: u32::MAX - 1, len: 2, kind: WatchKind::Access };
        assert_eq!(top.hit(u32::MAX, 4, true), Some(u32::MAX), "no overflow at the top of memory");
    }

    #[test]
    fn watchpoints_are_set_once_and_cleared_once() {
        let mut d = Debugger::new(Cda(crate::key::NODE_CDA_BIT | 5));
        assert!(d.watchpoint(0x2000, 4, WatchKind::Write, true));
        assert!(!d.watchpoint(0x2000, 4, WatchKind::Write, true));
        assert!(d.watchpoint(0x2000, 4, WatchKind::Read, true), "another kind is another watchpoint");
        assert!(d.watchpoint(0x2000, 4, WatchKind::Write, false));
        assert!(!d.watchpoint(0x2000, 4, WatchKind::Write, false));
    }
}
