//! Range keys: the authority to create and sever the pages (page range) or
//! nodes (node range) in a range of CDAs (KeyKOS `Base/jprangec.c`,
//! `Base/jnrangec.c`). Only the space bank holds them.
//!
//! Offsets are little-endian u64 strings (shorter strings are zero-padded).
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0 | create: the object at offset, marked allocated | rc 0 + key 0 (page key or node key); rc 1 offset outside; rc 2 already allocated |
//! | 9 | create and clear | as 0 |
//! | 1 | identify: offset of key 0 (a page key / node key in the range) | rc 0 + 8-byte offset; rc −1 not one |
//! | 2 | sever key 0's object: every key to it becomes DK(0) | rc 0 + key 0 = a new key; rc −1 |
//! | 6 | destroy key 0's object: sever, clear, mark free | rc 0; rc −1 |
//! | 8 | destroy the object at offset | rc 0; rc 1 offset outside |
//! | KT | alleged type | 770 page range, 771 node range |
//!
//! *Divergence:* KeyKOS's make-gratis orders (3, 4) are not provided;
//! "destroy" also clears the kernel's allocated bit, and "create" refuses an
//! object that is already allocated (see design.md), so a bank never hands
//! out an object someone else holds.

use super::{Invocation, KT, Message, Outcome};
use crate::abi::*;
use crate::kernel::{Kernel, KernelError};
use crate::key::{Cda, Key, KeyType};
use crate::object;

/// Handles an invocation of a page-range or node-range key.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let range = Range::of(inv.key);
    match inv.order() {
        order @ (RANGE_CREATE | RANGE_CREATE_CLEAR) => match range.at(&k.store, inv.dword(0)) {
            Some(cda) if object::allocation(&k.store, cda).allocated => Ok(Outcome::code(RANGE_RC_IN_USE)),
            Some(cda) => {
                if order == RANGE_CREATE_CLEAR {
                    k.clear_object(cda)?;
                }
                let id = object::create(&mut k.store, cda)?;
                Ok(Outcome::Reply(Message::code(0).with_key(0, Key::object(range.key_type(), cda, id, 0))))
            }
            None => Ok(Outcome::code(RANGE_RC_OUTSIDE)),
        },
        RANGE_IDENTIFY => Ok(match range.member(&k.store, inv.key_arg(0)) {
            Some(cda) => Outcome::Reply(Message::code(0).with_string(&(cda.0 - range.first.0).to_le_bytes())),
            None => Outcome::code(RANGE_RC_NOT_IN_RANGE),
        }),
        RANGE_SEVER => match range.member(&k.store, inv.key_arg(0)) {
            Some(cda) => {
                let id = k.sever(cda, false)?;
                Ok(Outcome::Reply(Message::code(0).with_key(0, Key::object(range.key_type(), cda, id, 0))))
            }
            None => Ok(Outcome::code(RANGE_RC_NOT_IN_RANGE)),
        },
        RANGE_DESTROY => match range.member(&k.store, inv.key_arg(0)) {
            Some(cda) => k.sever(cda, true).map(|_| Outcome::code(0)),
            None => Ok(Outcome::code(RANGE_RC_NOT_IN_RANGE)),
        },
        RANGE_DESTROY_AT => match range.at(&k.store, inv.dword(0)) {
            Some(cda) => k.sever(cda, true).map(|_| Outcome::code(0)),
            None => Ok(Outcome::code(RANGE_RC_OUTSIDE)),
        },
        KT => Ok(Outcome::code(if range.nodes { AKT_NODE_RANGE } else { AKT_PAGE_RANGE })),
        _ => Ok(Outcome::invalid()),
    }
}

struct Range {
    nodes: bool,
    first: Cda,
    count: u64,
}

impl Range {
    fn of(key: Key) -> Range {
        Range {
            nodes: key.kind() == KeyType::NodeRange,
            first: key.cda(),
            count: u64::from(key.allocation_id()),
        }
    }

    fn key_type(&self) -> KeyType {
        if self.nodes { KeyType::Node } else { KeyType::Page }
    }

    /// The object at `offset`, if inside the range and the image.
    fn at(&self, store: &crate::store::Store, offset: u64) -> Option<Cda> {
        let cda = Cda(self.first.0.checked_add(offset)?);
        (offset < self.count && cda.is_node() == self.nodes && object::exists(store, cda)).then_some(cda)
    }

    /// The object `key` designates, if it is a current full-authority key
    /// (read-write page key, or node key) to an object in the range.
    fn member(&self, store: &crate::store::Store, key: Key) -> Option<Cda> {
        let full = key.kind() == self.key_type() && key.databyte() == 0 && object::is_current(store, key);
        let offset = key.cda().0.checked_sub(self.first.0)?;
        (full && offset < self.count).then_some(key.cda())
    }
}
