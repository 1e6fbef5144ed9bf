//! The device creator: makes device keys valid in the current boot (after
//! a restart every older device key answers KT+3; KeyKOS's "make current
//! key"). The order code is the device class.
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 1 | a console key | rc 0 + key 0 |
//! | KT | alleged type | 0x4009 |

use crate::device::CONSOLE;
use crate::invoke::{Invocation, KT, Message, Outcome};
use crate::kernel::Kernel;
use crate::key::Key;

/// Handles an invocation of the device creator.
pub(super) fn invoke(k: &Kernel, inv: &Invocation) -> Outcome {
    match inv.order() {
        order if order == u32::from(CONSOLE) => {
            Outcome::Reply(Message::code(0).with_key(0, Key::device(CONSOLE, 0, k.restart_stamp)))
        }
        KT => Outcome::code(crate::abi::AKT_DEVICE_CREATOR),
        _ => Outcome::invalid(),
    }
}
