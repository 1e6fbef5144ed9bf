//! The data-key creator: makes data keys from strings (KeyKOS
//! `Base/jmiscc.c`).
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0 | DK(n), n = the string as a little-endian u64 | rc 0 + key 0 |
//! | 1 | a data key holding bytes 5..16 of a 16-byte string | rc 0 + key 0; rc 1 if bytes 0..5 were not zero (ignored) |
//! | KT | alleged type | 0x309 |

use crate::abi::{AKT_DATA_KEY_CREATOR, DKC_FROM_IMAGE, DKC_FROM_U64};
use crate::invoke::{Invocation, KT, Message, Outcome};
use crate::key::Key;

/// Handles an invocation of the data-key creator.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    match inv.order() {
        DKC_FROM_U64 => Outcome::Reply(Message::code(0).with_key(0, Key::data(inv.dword(0)))),
        DKC_FROM_IMAGE => {
            let image = inv.bytes::<16>();
            let body: [u8; 11] = image[5..].try_into().expect("11 bytes");
            let rc = u32::from(image[..5] != [0; 5]);
            Outcome::Reply(Message::code(rc).with_key(0, Key::data_bytes(body)))
        }
        KT => Outcome::code(AKT_DATA_KEY_CREATOR),
        _ => Outcome::invalid(),
    }
}
