//! Journal slots: page contents that outlive a restart.
//!
//! Each journal slot is four frames: two copies of a **descriptor**, then
//! two **data** frames. Writing a record means: write the data frame the
//! slot's current record does not use, sync it, then write both descriptor
//! copies, sync them. So a valid descriptor's data frame is always durable
//! and never overwritten while that descriptor stands: a valid descriptor
//! whose data fails its checksum means the data was damaged, and is
//! reported. A single flipped bit in one descriptor copy loses nothing: the
//! other copy stands. A torn or missing descriptor (a record being written
//! when the power failed, never acknowledged) simply does not exist.
//!
//! At restart, for each page the record with the highest sequence number
//! whose **epoch** is newer than the restored checkpoint's generation
//! replaces the page's checkpointed contents (for the journal page itself,
//! the newest record always applies: it is never checkpointed).
//!
//! Descriptor layout:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | magic `GNOSJRNL` |
//! | 8 | 8 | page CDA |
//! | 16 | 8 | epoch: the generation the next checkpoint would have when written |
//! | 24 | 8 | sequence number, increasing across all records |
//! | 32 | 4 | CRC-32C of the data frame |
//! | 36 | 4 | allocation id of the page when written |
//! | 40 | 4 | which data frame of the slot holds the data (0 or 1) |
//! | 4092 | 4 | CRC-32C of bytes 0..4092 |

use crate::frame::{self, FRAME_SIZE, Frame};

/// Magic at offset 0 of a journal descriptor.
pub const JOURNAL_MAGIC: &[u8; 8] = b"GNOSJRNL";
/// Highest sequence number a valid record may carry: the next record's is
/// one more.
pub const MAX_SEQUENCE: u64 = 1 << 62;

/// A decoded journal descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalDescriptor {
    /// The page whose contents the data frame holds.
    pub page: u64,
    /// Generation of the checkpoint that will first include these contents.
    pub epoch: u64,
    /// Global order of journal records.
    pub sequence: u64,
    /// CRC-32C of the data frame.
    pub data_checksum: u32,
    /// The page's allocation id when the record was written.
    pub allocation_id: u32,
    /// Which of the slot's data frames holds the data.
    pub data_index: u32,
}

impl JournalDescriptor {
    /// Encodes the descriptor frame.
    pub fn encode(&self) -> Box<Frame> {
        let mut f = Box::new([0u8; FRAME_SIZE]);
        f[..8].copy_from_slice(JOURNAL_MAGIC);
        frame::write_u64(&mut f[..], 8, self.page);
        frame::write_u64(&mut f[..], 16, self.epoch);
        frame::write_u64(&mut f[..], 24, self.sequence);
        frame::write_u32(&mut f[..], 32, self.data_checksum);
        frame::write_u32(&mut f[..], 36, self.allocation_id);
        frame::write_u32(&mut f[..], 40, self.data_index);
        let sum = frame::checksum(&f[..FRAME_SIZE - 4]);
        frame::write_u32(&mut f[..], FRAME_SIZE - 4, sum);
        f
    }

    /// Decodes a descriptor frame; `None` if it is empty, torn or damaged.
    pub fn decode(f: &Frame) -> Option<JournalDescriptor> {
        let valid = &f[..8] == JOURNAL_MAGIC
            && frame::checksum(&f[..FRAME_SIZE - 4]) == frame::read_u32(f, FRAME_SIZE - 4);
        valid.then(|| JournalDescriptor {
            page: frame::read_u64(f, 8),
            epoch: frame::read_u64(f, 16),
            sequence: frame::read_u64(f, 24),
            data_checksum: frame::read_u32(f, 32),
            allocation_id: frame::read_u32(f, 36),
            data_index: frame::read_u32(f, 40),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trips_and_torn_ones_vanish() {
        let d = JournalDescriptor {
            page: 1,
            epoch: 4,
            sequence: 99,
            data_checksum: 5,
            allocation_id: 2,
            data_index: 1,
        };
        let f = d.encode();
        assert_eq!(JournalDescriptor::decode(&f), Some(d));
        let mut torn = f.clone();
        torn[512..].fill(0);
        assert_eq!(JournalDescriptor::decode(&torn), None);
        assert_eq!(JournalDescriptor::decode(&[0; FRAME_SIZE]), None);
    }
}
