//! Byte layouts of the self-checking home frames: node pots, allocation pots
//! and checksum pots. Each ends with a 4-byte seal (see [`crate::frame`]) over
//! the rest of the frame, so an all-zero pot is valid and means "every node
//! or page in it is new".
//!
//! **Node pot**: 15 nodes of 272 bytes, then 12 reserved bytes, then the seal.
//!
//! | offset in node | size | field |
//! |---:|---:|---|
//! | 0 | 4 | allocation id |
//! | 4 | 4 | call id (resume keys carry it) |
//! | 8 | 4 | flags: bit 0 = process bit, bit 1 = allocated |
//! | 12 | 4 | reserved, zero |
//! | 16 | 16 × 16 | the 16 key slots |
//!
//! **Allocation pot**: 1023 little-endian `u32` entries, one per page, then
//! the seal. Bit 31 of an entry is the allocated bit, bits 0..31 the page's
//! allocation id. **Checksum pot**: 1023 little-endian `u32` sealed checksums
//! of pages' home frames (0 = all zero), then the seal.

use crate::layout::NODES_PER_POT;

/// Bytes one node takes in a pot.
pub const NODE_BYTES: usize = 272;
/// Bytes of one key in a node.
pub const KEY_BYTES: usize = 16;
/// Key slots in a node.
pub const SLOTS: usize = 16;
/// Offset of the allocation id within a node.
pub const NODE_ALLOCATION_ID: usize = 0;
/// Offset of the call id within a node.
pub const NODE_CALL_ID: usize = 4;
/// Offset of the flags within a node.
pub const NODE_FLAGS: usize = 8;
/// Offset of slot 0 within a node.
pub const NODE_SLOTS: usize = 16;
/// Node flag: the node is the root of a domain that should be running.
pub const FLAG_PROCESS: u32 = 1;
/// Node flag: the node has been created (by a node range key) and not destroyed.
pub const FLAG_ALLOCATED: u32 = 2;
/// Allocation-pot entry bit: the page has been created and not destroyed.
pub const PAGE_ALLOCATED: u32 = 1 << 31;
/// Allocation-pot entry bits holding the allocation id.
pub const PAGE_ALLOCATION_ID_MASK: u32 = PAGE_ALLOCATED - 1;

const _: () = assert!(NODE_BYTES * NODES_PER_POT as usize <= 4092);
const _: () = assert!(NODE_SLOTS + SLOTS * KEY_BYTES == NODE_BYTES);

/// Offset of node `index` (0..15) within its pot.
pub fn node_offset(index: usize) -> usize {
    debug_assert!(index < NODES_PER_POT as usize, "POTS001 node index {index}");
    index * NODE_BYTES
}

/// Offset of key slot `slot` of node `index` within its pot.
pub fn slot_offset(index: usize, slot: usize) -> usize {
    debug_assert!(slot < SLOTS, "POTS002 slot {slot}");
    node_offset(index) + NODE_SLOTS + slot * KEY_BYTES
}

/// Offset of entry `index` (0..1023) within an allocation or checksum pot.
pub fn entry_offset(index: usize) -> usize {
    debug_assert!(index < crate::layout::PAGES_PER_POT as usize, "POTS003 entry {index}");
    index * 4
}
