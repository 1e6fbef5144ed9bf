//! Guest memory as the kernel sees it: the MMU a running domain's
//! interpreter uses, the cache of decoded code pages, and copying strings in
//! and out of a domain's address segment.
//!
//! Every write the kernel or a domain makes goes through the store (copy on
//! write). A page holding decoded code never gets a write TLB entry: stores
//! to it take the slow path, which drops the decoded copy.

use std::rc::Rc;

use disk_image::StorageError;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::cpu::{Access, DataTlb, DecodedPage, Mmu};
use crate::key::{Cda, Key};
use crate::object::page;
use crate::segment::{self, SegmentFault};
use crate::store::{Claim, Store, StoreError};

/// Decoded pages kept at most.
pub const CODE_CACHE_PAGES: usize = 1024;

/// Why a memory access could not be made.
#[derive(Debug)]
pub enum MemoryFault {
    /// The segment refused the address.
    Segment(SegmentFault),
    /// The working area is full: a checkpoint must come first.
    AreaFull,
    /// The storage failed.
    Storage(StorageError),
}

impl From<StoreError> for MemoryFault {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AreaFull => MemoryFault::AreaFull,
            StoreError::Storage(s) => MemoryFault::Storage(s),
        }
    }
}

/// Decoded code pages by the home frame of their page.
#[derive(Default)]
pub struct CodeCache {
    pages: FxHashMap<u64, Rc<DecodedPage>>,
}

impl CodeCache {
    /// Whether the page at home frame `home` has a decoded copy.
    pub fn contains(&self, home: u64) -> bool {
        self.pages.contains_key(&home)
    }

    /// The decoded copy of the page at `home`, decoding it if needed.
    /// Returns whether it was newly decoded.
    pub fn get(&mut self, store: &Store, home: u64) -> (Rc<DecodedPage>, bool) {
        if let Some(p) = self.pages.get(&home) {
            return (p.clone(), false);
        }
        if self.pages.len() >= CODE_CACHE_PAGES {
            self.pages.clear();
        }
        let decoded = Rc::new(DecodedPage::decode(&store.read_frame(home)));
        self.pages.insert(home, decoded.clone());
        (decoded, true)
    }

    /// Drops the decoded copy of the page at `home` (its contents changed).
    pub fn invalidate(&mut self, home: u64) -> bool {
        self.pages.remove(&home).is_some()
    }

    /// Drops every decoded page.
    pub fn clear(&mut self) {
        self.pages.clear();
    }
}

/// The memory of one domain, for its interpreter and for string copies.
pub struct DomainMemory<'k> {
    /// The store.
    pub store: &'k mut Store,
    /// Decoded code.
    pub code: &'k mut CodeCache,
    /// Nodes walked by translations (see `segment::translate`).
    pub walked: &'k mut FxHashSet<Cda>,
    /// The domain's memory key (root slot 3).
    pub memory: Key,
    /// Set when the journal page was written: the kernel then appends a
    /// journal record before anything else happens.
    pub journal_written: bool,
    /// Whose writes these are: the domain's own stores may not take the
    /// kernel's margin of the working area (`store::Reserve`).
    pub claim: Claim,
}

impl DomainMemory<'_> {
    fn translate(&mut self, vaddr: u32, access: Access) -> Result<(Cda, u64, bool), MemoryFault> {
        let t = segment::translate(self.store, self.walked, self.memory, vaddr, access)
            .map_err(MemoryFault::Segment)?;
        Ok((t.page, page::home(self.store, t.page), t.writable))
    }

    /// Copies `buf.len()` bytes of guest memory at `vaddr` out.
    pub fn read(&mut self, vaddr: u32, buf: &mut [u8]) -> Result<(), MemoryFault> {
        for_pages(vaddr, buf.len(), Access::Read, |at, range| {
            let (_, home, _) = self.translate(at, Access::Read)?;
            self.store.read(home, (at & 0xFFF) as usize, &mut buf[range]);
            Ok(())
        })
    }

    /// Copies `data` into guest memory at `vaddr`.
    pub fn write(&mut self, vaddr: u32, data: &[u8]) -> Result<(), MemoryFault> {
        for_pages(vaddr, data.len(), Access::Write, |at, range| {
            let (_, home, _) = self.translate(at, Access::Write)?;
            self.store.write_for(home, (at & 0xFFF) as usize, &data[range], self.claim)?;
            self.journal_written |= self.store.is_pinned(home);
            if self.code.invalidate(home) {
                self.store.bump_location_generation();
            }
            Ok(())
        })
    }
}

/// Calls `f(address, range in the buffer)` for each page-sized piece of
/// `len` bytes at `vaddr`. An access that would wrap around the address
/// space faults (code 3) at address 0, the first address past the top.
fn for_pages(
    vaddr: u32,
    len: usize,
    access: Access,
    mut f: impl FnMut(u32, std::ops::Range<usize>) -> Result<(), MemoryFault>,
) -> Result<(), MemoryFault> {
    let mut done = 0usize;
    while done < len {
        let at = u64::from(vaddr) + done as u64;
        if at > u64::from(u32::MAX) {
            return Err(MemoryFault::Segment(SegmentFault {
                code: segment::FaultCode::Outside,
                address: 0,
                access,
                keeper: None,
            }));
        }
        let at = at as u32;
        let chunk = (4096 - (at & 0xFFF) as usize).min(len - done);
        f(at, done..done + chunk)?;
        done += chunk;
    }
    Ok(())
}

impl Mmu for DomainMemory<'_> {
    type Fault = MemoryFault;

    fn fill(&mut self, tlb: &mut DataTlb, vaddr: u32, access: Access) -> Result<bool, MemoryFault> {
        let (_, home, writable) = self.translate(vaddr, access)?;
        // Code pages and the journal page take the slow path for stores.
        let rw = writable && !self.code.contains(home) && !self.store.is_pinned(home);
        let frame = if access == Access::Write && rw {
            self.store.writable_for(home, self.claim)?
        } else {
            self.store.current(home)
        };
        let mapped_rw = rw && self.store.is_working(home);
        let host = self.store.storage().memory().frame_ptr(frame);
        // Safety: `host` is the start of the frame holding the page's current
        // version in the live mapping. A writable entry is made only for a
        // working frame, which the kernel thread owns; every entry is flushed
        // when the store's location generation changes (the frame could then
        // move or be reused) before the domain runs again.
        unsafe { tlb.insert(vaddr, host, mapped_rw) };
        Ok(access != Access::Write || mapped_rw)
    }

    fn code(&mut self, pc: u32) -> Result<Rc<DecodedPage>, MemoryFault> {
        let (_, home, _) = self.translate(pc, Access::Execute)?;
        let (page, fresh) = self.code.get(self.store, home);
        if fresh {
            // Other domains may hold write entries for this page.
            self.store.bump_location_generation();
        }
        Ok(page)
    }

    fn store_slow(&mut self, vaddr: u32, bytes: &[u8]) -> Result<(), MemoryFault> {
        self.write(vaddr, bytes)
    }
}
