//! Device keys: I/O, rescinded at every restart.
//!
//! A device key carries the restart stamp of the boot it was made in; after
//! a restart it answers KT+3 to everything until a fresh key is made (KeyKOS
//! `Base/sparc_uart.c`). The devices themselves are in `crate::device`.

//!
//! Console keys (class 1):
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0 | read up to n bytes (string: u32 n, default 4096): waits until input arrives | rc 0 + the bytes; rc 1 another domain is reading; rc 2 after a restart |
//! | 1 | write the string to the console | rc 0 |
//! | KT | alleged type | 0x10 |
//!
//! Every order on a key made before the last restart answers KT+3.

use super::{Invocation, KT, MAX_STRING, Message, Outcome, RC_STALE, Wait};
use crate::abi::{AKT_DEVICE, CONSOLE_RC_BUSY, CONSOLE_READ, CONSOLE_WRITE};
use crate::device::CONSOLE;
use crate::kernel::{Kernel, KernelError};

/// Handles an invocation of a device key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    if inv.key.body() != k.restart_stamp {
        return Ok(Outcome::code(RC_STALE));
    }
    if inv.key.subtype() != CONSOLE {
        return Ok(Outcome::invalid());
    }
    Ok(match inv.order() {
        CONSOLE_READ if k.wants_input() => Outcome::code(CONSOLE_RC_BUSY),
        CONSOLE_READ => {
            let wanted = match inv.word(0) {
                0 => MAX_STRING,
                n => (n as usize).min(MAX_STRING),
            };
            if k.console.input.is_empty() {
                Outcome::Later(Wait::Input(wanted as u32))
            } else {
                let n = k.console.input.len().min(wanted);
                let bytes: Vec<u8> = k.console.input.drain(..n).collect();
                Outcome::Reply(Message::code(0).with_string(&bytes))
            }
        }
        CONSOLE_WRITE => {
            k.console.output.extend_from_slice(&inv.message.string);
            Outcome::code(0)
        }
        KT => Outcome::code(AKT_DEVICE),
        _ => Outcome::invalid(),
    })
}
