//! Sense keys: read-only node access whose fetched keys are weakened to
//! their sensory form (KeyKOS `Base/jsensec.c`), so a sense key can never
//! yield more authority than observation.
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0..=15 | fetch slot n, made sensory | key 0 |
//! | 40 | the databyte | rc = databyte |
//! | KT | alleged type | 1 |
//!
//! Sensory forms: a page key becomes read-only; a segment key read-only and
//! no-call; a node, fetch or sense key becomes a sense key (read-only,
//! no-call); data keys and the returner, discrim and data-key-creator misc
//! keys are unchanged; every other key becomes DK(0).

use super::{Invocation, KT, Message, Outcome, node};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Key, KeyType, MemoryFlags, MiscKind};
use crate::object;

/// Handles an invocation of a sense key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    match inv.order() {
        slot @ 0..=15 => {
            let raw = k.read_slot(inv.key.cda(), slot as usize)?;
            let fetched = object::validate(&k.store, raw);
            Ok(Outcome::Reply(Message::code(0).with_key(0, sensory(fetched))))
        }
        node::DATABYTE => Ok(Outcome::code(u32::from(inv.key.databyte()))),
        KT => Ok(Outcome::code(crate::abi::AKT_SENSE)),
        _ => Ok(Outcome::invalid()),
    }
}

/// The sensory (observe-only) form of a key.
pub fn sensory(key: Key) -> Key {
    let weak = MemoryFlags::READ_ONLY | MemoryFlags::NO_CALL;
    match key.kind() {
        KeyType::Data => key,
        KeyType::Page => key.with_databyte(key.databyte() | MemoryFlags::READ_ONLY.bits()),
        KeyType::Segment => key.with_databyte(key.databyte() | weak.bits()),
        KeyType::Node | KeyType::Fetch | KeyType::Sense => {
            key.with_type(KeyType::Sense).with_databyte(key.databyte() | weak.bits())
        }
        KeyType::Misc => match key.misc_kind() {
            Some(MiscKind::Returner | MiscKind::Discrim | MiscKind::DataKeyCreator) => key,
            _ => Key::NULL,
        },
        _ => Key::NULL,
    }
}
