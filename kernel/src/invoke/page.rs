//! Page keys (KeyKOS `Base/jpagec.c`). Pages are read by mapping them, so
//! the page key has no read order.
//!
//! | order | effect | rc |
//! |---|---|---|
//! | 0 | key 0 of the reply: a read-only page key | 0 |
//! | 39 | clear the page | 0; KT+2 through a read-only key |
//! | 41 | test whether every byte is zero | 0 zero, 1 not |
//! | 4096 + n | write the string at offset n | 0; 1 if it would pass the end; KT+2 read-only |
//! | KT | alleged type | 0x202, or 0x1202 read-only |

use super::{Invocation, KT, Message, Outcome, RC_INVALID};
use crate::abi;
use crate::kernel::{Kernel, KernelError};
use crate::key::MemoryFlags;
use crate::object::page;

/// Order code: make a read-only page key.
pub const MAKE_READ_ONLY: u32 = abi::PAGE_MAKE_READ_ONLY;
/// Order code: clear the page.
pub const CLEAR: u32 = abi::PAGE_CLEAR;
/// Order code: test for all zero.
pub const TEST_ZERO: u32 = abi::PAGE_TEST_ZERO;
/// Order code base: write the string at offset (order − 4096).
pub const WRITE: u32 = abi::PAGE_WRITE;

/// Handles an invocation of a page key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let key = inv.key;
    let read_only = key.memory_flags().contains(MemoryFlags::READ_ONLY);
    let order = inv.order();
    Ok(match order {
        MAKE_READ_ONLY => {
            let ro = key.with_databyte(key.databyte() | MemoryFlags::READ_ONLY.bits());
            Outcome::Reply(Message::code(0).with_key(0, ro))
        }
        CLEAR | WRITE..=8191 if read_only => Outcome::code(RC_INVALID),
        CLEAR => {
            k.write_page(key.cda(), 0, &[0u8; page::PAGE_SIZE])?;
            Outcome::code(0)
        }
        TEST_ZERO => Outcome::code(u32::from(!page::is_zero(&k.store, key.cda()))),
        WRITE..=8191 => {
            let offset = (order - WRITE) as usize;
            let data = &inv.message.string;
            if offset + data.len() > page::PAGE_SIZE {
                return Ok(Outcome::code(1));
            }
            k.write_page(key.cda(), offset, data)?;
            Outcome::code(0)
        }
        KT => Outcome::code(if read_only { abi::AKT_PAGE_RO } else { abi::AKT_PAGE }),
        _ => Outcome::invalid(),
    })
}
