//! BWAIT timer objects (KeyKOS misc 12, `Base/timec.c`): one waiter each,
//! not checkpointed. At restart every wake-up time is reset, so waiters
//! return early. The object's index is in the key.
//!
//! | order | effect | rc |
//! |---|---|---|
//! | 1 | set the wake-up time (string: system time, little-endian u64 ns) | 0 |
//! | 0 | wait until the system time reaches the wake-up time | 0 (at once if it has); 1 if another domain is waiting |
//! | KT | alleged type | 0x0C09 |

use crate::abi::{AKT_BWAIT, BWAIT_RC_BUSY, BWAIT_SET, BWAIT_WAIT};
use crate::invoke::{Invocation, KT, Outcome, Wait};
use crate::kernel::Kernel;
use crate::wait::BWAIT_OBJECTS;

/// Handles an invocation of a BWAIT key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Outcome {
    let index = inv.key.allocation_id();
    if index as usize >= BWAIT_OBJECTS {
        return Outcome::invalid();
    }
    match inv.order() {
        BWAIT_SET => {
            k.bwait[index as usize] = inv.dword(0);
            Outcome::code(0)
        }
        BWAIT_WAIT if k.timer_has_waiter(index) => Outcome::code(BWAIT_RC_BUSY),
        BWAIT_WAIT if k.bwait[index as usize] <= k.clock.now_ns() => Outcome::code(0),
        BWAIT_WAIT => Outcome::Later(Wait::Timer(index)),
        KT => Outcome::code(AKT_BWAIT),
        _ => Outcome::invalid(),
    }
}
