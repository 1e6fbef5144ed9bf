//! Executable memory for translated code, and the one call into it.
//!
//! This is the translation tier's only `unsafe`: copying machine code into
//! an anonymous mapping, making it executable, and calling it. Soundness
//! rests on two things. First, the bytes are exactly what cranelift emitted
//! for the host ISA from IR built by `translate`, with no relocations left
//! to patch (a translation that needs any is refused). Second, that IR
//! touches memory only through the [`Context`] it is given: the 32 guest
//! registers at `regs`, the 256 entries of each data TLB table, and the
//! 4 KiB frames those entries name, at an in-page offset with the access's
//! own alignment. Those are the accesses the interpreter makes through
//! `tlb`, under the same frame ownership rule.

use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::{Mmap, MmapMut};

use crate::cpu::tlb::RawEntry;

/// What translated code reads and writes, laid out for the generated code
/// (field offsets are taken with `offset_of!` when translating).
#[repr(C)]
pub struct Context {
    /// The hart's registers (`Hart::regs`, 256 entries).
    pub regs: *mut u32,
    /// The data TLB's read table.
    pub read: *const RawEntry,
    /// The data TLB's write table.
    pub write: *const RawEntry,
    /// Instructions the code may still retire; it subtracts what it retires.
    pub remaining: u64,
    /// Set by the code on return: the pc of the next instruction to run,
    /// or of the `ecall` it retired.
    pub pc: u32,
    /// Set by the code on return: [`ECALL`] if it stopped by retiring an
    /// `ecall`, else 0.
    pub reason: u32,
}

/// [`Context::reason`] after an `ecall`.
pub const ECALL: u32 = 1;

/// A translated function, `extern "C" fn(*mut Context)`, in memory of its
/// own that is freed with it.
pub struct Native {
    code: Mmap,
}

/// Bytes of executable memory held by live translations in this process
/// (whole pages).
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of executable memory live translations hold now.
pub fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

impl Native {
    /// Copies `bytes` (machine code without relocations) into executable
    /// memory.
    pub fn load(bytes: &[u8]) -> std::io::Result<Native> {
        let mut map = MmapMut::map_anon(bytes.len().max(1))?;
        map[..bytes.len()].copy_from_slice(bytes);
        let native = Native { code: map.make_exec()? };
        LIVE_BYTES.fetch_add(native.footprint(), Ordering::Relaxed);
        Ok(native)
    }

    /// Bytes of memory the mapping takes (whole pages).
    fn footprint(&self) -> usize {
        self.code.len().next_multiple_of(4096)
    }

    /// Runs the code on `context`.
    pub fn call(&self, context: &mut Context) {
        // Safety: `code` holds a complete function with the C calling
        // convention of the host taking one pointer argument, compiled for
        // this host (module doc). The mapping is read-only and executable
        // and lives as long as `self`. The function reads and writes only
        // through `context`, whose pointers the caller set from a live hart
        // and data TLB borrowed mutably for the duration of this call.
        unsafe {
            let f: extern "C" fn(*mut Context) = std::mem::transmute(self.code.as_ptr());
            f(context);
        }
    }

    /// Bytes of machine code.
    pub fn size(&self) -> usize {
        self.code.len()
    }
}

impl Drop for Native {
    fn drop(&mut self) {
        LIVE_BYTES.fetch_sub(self.footprint(), Ordering::Relaxed);
    }
}
