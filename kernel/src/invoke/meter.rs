//! Meter keys: authority to have a domain's (or a meter's) time charged to
//! a meter, by placing the key in root slot 1 or meter slot 1. Invoking one
//! only answers its alleged type (KeyKOS `Base/jmeterc.c`).
//!
//! | order | reply |
//! |---|---|
//! | KT | 6 |

use super::{Invocation, KT, Outcome};

/// Handles an invocation of a meter key.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    if inv.order() == KT { Outcome::code(crate::abi::AKT_METER) } else { Outcome::invalid() }
}
