//! The journalize page key (KeyKOS misc 28, [G-55]): makes a page's current
//! contents survive a restart, as the next checkpoint would, without
//! waiting for it. Key 0 is the page.
//!
//! | order | effect | rc |
//! |---|---|---|
//! | 0 | journalize key 0's page | 0; 1 the page did not exist in the last checkpoint (not preserved); 5 the journal is full until the next checkpoint; KT+2 key 0 is not a read-write page key |
//! | KT | alleged type | 0x1C09 |

use crate::invoke::{Invocation, KT, Outcome, RC_INVALID};
use crate::kernel::{Kernel, KernelError};
use crate::key::{KeyType, MemoryFlags};
use crate::object::{self, page};

/// Return code: the page was created after the last checkpoint.
pub const RC_NEW_PAGE: u32 = crate::abi::JOURNALIZE_RC_NEW_PAGE;
/// Return code: no journal slot is free until the next checkpoint.
pub const RC_JOURNAL_FULL: u32 = crate::abi::JOURNALIZE_RC_FULL;

/// Handles an invocation of the journalize key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    if inv.order() == KT {
        return Ok(Outcome::code(crate::abi::AKT_JOURNALIZE));
    }
    if inv.order() != crate::abi::JOURNALIZE_PAGE {
        return Ok(Outcome::invalid());
    }
    let key = inv.key_arg(0);
    if key.kind() != KeyType::Page
        || key.memory_flags().contains(MemoryFlags::READ_ONLY)
        || !object::is_current(&k.store, key)
    {
        return Ok(Outcome::code(RC_INVALID));
    }
    let cda = key.cda();
    if !k.existed_at_last_checkpoint(cda, key.allocation_id()) {
        return Ok(Outcome::code(RC_NEW_PAGE));
    }
    let data = k.store.read_frame(page::home(&k.store, cda));
    Ok(Outcome::code(match k.journalize(cda, &data)? {
        true => 0,
        false => RC_JOURNAL_FULL,
    }))
}
