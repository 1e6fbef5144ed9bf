//! Discrim: classifies and compares keys without using them (KeyKOS
//! `Dom/include/discrim.h`).
//!
//! | order | effect | rc |
//! |---|---|---|
//! | 0 | classify key 0 | 1 data (also obsolete), 2 resume, 3 memory (page, segment, node, sense), 4 meter, 5 other (fetch, start, domain, misc, ranges, devices) |
//! | 1 | is key 0 discreet: a read-only no-call segment key, a read-only page key or a sense key? | 0 yes, 1 no (data and misc keys too: a factory accepts those itself) |
//! | 2 | are keys 0 and 1 the same key? | 0 yes, 1 no |
//! | KT | alleged type | 0x409 |

use crate::abi::*;
use crate::invoke::{Invocation, KT, Outcome};
use crate::key::{Key, KeyType, MemoryFlags};

/// Discrim's classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Data keys and obsolete keys.
    Data = DISCRIM_CLASS_DATA as isize,
    /// Resume keys.
    Resume = DISCRIM_CLASS_RESUME as isize,
    /// Memory keys.
    Memory = DISCRIM_CLASS_MEMORY as isize,
    /// Meter keys.
    Meter = DISCRIM_CLASS_METER as isize,
    /// Everything else.
    Other = DISCRIM_CLASS_OTHER as isize,
}

/// The class of a (validated) key.
pub fn classify(key: Key) -> Class {
    match key.kind() {
        KeyType::Data => Class::Data,
        KeyType::Resume => Class::Resume,
        KeyType::Page | KeyType::Segment | KeyType::Node | KeyType::Sense => Class::Memory,
        KeyType::Meter => Class::Meter,
        _ => Class::Other,
    }
}

/// Handles an invocation of discrim.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    let key = inv.key_arg(0);
    match inv.order() {
        DISCRIM_CLASSIFY => Outcome::code(classify(key) as u32),
        DISCRIM_DISCREET => Outcome::code(u32::from(!discreet(key))),
        DISCRIM_COMPARE => Outcome::code(u32::from(key != inv.key_arg(1))),
        KT => Outcome::code(AKT_DISCRIM),
        _ => Outcome::invalid(),
    }
}

/// Whether `key` is discreet as KeyKOS's discrim tells it (`Base/jmiscc.c`):
/// a sensory memory key, which can read but neither change nor call
/// anything. Keys that are discreet for other reasons (data keys, the
/// returner, discrim, the data-key creator) are the factory's to accept.
fn discreet(key: Key) -> bool {
    let flags = key.memory_flags();
    match key.kind() {
        KeyType::Segment => flags.contains(MemoryFlags::READ_ONLY | MemoryFlags::NO_CALL),
        KeyType::Page => flags.contains(MemoryFlags::READ_ONLY),
        KeyType::Sense => true,
        _ => false,
    }
}
