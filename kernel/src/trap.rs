//! Trap codes: why a domain stopped, as its keeper is told.
//!
//! A trap is an implicit CALL from the domain to the key in its keeper slot
//! (root slot 2) with the trap code as order code, a 12-byte string (pc,
//! detail, instruction word... see [`trap_string`]), a domain key to the
//! trapped domain as key 2 and a fault key (resume kind 4) as key 3. The
//! domain waits with its trap code set in root slot 5. If the keeper slot
//! does not hold a gate, the domain stays stopped in that visible faulted
//! state.

use crate::cpu::Trap;
use crate::segment::SegmentFault;

/// Trap code: the word at the pc is not an RV32IM instruction.
pub const ILLEGAL_INSTRUCTION: u32 = crate::abi::TRAP_ILLEGAL_INSTRUCTION;
/// Trap code: `ebreak`.
pub const BREAKPOINT: u32 = crate::abi::TRAP_BREAKPOINT;
/// Trap code: jump or branch to an address not a multiple of 4.
pub const MISALIGNED_JUMP: u32 = crate::abi::TRAP_MISALIGNED_JUMP;
/// Trap code: misaligned load.
pub const MISALIGNED_LOAD: u32 = crate::abi::TRAP_MISALIGNED_LOAD;
/// Trap code: misaligned store.
pub const MISALIGNED_STORE: u32 = crate::abi::TRAP_MISALIGNED_STORE;
/// Trap code: an `ecall` whose exit block or string is invalid.
pub const BAD_INVOCATION: u32 = crate::abi::TRAP_BAD_INVOCATION;
/// Trap code: a received string could not be stored in the receive buffer.
pub const RECEIVE_FAULT: u32 = crate::abi::TRAP_RECEIVE_FAULT;
/// Trap code: the domain invoked the error key.
pub const ERROR_KEY: u32 = crate::abi::TRAP_ERROR_KEY;
/// Trap code: the host stopped the domain for good (`gnosis snapshot
/// --kill`); it is not delivered to the keeper (see `Kernel::stop_domain`).
pub const STOPPED: u32 = crate::abi::TRAP_STOPPED;
/// Trap codes 0x100 + c: memory fault with segment fault code c.
pub const MEMORY_FAULT_BASE: u32 = crate::abi::TRAP_MEMORY_FAULT;

/// The trap code and detail for an interpreter trap.
pub fn from_cpu(trap: Trap) -> (u32, u32) {
    match trap {
        Trap::Illegal { word } => (ILLEGAL_INSTRUCTION, word),
        Trap::Breakpoint => (BREAKPOINT, 0),
        Trap::MisalignedJump { target } => (MISALIGNED_JUMP, target),
        Trap::MisalignedLoad { address } => (MISALIGNED_LOAD, address),
        Trap::MisalignedStore { address } => (MISALIGNED_STORE, address),
    }
}

/// The trap code and detail for a segment fault no segment keeper took.
pub fn from_segment(fault: &SegmentFault) -> (u32, u32) {
    (MEMORY_FAULT_BASE + fault.code as u32, fault.address)
}

/// A short description of a trap code, for `gnosis ps` and `exec`.
pub fn describe(code: u32) -> String {
    match code {
        0 => "none".into(),
        ILLEGAL_INSTRUCTION => "illegal instruction".into(),
        BREAKPOINT => "breakpoint (ebreak)".into(),
        MISALIGNED_JUMP => "misaligned jump target".into(),
        MISALIGNED_LOAD => "misaligned load".into(),
        MISALIGNED_STORE => "misaligned store".into(),
        BAD_INVOCATION => "bad invocation (ecall exit block or string)".into(),
        RECEIVE_FAULT => "receive buffer fault".into(),
        ERROR_KEY => "invoked the error key".into(),
        STOPPED => "stopped for good (snapshot --kill)".into(),
        c if c > MEMORY_FAULT_BASE => format!("memory fault, segment fault code {}", c - MEMORY_FAULT_BASE),
        c => format!("trap code {c}"),
    }
}

/// The string a keeper receives: pc (4), detail (4), trap code (4), LE.
pub fn trap_string(code: u32, pc: u32, detail: u32) -> [u8; 12] {
    let mut s = [0u8; 12];
    s[0..4].copy_from_slice(&pc.to_le_bytes());
    s[4..8].copy_from_slice(&detail.to_le_bytes());
    s[8..12].copy_from_slice(&code.to_le_bytes());
    s
}
