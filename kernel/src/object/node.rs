//! Nodes: 16 key slots, an allocation id, a call id and flags, in node pots.

use disk_image::frame::{read_u32, write_u32};
use disk_image::pots::{self, FLAG_ALLOCATED};

use super::Allocation;
use crate::key::{Cda, KEY_BYTES, Key};
use crate::store::{Store, StoreError};

/// Key slots in a node.
pub const SLOTS: usize = pots::SLOTS;

/// The non-key fields of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeHeader {
    /// Allocation id: keys to the node carry it.
    pub allocation_id: u32,
    /// Call id: resume keys to a domain rooted here carry it.
    pub call_id: u32,
    /// Flags: process bit, allocated bit.
    pub flags: u32,
}

/// Home frame of the pot holding node `cda` and the node's offset in it.
pub fn place(store: &Store, cda: Cda) -> (u64, usize) {
    debug_assert!(cda.is_node(), "NODE001 {cda} is not a node");
    let (frame, index) = store.layout().node_place(cda.number());
    (frame, pots::node_offset(index))
}

/// The node's header fields.
pub fn header(store: &Store, cda: Cda) -> NodeHeader {
    let (frame, at) = place(store, cda);
    let mut b = [0u8; 12];
    store.read(frame, at, &mut b);
    NodeHeader { allocation_id: read_u32(&b, 0), call_id: read_u32(&b, 4), flags: read_u32(&b, 8) }
}

/// Rewrites the node's header fields.
pub fn set_header(store: &mut Store, cda: Cda, h: NodeHeader) -> Result<(), StoreError> {
    let (frame, at) = place(store, cda);
    let mut b = [0u8; 12];
    write_u32(&mut b, 0, h.allocation_id);
    write_u32(&mut b, 4, h.call_id);
    write_u32(&mut b, 8, h.flags);
    store.write(frame, at, &b)
}

/// Allocation state of the node.
pub fn allocation(store: &Store, cda: Cda) -> Allocation {
    let h = header(store, cda);
    Allocation { allocated: h.flags & FLAG_ALLOCATED != 0, id: h.allocation_id }
}

/// Sets the node's allocation state.
pub fn set_allocation(store: &mut Store, cda: Cda, alloc: Allocation) -> Result<(), StoreError> {
    let mut h = header(store, cda);
    h.allocation_id = alloc.id;
    h.flags = if alloc.allocated { h.flags | FLAG_ALLOCATED } else { h.flags & !FLAG_ALLOCATED };
    set_header(store, cda, h)
}

/// The key in `slot`, exactly as stored (not validated).
pub fn slot(store: &Store, cda: Cda, slot: usize) -> Key {
    let (frame, at) = place(store, cda);
    let mut b = [0u8; KEY_BYTES];
    store.read(frame, at + pots::NODE_SLOTS + slot * KEY_BYTES, &mut b);
    Key::from_bytes(b)
}

/// All 16 keys, exactly as stored.
pub fn slots(store: &Store, cda: Cda) -> [Key; SLOTS] {
    let (frame, at) = place(store, cda);
    let mut b = [0u8; SLOTS * KEY_BYTES];
    store.read(frame, at + pots::NODE_SLOTS, &mut b);
    std::array::from_fn(|i| Key::from_bytes(b[i * KEY_BYTES..][..KEY_BYTES].try_into().expect("16 bytes")))
}

/// Stores `key` in `slot`.
pub fn set_slot(store: &mut Store, cda: Cda, slot: usize, key: Key) -> Result<(), StoreError> {
    debug_assert!(slot < SLOTS, "NODE002 slot {slot}");
    let (frame, at) = place(store, cda);
    store.write(frame, at + pots::NODE_SLOTS + slot * KEY_BYTES, &key.to_bytes())
}

/// Stores all 16 keys.
pub fn set_slots(store: &mut Store, cda: Cda, keys: &[Key; SLOTS]) -> Result<(), StoreError> {
    let (frame, at) = place(store, cda);
    let mut b = [0u8; SLOTS * KEY_BYTES];
    for (i, k) in keys.iter().enumerate() {
        b[i * KEY_BYTES..][..KEY_BYTES].copy_from_slice(&k.to_bytes());
    }
    store.write(frame, at + pots::NODE_SLOTS, &b)
}

/// Sets every slot to DK(0).
pub fn clear(store: &mut Store, cda: Cda) -> Result<(), StoreError> {
    set_slots(store, cda, &[Key::NULL; SLOTS])
}
