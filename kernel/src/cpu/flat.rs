//! A flat memory for running the interpreter alone: every page of a fixed
//! range is readable, writable and executable, with no segments and no
//! image. Benchmarks and the instruction conformance tests use it.

use std::collections::HashMap;
use std::rc::Rc;

use super::code::DecodedPage;
use super::tlb::DataTlb;
use super::{Access, Mmu};

/// A fault in flat memory: the address is outside the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// The address.
    pub address: u32,
}

/// `size` bytes of memory at guest address `base`.
pub struct FlatMemory {
    base: u32,
    bytes: Vec<u8>,
    decoded: HashMap<u32, Rc<DecodedPage>>,
}

impl FlatMemory {
    /// Zeroed memory of `pages` pages at `base` (page aligned).
    pub fn new(base: u32, pages: usize) -> FlatMemory {
        assert_eq!(base & 0xFFF, 0, "FLAT001 base not page aligned");
        FlatMemory { base, bytes: vec![0; pages * 4096], decoded: HashMap::new() }
    }

    /// Copies `data` in at guest address `at`.
    pub fn load(&mut self, at: u32, data: &[u8]) {
        let start = (at - self.base) as usize;
        self.bytes[start..start + data.len()].copy_from_slice(data);
        self.decoded.clear();
    }

    /// Copies `len` bytes out from guest address `at`.
    pub fn read(&self, at: u32, len: usize) -> &[u8] {
        let start = (at - self.base) as usize;
        &self.bytes[start..start + len]
    }

    fn page_index(&self, vaddr: u32) -> Result<usize, OutOfRange> {
        let offset = vaddr.wrapping_sub(self.base) as usize;
        if offset < self.bytes.len() { Ok(offset / 4096) } else { Err(OutOfRange { address: vaddr }) }
    }
}

impl Mmu for FlatMemory {
    type Fault = OutOfRange;

    fn fill(&mut self, tlb: &mut DataTlb, vaddr: u32, access: Access) -> Result<bool, OutOfRange> {
        let page = self.page_index(vaddr)?;
        let is_code = self.decoded.contains_key(&(page as u32));
        let host = self.bytes[page * 4096..].as_mut_ptr();
        // Safety: `host` is the start of a 4 KiB page of `self.bytes`, which
        // is never reallocated; the TLB is flushed by its owner before the
        // memory is dropped (both live in one test or benchmark).
        unsafe { tlb.insert(vaddr, host, !is_code) };
        Ok(access != Access::Write || !is_code)
    }

    fn code(&mut self, pc: u32) -> Result<Rc<DecodedPage>, OutOfRange> {
        let page = self.page_index(pc)?;
        let bytes: &[u8; 4096] = self.bytes[page * 4096..][..4096].try_into().expect("page");
        Ok(self.decoded.entry(page as u32).or_insert_with(|| Rc::new(DecodedPage::decode(bytes))).clone())
    }

    fn store_slow(&mut self, vaddr: u32, data: &[u8]) -> Result<(), OutOfRange> {
        let page = self.page_index(vaddr)?;
        let at = (vaddr - self.base) as usize;
        self.bytes[at..at + data.len()].copy_from_slice(data);
        self.decoded.remove(&(page as u32));
        Ok(())
    }
}
