//! Data keys (and every obsolete key): return KT+1 and the value.
//!
//! Order code 1 returns the key's 16-byte image (5 zero bytes and the
//! 11-byte value); any other order code returns the value's low 8 bytes,
//! little endian (KeyKOS `Base/jdatac.c` returns 6 bytes; our registers are
//! 32-bit words, so 8 bytes serve them better).

use super::{Invocation, Outcome, RC_DATA};
use crate::invoke::Message;

/// Handles an invocation of a data key.
pub(super) fn invoke(inv: &Invocation) -> Outcome {
    let key = inv.key;
    let string = if inv.order() == crate::abi::DATA_IMAGE {
        let mut image = [0u8; 16];
        image[5..].copy_from_slice(&key.data_body());
        image.to_vec()
    } else {
        key.data_value().to_le_bytes().to_vec()
    };
    Outcome::Reply(Message::code(RC_DATA).with_string(&string))
}
