//! The system timer (KeyKOS misc 50).
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 7 | read system time | rc 0 + 8-byte little-endian ns |
//! | KT | alleged type | 0x509 |

use crate::invoke::{Invocation, KT, Message, Outcome};
use crate::kernel::Kernel;

/// Order code: read the system time.
pub const READ: u32 = crate::abi::TIMER_READ;

/// Handles an invocation of the system timer.
pub(super) fn invoke(k: &Kernel, inv: &Invocation) -> Outcome {
    match inv.order() {
        READ => Outcome::Reply(Message::code(0).with_string(&k.clock.now_ns().to_le_bytes())),
        KT => Outcome::code(crate::abi::AKT_TIMER),
        _ => Outcome::invalid(),
    }
}
