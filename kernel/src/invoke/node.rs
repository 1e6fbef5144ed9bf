//! Node keys: full authority over a node (KeyKOS `Base/jnodec.c`).
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0..=15 | fetch slot n | rc 0, key 0 = the key (DK(0) if obsolete) |
//! | 16..=31 | swap slot n − 16 with key 0 | rc 0, key 0 = the old key |
//! | 32 | make a fetch key, databyte = string byte 0 | key 0 |
//! | 33 | make a segment key, databyte = string byte 0 | key 0 |
//! | 34 | make a meter key | key 0 |
//! | 35 | make a node key, databyte = string byte 0 | key 0 |
//! | 36 | make a sense key (read-only, no-call) | key 0 |
//! | 38 | compare: does key 0 designate this node? | rc 0 yes, 1 no |
//! | 39 | clear: every slot DK(0) | rc 0 |
//! | 40 | the databyte | rc = databyte |
//! | 45 | write data keys: string = first (u32), last (u32), then 16-byte values | rc 0; 1 bad range; 2 a value's first 5 bytes were not zero (they are ignored) |
//! | KT | alleged type | 3 |
//!
//! Order 37 (front-end keys) is not provided: a red segment key with a
//! keeper already acts as a gate to its keeper.

use super::{Invocation, KT, Message, Outcome};
use crate::abi;
use crate::kernel::{Kernel, KernelError};
use crate::key::{Key, KeyType, MemoryFlags};
use crate::object;

/// Order code base: fetch slot n.
pub const FETCH: u32 = abi::NODE_FETCH;
/// Order code base: swap slot n.
pub const SWAP: u32 = abi::NODE_SWAP;
/// Order code: make a fetch key.
pub const MAKE_FETCH: u32 = abi::NODE_MAKE_FETCH;
/// Order code: make a segment key.
pub const MAKE_SEGMENT: u32 = abi::NODE_MAKE_SEGMENT;
/// Order code: make a meter key.
pub const MAKE_METER: u32 = abi::NODE_MAKE_METER;
/// Order code: make a node key.
pub const MAKE_NODE: u32 = abi::NODE_MAKE_NODE;
/// Order code: make a sense key.
pub const MAKE_SENSE: u32 = abi::NODE_MAKE_SENSE;
/// Order code: compare.
pub const COMPARE: u32 = abi::NODE_COMPARE;
/// Order code: clear.
pub const CLEAR: u32 = abi::NODE_CLEAR;
/// Order code: databyte.
pub const DATABYTE: u32 = abi::NODE_DATABYTE;
/// Order code: write data keys.
pub const WRITE_DATA: u32 = abi::NODE_WRITE_DATA;

/// Handles an invocation of a node key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let key = inv.key;
    let node = key.cda();
    let order = inv.order();
    let made = |kind: KeyType, databyte: u8| {
        Ok(Outcome::Reply(Message::code(0).with_key(0, key.with_type(kind).with_databyte(databyte))))
    };
    let string_byte = inv.bytes::<1>()[0];
    match order {
        FETCH..=15 => fetch(k, inv),
        SWAP..=31 => {
            let slot = (order - SWAP) as usize;
            let raw = k.read_slot(node, slot)?;
            let old = object::validate(&k.store, raw);
            k.write_slot(node, slot, inv.key_arg(0))?;
            Ok(Outcome::Reply(Message::code(0).with_key(0, old)))
        }
        MAKE_FETCH => made(KeyType::Fetch, string_byte),
        MAKE_SEGMENT => made(KeyType::Segment, string_byte),
        MAKE_METER => made(KeyType::Meter, 0),
        MAKE_NODE => made(KeyType::Node, string_byte),
        MAKE_SENSE => {
            made(KeyType::Sense, key.databyte() | (MemoryFlags::READ_ONLY | MemoryFlags::NO_CALL).bits())
        }
        COMPARE => Ok(Outcome::code(u32::from(!designates_node(inv.key_arg(0), node)))),
        CLEAR => {
            for slot in 0..16 {
                k.write_slot(node, slot, Key::NULL)?;
            }
            Ok(Outcome::code(0))
        }
        DATABYTE => Ok(Outcome::code(u32::from(key.databyte()))),
        WRITE_DATA => write_data(k, inv),
        KT => Ok(Outcome::code(abi::AKT_NODE)),
        _ => Ok(Outcome::invalid()),
    }
}

/// Fetches slot `order` (0..=15) of the invoked node-type key's node.
pub(super) fn fetch(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let raw = k.read_slot(inv.key.cda(), inv.order() as usize)?;
    let fetched = object::validate(&k.store, raw);
    Ok(Outcome::Reply(Message::code(0).with_key(0, fetched)))
}

/// Whether `key` is a key of node type (node, fetch, segment, meter, sense)
/// to `node`.
pub(super) fn designates_node(key: Key, node: crate::key::Cda) -> bool {
    matches!(key.kind(), KeyType::Node | KeyType::Fetch | KeyType::Segment | KeyType::Meter | KeyType::Sense)
        && key.cda() == node
}

fn write_data(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let (first, last) = (inv.word(0) as usize, inv.word(4) as usize);
    if first > 15 || last > 15 || first > last {
        return Ok(Outcome::code(abi::NODE_RC_BAD_RANGE));
    }
    let mut rc = abi::RC_OK;
    for (i, slot) in (first..=last).enumerate() {
        let value: [u8; 16] =
            std::array::from_fn(|b| inv.message.string.get(8 + 16 * i + b).copied().unwrap_or(0));
        if value[..5] != [0; 5] {
            rc = abi::NODE_RC_HIGH_BYTES;
        }
        let body: [u8; 11] = value[5..].try_into().expect("11 bytes");
        k.write_slot(inv.key.cda(), slot, Key::data_bytes(body))?;
    }
    Ok(Outcome::code(rc))
}
