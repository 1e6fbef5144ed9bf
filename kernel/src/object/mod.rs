//! Pages and nodes: the only two kinds of persistent object.
//!
//! Objects are addressed by CDA and read and written through the
//! [`Store`](crate::store::Store), so every write respects the working-state
//! invariant. Each object carries an **allocation id**; a key is valid only
//! while its allocation id equals the object's. **Severing** an object
//! increments its allocation id, so every existing key to it reads as DK(0)
//! from then on, wherever it is stored: the check is made each time a key is
//! fetched from a node or invoked ([`validate`]).

pub mod node;
pub mod page;

use crate::key::{Cda, Key, KeyType};
use crate::store::{Store, StoreError};

/// Allocation state of one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Created and not destroyed.
    pub allocated: bool,
    /// Current allocation id.
    pub id: u32,
}

/// Whether `cda` names an object inside this image.
pub fn exists(store: &Store, cda: Cda) -> bool {
    let g = &store.layout().geometry;
    if cda.is_node() { cda.number() < g.node_count() } else { cda.number() < g.page_count }
}

/// The allocation state of the object `cda` (which must exist).
pub fn allocation(store: &Store, cda: Cda) -> Allocation {
    if cda.is_node() { node::allocation(store, cda) } else { page::allocation(store, cda) }
}

/// Whether `key` still designates its object: the key type needs an object
/// of the kind its CDA names, and the ids must match (the call id for resume
/// keys). Keys that designate no object are always valid.
pub fn is_current(store: &Store, key: Key) -> bool {
    let kind = key.kind();
    let wants_node = kind.designates_node();
    if !wants_node && kind != KeyType::Page {
        return true;
    }
    let cda = key.cda();
    if cda.is_node() != wants_node || !exists(store, cda) {
        return false;
    }
    let alloc = allocation(store, cda);
    if !alloc.allocated {
        return false;
    }
    if kind == KeyType::Resume {
        node::header(store, cda).call_id == key.allocation_id()
    } else {
        alloc.id == key.allocation_id()
    }
}

/// The key as a holder sees it: itself if current, DK(0) if obsolete.
pub fn validate(store: &Store, key: Key) -> Key {
    if is_current(store, key) { key } else { Key::NULL }
}

/// Marks `cda` allocated (if it is not) and returns its allocation id.
pub fn create(store: &mut Store, cda: Cda) -> Result<u32, StoreError> {
    let alloc = allocation(store, cda);
    if !alloc.allocated {
        set_allocation(store, cda, Allocation { allocated: true, id: alloc.id })?;
    }
    Ok(alloc.id)
}

/// Severs `cda`: every existing key to it becomes obsolete. With `destroy`,
/// also clears its contents and marks it free.
pub fn sever(store: &mut Store, cda: Cda, destroy: bool) -> Result<u32, StoreError> {
    let alloc = allocation(store, cda);
    let id = next_allocation_id(cda, alloc.id);
    set_allocation(store, cda, Allocation { allocated: alloc.allocated && !destroy, id })?;
    if destroy {
        clear(store, cda)?;
    }
    Ok(id)
}

/// Zeroes a page's bytes, or sets every slot of a node to DK(0).
pub fn clear(store: &mut Store, cda: Cda) -> Result<(), StoreError> {
    if cda.is_node() { node::clear(store, cda) } else { page::clear(store, cda) }
}

fn set_allocation(store: &mut Store, cda: Cda, alloc: Allocation) -> Result<(), StoreError> {
    if cda.is_node() {
        node::set_allocation(store, cda, alloc)
    } else {
        page::set_allocation(store, cda, alloc)
    }
}

/// The id after `id`: page ids have 31 bits (bit 31 of the pot entry is the
/// allocated bit), node ids 32. An id repeats only after 2^31 (2^32) severs
/// of the same object, as in KeyKOS.
fn next_allocation_id(cda: Cda, id: u32) -> u32 {
    if cda.is_node() { id.wrapping_add(1) } else { (id + 1) & disk_image::pots::PAGE_ALLOCATION_ID_MASK }
}
