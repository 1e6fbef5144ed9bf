//! The `ecall` register convention: exit blocks, entry blocks, messages.
//!
//! On `ecall`:
//!
//! | register | in | out (when a message is received) |
//! |---|---|---|
//! | a0 | order code | order code or return code |
//! | a1 | exit block | databyte of the start key (0 otherwise) |
//! | a2 | entry block | length of the string sent (before truncation) |
//! | a3, a4 | send buffer address, length (≤ 4096) | unchanged |
//! | a5, a6 | receive buffer address, capacity | unchanged |
//!
//! **Exit block** (a1): bits 0..4 the invoked key register; bits 4..6 the
//! jump type (0 CALL, 1 RETURN, 2 FORK; 3 is invalid); bit 6 send the string
//! in a3/a4 (else an empty string); bits 8..12 the key mask (bit i: pass key
//! i); bits 16..32 four 4-bit key registers, key i at bits 16 + 4i.
//!
//! **Entry block** (a2): bit 0 receive the string into a5/a6; bits 8..12
//! the key mask; bits 16..32 four 4-bit key registers to receive into. A
//! zero entry block receives nothing. Key i is stored when the entry mask
//! has bit i; it is the key passed if the exit mask had bit i, else DK(0).
//! Key register 0 always reads DK(0); keys received into it are discarded.

use crate::key::Key;

/// Longest string a message carries.
pub const MAX_STRING: usize = crate::abi::MAX_STRING as usize;

/// How the invoker continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Jump {
    /// Wait for the reply, passing a fresh return key as key 3.
    Call,
    /// Become available.
    Return,
    /// Keep running.
    Fork,
    /// A trap or fault: a call made by the kernel on the domain's behalf;
    /// the pc stays at the instruction responsible.
    Implicit,
}

/// A decoded exit block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitBlock {
    /// Key register holding the key invoked.
    pub invoked: usize,
    /// How the invoker continues.
    pub jump: Jump,
    /// Whether a3/a4 name a string to send.
    pub send_string: bool,
    /// Which keys are passed.
    pub key_mask: u8,
    /// Key registers of the passed keys.
    pub slots: [usize; 4],
}

impl ExitBlock {
    /// Decodes a1; `None` for jump type 3 or bits set that mean nothing.
    pub fn decode(a1: u32) -> Option<ExitBlock> {
        let jump = match (a1 >> 4) & 3 {
            0 => Jump::Call,
            1 => Jump::Return,
            2 => Jump::Fork,
            _ => return None,
        };
        if a1 & 0x0000_F080 != 0 {
            return None;
        }
        Some(ExitBlock {
            invoked: (a1 & 0xF) as usize,
            jump,
            send_string: a1 & 0x40 != 0,
            key_mask: ((a1 >> 8) & 0xF) as u8,
            slots: nibbles(a1),
        })
    }

    /// Encodes an exit block.
    pub fn encode(&self) -> u32 {
        let jump = match self.jump {
            Jump::Call | Jump::Implicit => 0,
            Jump::Return => 1,
            Jump::Fork => 2,
        };
        self.invoked as u32 & 0xF
            | jump << 4
            | u32::from(self.send_string) << 6
            | u32::from(self.key_mask & 0xF) << 8
            | pack_nibbles(self.slots)
    }
}

/// A decoded entry block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntryBlock {
    /// Whether to store the string into a5/a6.
    pub receive_string: bool,
    /// Which keys to receive.
    pub key_mask: u8,
    /// Key registers to receive them into.
    pub slots: [usize; 4],
}

impl EntryBlock {
    /// Decodes a2 (bits that mean nothing are ignored).
    pub fn decode(a2: u32) -> EntryBlock {
        EntryBlock { receive_string: a2 & 1 != 0, key_mask: ((a2 >> 8) & 0xF) as u8, slots: nibbles(a2) }
    }

    /// Encodes an entry block.
    pub fn encode(&self) -> u32 {
        u32::from(self.receive_string) | u32::from(self.key_mask & 0xF) << 8 | pack_nibbles(self.slots)
    }
}

fn nibbles(word: u32) -> [usize; 4] {
    std::array::from_fn(|i| ((word >> (16 + 4 * i)) & 0xF) as usize)
}

fn pack_nibbles(slots: [usize; 4]) -> u32 {
    slots.iter().enumerate().fold(0, |acc, (i, &s)| acc | (s as u32 & 0xF) << (16 + 4 * i))
}

/// A message in flight: order or return code, string, up to four keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Order code (to a key) or return code (in a reply).
    pub code: u32,
    /// The string.
    pub string: Vec<u8>,
    /// Keys 0..3; DK(0) where not passed.
    pub keys: [Key; 4],
    /// Which keys are passed.
    pub key_mask: u8,
}

impl Message {
    /// A message with only a code.
    pub fn code(code: u32) -> Message {
        Message { code, string: Vec::new(), keys: [Key::NULL; 4], key_mask: 0 }
    }

    /// Adds a string.
    pub fn with_string(mut self, string: &[u8]) -> Message {
        self.string = string.to_vec();
        self
    }

    /// Adds key `i`.
    pub fn with_key(mut self, i: usize, key: Key) -> Message {
        self.keys[i] = key;
        self.key_mask |= 1 << i;
        self
    }

    /// Key 3, if passed: where kernel objects send their replies.
    pub fn reply_key(&self) -> Option<Key> {
        (self.key_mask & 8 != 0).then_some(self.keys[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn exit_blocks_round_trip(invoked in 0usize..16, jump in 0u32..3, send in any::<bool>(), mask in 0u8..16, slots in any::<[u8; 4]>()) {
            let jump = [Jump::Call, Jump::Return, Jump::Fork][jump as usize];
            let block = ExitBlock { invoked, jump, send_string: send, key_mask: mask, slots: slots.map(|s| (s & 15) as usize) };
            prop_assert_eq!(ExitBlock::decode(block.encode()), Some(block));
        }

        #[test]
        fn entry_blocks_round_trip(receive in any::<bool>(), mask in 0u8..16, slots in any::<[u8; 4]>()) {
            let block = EntryBlock { receive_string: receive, key_mask: mask, slots: slots.map(|s| (s & 15) as usize) };
            prop_assert_eq!(EntryBlock::decode(block.encode()), block);
        }

        #[test]
        fn every_word_decodes_or_is_refused(word in any::<u32>()) {
            if let Some(b) = ExitBlock::decode(word) {
                prop_assert_eq!(b.encode(), word);
            }
        }
    }

    #[test]
    fn jump_type_three_is_invalid() {
        assert_eq!(ExitBlock::decode(0x30), None);
        assert_eq!(EntryBlock::decode(0), EntryBlock::default());
    }
}
