//! The error key: a domain reports that something is badly wrong with it.
//! The invoker traps with trap code 9 and the order code as detail, its pc
//! after the `ecall` (its keeper hears of it like any trap, waiting for the
//! keeper if it is busy), and the string it passed is logged (KeyKOS:
//! "emergency, crashes/logs with caller's program name"). Its alleged type
//! (order KT) is 0x1609.

use crate::invoke::{Invocation, KT, Outcome};
use crate::trap;

/// Handles an invocation of the error key.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    if inv.order() == KT {
        return Outcome::code(0x1609);
    }
    tracing::warn!(domain = %inv.invoker, code = inv.order(), text = %String::from_utf8_lossy(&inv.message.string), "error key invoked");
    Outcome::Trap { code: trap::ERROR_KEY, detail: inv.order() }
}
