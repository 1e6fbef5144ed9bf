//! The checkpoint key (KeyKOS misc 18, `Base/jckptc.c`). The string is a
//! system time T (little-endian u64, ns).
//!
//! | order | effect | rc |
//! |---|---|---|
//! | 0 | wait until a checkpoint at or after T is committed | 0 at once if the newest is; 1 if T is in the future; else 0 when it commits |
//! | 1 | as 0, but take a checkpoint now rather than wait for one | as 0 |
//! | KT | alleged type | 0x1209 |
//!
//! After a restart, a waiter is answered rc 2 (`wait::RC_RESTARTED`).

use crate::abi::{AKT_CHECKPOINT, CKPT_RC_FUTURE, CKPT_TAKE, CKPT_WAIT};
use crate::invoke::{Invocation, KT, Outcome, Wait};
use crate::kernel::Kernel;

/// Handles an invocation of the checkpoint key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Outcome {
    let t = inv.dword(0);
    match inv.order() {
        order @ (CKPT_WAIT | CKPT_TAKE) => {
            if k.checkpoints.header.checkpoint_time_ns >= t {
                return Outcome::code(0);
            }
            if t > k.clock.now_ns() {
                return Outcome::code(CKPT_RC_FUTURE);
            }
            if order == CKPT_TAKE {
                k.request_checkpoint();
            }
            Outcome::Later(Wait::Checkpoint { after: t })
        }
        KT => Outcome::code(AKT_CHECKPOINT),
        _ => Outcome::invalid(),
    }
}
