//! The RV32IM interpreter.
//!
//! `decode` turns instruction words into ops (pure); `code` caches decoded
//! pages; `tlb` maps guest pages to host frames; `exec` interprets a
//! domain's hart for a budget of instructions and returns why it stopped;
//! `jit` runs hot code as host machine code and the rest through `exec`,
//! with the same result. Everything the
//! guest does ends in an [`Exit`]: the budget ran out, an `ecall` (a key
//! invocation, for the kernel to perform), a [`Trap`], or a memory fault
//! reported by the [`Mmu`]. Nothing a guest executes can panic the emulator.

pub mod code;
pub mod decode;
pub mod exec;
pub mod flat;
pub mod jit;
pub mod tlb;

use std::rc::Rc;

pub use code::DecodedPage;
pub use jit::{Tier, run};
pub use tlb::{CodeTlb, DataTlb};

/// Registers of one hart. `regs[0]` is always 0; `regs[32]` absorbs writes
/// to `x0` (see `decode`); the array has 256 entries so that any `u8`
/// register index is in bounds without a check.
#[derive(Clone)]
pub struct Hart {
    /// x0..x31, the sink at 32, unused above.
    pub regs: [u32; 256],
    /// The program counter.
    pub pc: u32,
}

impl Default for Hart {
    fn default() -> Self {
        Hart { regs: [0; 256], pc: 0 }
    }
}

impl Hart {
    /// Register `x{i}` (i < 32).
    pub fn x(&self, i: usize) -> u32 {
        self.regs[i & 31]
    }

    /// Sets register `x{i}`; writes to x0 are ignored.
    pub fn set_x(&mut self, i: usize, value: u32) {
        if i != 0 && i < 32 {
            self.regs[i] = value;
        }
    }
}

/// Kinds of memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// Exceptions the interpreter raises itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// The word at the pc is not an RV32IM instruction.
    Illegal {
        /// The instruction word.
        word: u32,
    },
    /// `ebreak`.
    Breakpoint,
    /// A jump or taken branch to an address that is not a multiple of 4
    /// (reported on the jump, which does not write its link register).
    MisalignedJump {
        /// The target.
        target: u32,
    },
    /// A load from an address not aligned to its size.
    MisalignedLoad {
        /// The address.
        address: u32,
    },
    /// A store to an address not aligned to its size.
    MisalignedStore {
        /// The address.
        address: u32,
    },
}

/// Why [`run`] returned. The hart's pc is at the instruction to execute next
/// (for `Ecall`, `Trap` and `Fault`: the instruction that caused it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit<F> {
    /// The budget is spent.
    Budget,
    /// An `ecall` at the pc.
    Ecall,
    /// An exception at the pc.
    Trap(Trap),
    /// The memory system refused an access at the pc.
    Fault(F),
}

/// The interpreter's view of memory: fills TLB entries and supplies decoded
/// code, or reports a fault of its own type.
pub trait Mmu {
    /// What a refused access reports.
    type Fault;

    /// Installs a TLB entry for an access at `vaddr`. For `Write`, returns
    /// `Ok(false)` when the page is writable but must not get a write entry
    /// (it holds decoded code): the store then goes through [`Mmu::store_slow`].
    fn fill(&mut self, tlb: &mut DataTlb, vaddr: u32, access: Access) -> Result<bool, Self::Fault>;

    /// The decoded page holding `pc`.
    fn code(&mut self, pc: u32) -> Result<Rc<DecodedPage>, Self::Fault>;

    /// Stores into a page that holds decoded code, dropping the decoded copy.
    fn store_slow(&mut self, vaddr: u32, bytes: &[u8]) -> Result<(), Self::Fault>;
}
