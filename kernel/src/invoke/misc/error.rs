//! The error key: a domain reports that something is badly wrong with it.
//! The invoker traps with trap code 9 (its keeper hears of it), and the
//! string it passed is logged (KeyKOS: "emergency, crashes/logs with
//! caller's program name"). Its alleged type (order KT) is 0x1609.

use crate::invoke::{Invocation, KT, Outcome};
use crate::kernel::{Kernel, KernelError};
use crate::trap;

/// Handles an invocation of the error key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    if inv.order() == KT {
        return Ok(Outcome::code(0x1609));
    }
    tracing::warn!(domain = %inv.invoker, code = inv.order(), text = %String::from_utf8_lossy(&inv.message.string), "error key invoked");
    k.set_trap(inv.invoker, trap::ERROR_KEY, inv.order())?;
    Ok(Outcome::Done)
}
