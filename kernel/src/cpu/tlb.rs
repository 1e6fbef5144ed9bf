//! The software TLB: guest virtual page → host address of the frame that
//! backs it, separately for reading, writing and executing.
//!
//! This module is the interpreter's one `unsafe` boundary: loads and stores
//! go through raw pointers into the mapped image. Soundness rests on what the
//! kernel puts in: a read entry points at the current version of a frame, a
//! write entry at a working frame of the kernel thread (see the frame
//! ownership rule in `disk_image::storage`), and every entry is flushed
//! whenever the frame it points at could be reused or change role (the
//! kernel's location generation, see `store`). Entries never outlive the
//! mapping: the kernel owns both.

use std::rc::Rc;

use super::code::DecodedPage;
use super::jit::Tier;

/// Entries per table (direct-mapped by virtual page number).
pub const TLB_ENTRIES: usize = 256;
const INVALID: u32 = u32::MAX;

/// One data TLB entry, laid out for translated code (see `jit`), which
/// reads `vpage` and `host` directly.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct RawEntry {
    pub(crate) vpage: u32,
    pub(crate) host: *mut u8,
}

const EMPTY: RawEntry = RawEntry { vpage: INVALID, host: std::ptr::null_mut() };

fn index(vpage: u32) -> usize {
    vpage as usize % TLB_ENTRIES
}

/// Translations for loads and stores.
pub struct DataTlb {
    read: Box<[RawEntry; TLB_ENTRIES]>,
    write: Box<[RawEntry; TLB_ENTRIES]>,
}

impl Default for DataTlb {
    fn default() -> Self {
        DataTlb { read: Box::new([EMPTY; TLB_ENTRIES]), write: Box::new([EMPTY; TLB_ENTRIES]) }
    }
}

/// A value the interpreter loads or stores: u8, u16 or u32.
pub trait Word: Copy {
    /// Size in bytes.
    const SIZE: u32;
    /// Reads a little-endian value at `p`.
    ///
    /// # Safety
    /// `p` must be valid for reads of `SIZE` bytes.
    unsafe fn load(p: *const u8) -> Self;
    /// Writes a little-endian value at `p`.
    ///
    /// # Safety
    /// `p` must be valid for writes of `SIZE` bytes.
    unsafe fn store(self, p: *mut u8);
}

macro_rules! word {
    ($t:ty) => {
        impl Word for $t {
            const SIZE: u32 = std::mem::size_of::<$t>() as u32;
            unsafe fn load(p: *const u8) -> Self {
                // Safety: the caller guarantees `p` is valid for SIZE bytes.
                <$t>::from_le(unsafe { p.cast::<$t>().read_unaligned() })
            }
            unsafe fn store(self, p: *mut u8) {
                // Safety: the caller guarantees `p` is valid for SIZE bytes.
                unsafe { p.cast::<$t>().write_unaligned(self.to_le()) }
            }
        }
    };
}
word!(u8);
word!(u16);
word!(u32);

impl DataTlb {
    /// Loads from `vaddr` if its page has a read entry. The caller has
    /// checked alignment, so the access stays inside one page.
    #[inline(always)]
    pub fn load<W: Word>(&self, vaddr: u32) -> Option<W> {
        let e = self.read[index(vaddr >> 12)];
        if e.vpage != vaddr >> 12 {
            return None;
        }
        // Safety: a valid entry's `host` is the start of a 4 KiB frame of the
        // live mapping (module doc); `vaddr & 0xFFF` plus an aligned access
        // of SIZE bytes stays inside it.
        Some(unsafe { W::load(e.host.add((vaddr & 0xFFF) as usize)) })
    }

    /// Stores to `vaddr` if its page has a write entry; `false` if not.
    #[inline(always)]
    pub fn store<W: Word>(&self, vaddr: u32, value: W) -> bool {
        let e = self.write[index(vaddr >> 12)];
        if e.vpage != vaddr >> 12 {
            return false;
        }
        // Safety: as in `load`; write entries point at working frames owned
        // by the kernel thread.
        unsafe { value.store(e.host.add((vaddr & 0xFFF) as usize)) };
        true
    }

    /// Installs a read entry (and a write entry when `writable`) for the
    /// page of `vaddr`, backed by the frame at `host`.
    ///
    /// # Safety
    /// `host` must be the start of a 4 KiB frame that stays valid (and, if
    /// `writable`, owned by this thread for writing) until this entry is
    /// flushed or replaced.
    pub unsafe fn insert(&mut self, vaddr: u32, host: *mut u8, writable: bool) {
        let vpage = vaddr >> 12;
        let e = RawEntry { vpage, host };
        self.read[index(vpage)] = e;
        self.write[index(vpage)] = if writable { e } else { EMPTY };
    }

    /// The read and write tables, for translated code: `TLB_ENTRIES`
    /// entries each, indexed by virtual page number modulo `TLB_ENTRIES`.
    pub(crate) fn raw_tables(&self) -> (*const RawEntry, *const RawEntry) {
        (self.read.as_ptr(), self.write.as_ptr())
    }

    /// Removes every entry.
    pub fn flush(&mut self) {
        self.read.fill(EMPTY);
        self.write.fill(EMPTY);
    }

    /// Removes every write entry (read entries stay).
    pub fn flush_writes(&mut self) {
        self.write.fill(EMPTY);
    }
}

/// Translations for instruction fetch: virtual page → decoded page; and
/// how the hart's code is run.
pub struct CodeTlb {
    entries: Vec<(u32, Option<Rc<DecodedPage>>)>,
    tier: Tier,
    /// Instructions retired by translated code since the hart was loaded.
    translated: u64,
}

impl Default for CodeTlb {
    fn default() -> Self {
        CodeTlb::new(Tier::default())
    }
}

impl CodeTlb {
    /// An empty code TLB for a hart run with `tier`.
    pub fn new(tier: Tier) -> CodeTlb {
        CodeTlb { entries: vec![(INVALID, None); TLB_ENTRIES], tier, translated: 0 }
    }

    /// How the hart's code is run.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// Instructions retired by translated code so far.
    pub fn translated_instructions(&self) -> u64 {
        self.translated
    }

    /// Counts instructions retired by translated code.
    pub(crate) fn count_translated(&mut self, n: u64) {
        self.translated += n;
    }

    /// Changes how the hart's code is run from now on.
    pub fn set_tier(&mut self, tier: Tier) {
        self.tier = tier;
    }

    /// The decoded page for the page of `pc`, if cached.
    #[inline(always)]
    pub fn lookup(&self, pc: u32) -> Option<&DecodedPage> {
        let (vpage, page) = &self.entries[index(pc >> 12)];
        if *vpage == pc >> 12 { page.as_deref() } else { None }
    }

    /// Caches `page` for the page of `pc`.
    pub fn insert(&mut self, pc: u32, page: Rc<DecodedPage>) {
        self.entries[index(pc >> 12)] = (pc >> 12, Some(page));
    }

    /// Removes every entry.
    pub fn flush(&mut self) {
        self.entries.fill((INVALID, None));
    }
}
