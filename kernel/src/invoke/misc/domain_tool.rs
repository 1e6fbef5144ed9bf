//! The domain tool: rights amplification by brand (KeyKOS `Base/jmiscc.c`,
//! [G-46]). Whoever holds the brand a domain creator put in a root's slot 0
//! can recognise that creator's domains and get full access to them.
//!
//! | order | effect | reply |
//! |---|---|---|
//! | 0 | key 0 a node key → a domain key to the same node | rc 0 + key 0; rc 1 not a node key |
//! | 1, 2, 3 | is key 0 a start (1), resume (2) or domain (3) key to a domain whose brand equals key 1? | rc 0 + key 0 = node key to the root, string byte 0 = the key's databyte; rc 1 no |
//! | KT | alleged type | 0x109 |
//!
//! Orders 5..=11 (identifying segments and meters by keeper) are not provided.

use crate::abi::*;
use crate::domain::SLOT_BRAND;
use crate::invoke::{Invocation, KT, Message, Outcome};
use crate::kernel::{Kernel, KernelError};
use crate::key::{Key, KeyType};
use crate::object;

/// Handles an invocation of the domain tool.
pub(super) fn invoke(k: &mut Kernel, inv: &Invocation) -> Result<Outcome, KernelError> {
    let subject = inv.key_arg(0);
    match inv.order() {
        DOMAIN_TOOL_MAKE_DOMAIN
            if subject.kind() == KeyType::Node && object::is_current(&k.store, subject) =>
        {
            Ok(Outcome::Reply(
                Message::code(0).with_key(0, subject.with_type(KeyType::Domain).with_databyte(0)),
            ))
        }
        DOMAIN_TOOL_MAKE_DOMAIN => Ok(Outcome::code(1)),
        order @ DOMAIN_TOOL_IDENTIFY_START..=DOMAIN_TOOL_IDENTIFY_DOMAIN => {
            let wanted = [KeyType::Start, KeyType::Resume, KeyType::Domain]
                [(order - DOMAIN_TOOL_IDENTIFY_START) as usize];
            let root = subject.cda();
            let matches = subject.kind() == wanted
                && object::is_current(&k.store, subject)
                && k.read_slot(root, SLOT_BRAND)? == inv.key_arg(1);
            if !matches {
                return Ok(Outcome::code(1));
            }
            let node_key = Key::object(KeyType::Node, root, object::allocation(&k.store, root).id, 0);
            Ok(Outcome::Reply(Message::code(0).with_key(0, node_key).with_string(&[subject.databyte()])))
        }
        KT => Ok(Outcome::code(AKT_DOMAIN_TOOL)),
        _ => Ok(Outcome::invalid()),
    }
}
