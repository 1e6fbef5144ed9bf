//! Segment keys (KeyKOS `Base/jsegmntc.c`).
//!
//! Invoking a segment key to a red node that names a keeper, with no-call
//! off, is an invocation of the keeper: the message goes to the key in the
//! keeper slot with key 2 replaced by a node key to the segment node, so a
//! red segment with a keeper is also a front end to a domain. Any other
//! segment key answers only its alleged type.
//!
//! | order | reply |
//! |---|---|
//! | KT | 0x05 + lss·256, + 0x1000 when read-only |

use super::{Invocation, Jump, KT, Message, Outcome, perform};
use crate::abi;
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType, MemoryFlags};
use crate::object::{self, node};
use crate::store::Store;

/// The keeper a segment key's invocation goes to, if any.
pub(super) fn keeper(store: &Store, key: Key) -> Option<Key> {
    if key.lss() != 0 || key.memory_flags().contains(MemoryFlags::NO_CALL) {
        return None;
    }
    let format = node::slot(store, key.cda(), 15);
    if format.kind() != KeyType::Data || format.data_value() >> 16 != 0 {
        return None;
    }
    let slot = ((format.data_value() >> 8) & 0xF) as usize;
    (slot != 15).then(|| object::validate(store, node::slot(store, key.cda(), slot)))
}

/// Whether invoking `key` is forwarded to a segment keeper.
pub(super) fn forwards(store: &Store, key: Key) -> bool {
    super::front_end_domain(store, key).is_some()
}

/// Forwards the invocation of `key` to its segment keeper.
pub(super) fn forward(
    k: &mut Kernel,
    invoker: Cda,
    jump: Jump,
    key: Key,
    message: Message,
) -> Result<(), KernelError> {
    let keeper = keeper(&k.store, key).expect("SEGMENT001 forward without keeper");
    let node_key = Key::object(KeyType::Node, key.cda(), key.allocation_id(), 0);
    let mut message = message;
    message.keys[2] = node_key;
    message.key_mask |= 4;
    perform(k, invoker, jump, keeper, message)
}

/// Handles an invocation of a segment key that is not forwarded.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    if inv.order() != KT {
        return Outcome::invalid();
    }
    let read_only = if inv.key.memory_flags().contains(MemoryFlags::READ_ONLY) {
        abi::AKT_PAGE_RO - abi::AKT_PAGE
    } else {
        0
    };
    Outcome::code(abi::AKT_SEGMENT + (u32::from(inv.key.lss()) << 8) + read_only)
}
