//! The returner: sends the message it receives through the key 3 it was
//! given. On CALL that is the caller's own return key, so the caller gets
//! keys 0..2 back; on RETURN or FORK it lets a server reply through a resume
//! key it holds without trusting the key to be a gate: anything that is not
//! a resume key to a waiting domain gets nothing (KeyKOS `Base/jmiscc.c`).
//! Its alleged type (order KT) is 0x9 with subtype 0.

use crate::invoke::{Invocation, KT, Message, Outcome};

/// Handles an invocation of the returner.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    if inv.order() == KT && inv.message.string.is_empty() && inv.message.key_mask & 7 == 0 {
        return Outcome::code(crate::abi::AKT_RETURNER);
    }
    let m = inv.message;
    let mut reply = Message::code(m.code).with_string(&m.string);
    for i in 0..3 {
        if m.key_mask & (1 << i) != 0 {
            reply = reply.with_key(i, m.keys[i]);
        }
    }
    Outcome::Reply(reply)
}
