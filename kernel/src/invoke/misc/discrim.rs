//! Discrim: classifies and compares keys without using them (KeyKOS
//! `Dom/include/discrim.h`).
//!
//! | order | effect | rc |
//! |---|---|---|
//! | 0 | classify key 0 | 1 data (also obsolete), 2 resume, 3 memory (page, segment, node, fetch, sense), 4 meter, 5 other |
//! | 1 | is key 0 discreet: its own sensory form, so it cannot change anything? | 0 yes, 1 no |
//! | 2 | are keys 0 and 1 the same key? | 0 yes, 1 no |
//! | KT | alleged type | 0x409 |

use crate::abi::*;
use crate::invoke::sense::sensory;
use crate::invoke::{Invocation, KT, Outcome};
use crate::key::{Key, KeyType};

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
        KeyType::Page | KeyType::Segment | KeyType::Node | KeyType::Fetch | KeyType::Sense => Class::Memory,
        KeyType::Meter => Class::Meter,
        _ => Class::Other,
    }
}

/// Handles an invocation of discrim.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    let key = inv.key_arg(0);
    match inv.order() {
        DISCRIM_CLASSIFY => Outcome::code(classify(key) as u32),
        DISCRIM_DISCREET => Outcome::code(u32::from(sensory(key) != key)),
        DISCRIM_COMPARE => Outcome::code(u32::from(key != inv.key_arg(1))),
        KT => Outcome::code(AKT_DISCRIM),
        _ => Outcome::invalid(),
    }
}
