//! The GDB remote stub of `gnosis run --gdb ADDR --domain NAME`.
//!
//! `gdb-multiarch` (`set architecture riscv:rv32`, `target remote ADDR`)
//! attaches to one domain: registers, memory through the domain's address
//! segment (with its read-only rules: a write GDB may not make is refused),
//! software breakpoints kept by the kernel (never written into the domain's
//! memory), watchpoints (`watch`, `rwatch`, `awatch`: the stub answers
//! Z2/Z3/Z4 with the kernel's software watchpoints, so GDB needs no
//! `set can-use-hw-watchpoints 0`), single step, continue, Ctrl-C, and stops at the domain's traps,
//! which go on to its keeper only if GDB passes the signal on. The protocol
//! is the `gdbstub` crate's; the kernel side is `kernel::debug`.
//!
//! The stub is polled between time slices on the kernel's thread, so the
//! world goes on while GDB is connected, or, with `pause_world`, stands
//! still whenever the debugged domain is stopped. The domain is held from
//! boot until GDB connects and continues it (as `qemu -s -S` does), and
//! again each time a GDB connects; a detach lets it run on as it was.

use std::net::{SocketAddr, TcpListener, TcpStream};

use anyhow::Context;
use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::riscv::Riscv32;
use gdbstub_arch::riscv::reg::RiscvCoreRegs;
use kernel::cpu::Trap;
use kernel::debug::{self, DebugStop, Registers};
use kernel::kernel::{Kernel, KernelError};
use kernel::key::Cda;

type Machine = GdbStubStateMachine<'static, Debuggable, TcpStream>;

/// A kernel, with a GDB stub attached to one of its domains if asked for.
pub struct Debuggable {
    /// The kernel.
    pub kernel: Kernel,
    stub: Option<Stub>,
}

struct Stub {
    listener: TcpListener,
    root: Cda,
    pause_world: bool,
    /// The session with the connected GDB, if one is connected.
    machine: Option<Machine>,
}

impl Debuggable {
    /// A kernel with no debugger.
    pub fn new(kernel: Kernel) -> Debuggable {
        Debuggable { kernel, stub: None }
    }

    /// Listens for GDB on `addr` (host:port) for domain `root`, holding the
    /// domain until GDB continues it. Returns the address listened on.
    pub fn serve_gdb(&mut self, addr: &str, root: Cda, pause_world: bool) -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen for GDB on {addr}"))?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        self.kernel.debug_attach(root)?;
        self.kernel.debug_take_stop();
        self.stub = Some(Stub { listener, root, pause_world, machine: None });
        Ok(local)
    }

    /// Whether the rest of the world must stand still now: GDB asked for
    /// that and the debugged domain is stopped.
    pub fn world_paused(&self) -> bool {
        self.stub.as_ref().is_some_and(|s| s.pause_world) && self.kernel.debug_held()
    }

    /// Accepts a GDB, answers what it sent, and reports the domain's stops.
    /// Never blocks waiting for GDB.
    pub fn poll(&mut self) -> anyhow::Result<()> {
        let Some(stub) = self.stub.as_mut() else { return Ok(()) };
        let machine = match stub.machine.take() {
            Some(machine) => machine,
            None => match stub.listener.accept() {
                Ok((stream, _)) => self.connect(stream)?,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e).context("cannot accept a GDB connection"),
            },
        };
        let next = self.advance(machine)?;
        if next.is_none() {
            self.kernel.debug_detach()?;
        }
        self.stub.as_mut().expect("GDB001 stub vanished").machine = next;
        Ok(())
    }

    fn connect(&mut self, stream: TcpStream) -> anyhow::Result<Machine> {
        stream.set_nodelay(true)?;
        let root = self.stub.as_ref().expect("GDB002 stub vanished").root;
        if !self.kernel.debug_held() {
            self.kernel.debug_attach(root)?;
        }
        // GDB asks why the target stopped itself: the hold is not news.
        self.kernel.debug_take_stop();
        GdbStub::new(stream).run_state_machine(self).map_err(|e| anyhow::anyhow!("GDB session: {e}"))
    }

    /// Moves the session on as far as it can go without waiting: `None`
    /// once GDB has gone.
    fn advance(&mut self, mut machine: Machine) -> anyhow::Result<Option<Machine>> {
        loop {
            let step = match machine {
                GdbStubStateMachine::Idle(mut m) => match next_byte(m.borrow_conn()) {
                    Some(Ok(byte)) => m.incoming_data(self, byte),
                    Some(Err(())) => return Ok(None),
                    None => return Ok(Some(m.into())),
                },
                GdbStubStateMachine::Running(mut m) => {
                    if let Some(stop) = self.kernel.debug_take_stop() {
                        m.report_stop(self, stop_reason(stop))
                    } else {
                        match next_byte(m.borrow_conn()) {
                            Some(Ok(byte)) => m.incoming_data(self, byte),
                            Some(Err(())) => return Ok(None),
                            None => return Ok(Some(m.into())),
                        }
                    }
                }
                GdbStubStateMachine::CtrlCInterrupt(m) => {
                    self.kernel.debug_interrupt();
                    let stop = self.kernel.debug_take_stop().map(stop_reason);
                    m.interrupt_handled(self, stop)
                }
                GdbStubStateMachine::Disconnected(_) => return Ok(None),
            };
            machine = match step {
                Ok(next) => next,
                Err(e) if e.is_connection_error() => return Ok(None),
                Err(e) => anyhow::bail!("GDB session: {e}"),
            };
        }
    }

    fn root(&self) -> Cda {
        self.stub.as_ref().expect("GDB003 target without a stub").root
    }
}

/// The next byte from GDB if one has arrived; `Err` if GDB has gone.
fn next_byte(conn: &mut TcpStream) -> Option<Result<u8, ()>> {
    match conn.peek() {
        Ok(None) => None,
        Ok(Some(_)) => Some(ConnectionExt::read(conn).map_err(|_| ())),
        Err(_) => Some(Err(())),
    }
}

fn stop_reason(stop: DebugStop) -> SingleThreadStopReason<u32> {
    match stop {
        DebugStop::Halted => SingleThreadStopReason::Signal(Signal::SIGINT),
        DebugStop::Breakpoint => SingleThreadStopReason::SwBreak(()),
        DebugStop::Step => SingleThreadStopReason::DoneStep,
        DebugStop::Trap(Trap::Breakpoint) => SingleThreadStopReason::Signal(Signal::SIGTRAP),
        DebugStop::Trap(Trap::Illegal { .. }) => SingleThreadStopReason::Signal(Signal::SIGILL),
        DebugStop::Trap(_) => SingleThreadStopReason::Signal(Signal::SIGBUS),
        DebugStop::Fault => SingleThreadStopReason::Signal(Signal::SIGSEGV),
        DebugStop::Watch { kind, address } => {
            let kind = match kind {
                debug::WatchKind::Write => WatchKind::Write,
                debug::WatchKind::Read => WatchKind::Read,
                debug::WatchKind::Access => WatchKind::ReadWrite,
            };
            SingleThreadStopReason::Watch { tid: (), kind, addr: address }
        }
    }
}

fn fatal(e: KernelError) -> TargetError<KernelError> {
    TargetError::Fatal(e)
}

impl Target for Debuggable {
    type Arch = Riscv32;
    type Error = KernelError;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for Debuggable {
    fn read_registers(&mut self, regs: &mut RiscvCoreRegs<u32>) -> TargetResult<(), Self> {
        let root = self.root();
        let r = self.kernel.registers(root).map_err(fatal)?.ok_or(TargetError::NonFatal)?;
        regs.pc = r.pc;
        regs.x = r.x;
        Ok(())
    }

    fn write_registers(&mut self, regs: &RiscvCoreRegs<u32>) -> TargetResult<(), Self> {
        let root = self.root();
        let r = Registers { pc: regs.pc, x: regs.x };
        match self.kernel.set_registers(root, &r).map_err(fatal)? {
            true => Ok(()),
            false => Err(TargetError::NonFatal),
        }
    }

    fn read_addrs(&mut self, start: u32, data: &mut [u8]) -> TargetResult<usize, Self> {
        let root = self.root();
        if self.kernel.read_memory(root, start, data).is_some() {
            return Ok(data.len());
        }
        // Part of the range faults: give GDB what can be read.
        let readable = (0..data.len())
            .take_while(|&i| {
                let at = start.wrapping_add(i as u32);
                self.kernel.read_memory(root, at, &mut data[i..=i]).is_some()
            })
            .count();
        Ok(readable)
    }

    fn write_addrs(&mut self, start: u32, data: &[u8]) -> TargetResult<(), Self> {
        let root = self.root();
        match self.kernel.write_memory(root, start, data).map_err(fatal)? {
            true => Ok(()),
            false => Err(TargetError::NonFatal),
        }
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Debuggable {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        self.kernel.debug_resume(false, signal.is_some())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Debuggable {
    fn step(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        self.kernel.debug_resume(true, signal.is_some())
    }
}

impl Breakpoints for Debuggable {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

fn watch_kind(kind: WatchKind) -> debug::WatchKind {
    match kind {
        WatchKind::Write => debug::WatchKind::Write,
        WatchKind::Read => debug::WatchKind::Read,
        WatchKind::ReadWrite => debug::WatchKind::Access,
    }
}

impl HwWatchpoint for Debuggable {
    fn add_hw_watchpoint(&mut self, addr: u32, len: u32, kind: WatchKind) -> TargetResult<bool, Self> {
        Ok(self.kernel.debug_watchpoint(addr, len, watch_kind(kind), true))
    }

    fn remove_hw_watchpoint(&mut self, addr: u32, len: u32, kind: WatchKind) -> TargetResult<bool, Self> {
        Ok(self.kernel.debug_watchpoint(addr, len, watch_kind(kind), false))
    }
}

impl SwBreakpoint for Debuggable {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.kernel.debug_breakpoint(addr, true);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.kernel.debug_breakpoint(addr, false);
        Ok(true)
    }
}
