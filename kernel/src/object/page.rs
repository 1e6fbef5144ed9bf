//! Pages: 4096 bytes of data at the page's home frame (or a newer version),
//! with an allocation id in the page's allocation pot.

use disk_image::FRAME_SIZE;
use disk_image::frame::{read_u32, write_u32};
use disk_image::pots::{self, PAGE_ALLOCATED, PAGE_ALLOCATION_ID_MASK};

use super::Allocation;
use crate::key::Cda;
use crate::store::{Store, StoreError};

/// Bytes in a page.
pub const PAGE_SIZE: usize = FRAME_SIZE;

/// Home frame of page `cda`.
pub fn home(store: &Store, cda: Cda) -> u64 {
    debug_assert!(!cda.is_node(), "PAGE001 {cda} is not a page");
    store.layout().page_frame(cda.number())
}

fn allocation_place(store: &Store, cda: Cda) -> (u64, usize) {
    let (frame, index) = store.layout().allocation_place(cda.number());
    (frame, pots::entry_offset(index))
}

/// Allocation state of the page.
pub fn allocation(store: &Store, cda: Cda) -> Allocation {
    let (frame, at) = allocation_place(store, cda);
    let mut b = [0u8; 4];
    store.read(frame, at, &mut b);
    let entry = read_u32(&b, 0);
    Allocation { allocated: entry & PAGE_ALLOCATED != 0, id: entry & PAGE_ALLOCATION_ID_MASK }
}

/// Sets the page's allocation state.
pub fn set_allocation(store: &mut Store, cda: Cda, alloc: Allocation) -> Result<(), StoreError> {
    let (frame, at) = allocation_place(store, cda);
    let mut b = [0u8; 4];
    let flag = if alloc.allocated { PAGE_ALLOCATED } else { 0 };
    write_u32(&mut b, 0, (alloc.id & PAGE_ALLOCATION_ID_MASK) | flag);
    store.write(frame, at, &b)
}

/// Copies bytes of the page at `offset`.
pub fn read(store: &Store, cda: Cda, offset: usize, buf: &mut [u8]) {
    store.read(home(store, cda), offset, buf);
}

/// Writes bytes into the page at `offset`.
pub fn write(store: &mut Store, cda: Cda, offset: usize, data: &[u8]) -> Result<(), StoreError> {
    let frame = home(store, cda);
    store.write(frame, offset, data)
}

/// Zeroes the page.
pub fn clear(store: &mut Store, cda: Cda) -> Result<(), StoreError> {
    write(store, cda, 0, &[0u8; PAGE_SIZE])
}

/// Whether every byte of the page is zero.
pub fn is_zero(store: &Store, cda: Cda) -> bool {
    store.read_frame(home(store, cda)).iter().all(|&b| b == 0)
}
