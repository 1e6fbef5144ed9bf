//! Keybits: the 16-byte encoding of key 0 (KeyKOS returns 4 zero bytes and
//! the 12-byte disk form; ours is the 16-byte form of design.md §Key).
//! Obsolete keys show as DK(0), since the gate validated them.
//!
//! | order | reply |
//! |---|---|
//! | 0 | rc 0 + the 16 bytes |
//! | KT | 0x209 |
//! | any other | KT+2 |

use crate::invoke::{Invocation, KT, Message, Outcome};

/// Handles an invocation of keybits.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    match inv.order() {
        crate::abi::KEYBITS_GET => Outcome::Reply(Message::code(0).with_string(&inv.key_arg(0).to_bytes())),
        KT => Outcome::code(crate::abi::AKT_KEYBITS),
        _ => Outcome::invalid(),
    }
}
