//! Fetch keys: read-only node access (KeyKOS `jfetch` in `Base/jnodec.c`).
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0..=15 | fetch slot n | key 0 |
//! | 40 | the databyte | rc = databyte |
//! | KT | alleged type | 4 |

use super::{Invocation, KT, Outcome, node};
use crate::kernel::{Kernel, KernelError};

/// Handles an invocation of a fetch key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    match inv.order() {
        0..=15 => node::fetch(k, inv),
        node::DATABYTE => Ok(Outcome::code(u32::from(inv.key.databyte()))),
        KT => Ok(Outcome::code(crate::abi::AKT_FETCH)),
        _ => Ok(Outcome::invalid()),
    }
}
