//! Checkpoint directories and process lists.
//!
//! A **directory** lists the frames a checkpoint wrote into its area: for
//! each, the home frame it stands for, where it lies in the area and the
//! CRC-32C of its contents. Directory frames hold 256 entries of 16 bytes:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 8 | home frame (absolute frame number) |
//! | 8 | 4 | area frame (relative to the area's first frame) |
//! | 12 | 4 | CRC-32C of the home frame number (8 bytes LE) then the frame: all 4096 bytes of a page, the first 4092 of a pot (its seal left out) |
//!
//! The header carries the entry count and a CRC-32C over all directory
//! frames. A **process list** is an array of root-node CDAs (8 bytes each,
//! 512 per frame): the domains whose process bit was set at the snapshot, in
//! run-queue order.

use crate::frame::{self, FRAME_SIZE, Frame};

/// Entries in one directory frame.
pub const ENTRIES_PER_FRAME: usize = FRAME_SIZE / ENTRY_BYTES;
const ENTRY_BYTES: usize = 16;

/// One checkpointed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DirectoryEntry {
    /// The home frame this frame is a newer version of.
    pub home: u64,
    /// Where the version lies, relative to its area's first frame.
    pub area_frame: u32,
    /// CRC-32C of the home frame number and the version's contents
    /// ([`crate::frame::checksum_at`]).
    pub checksum: u32,
}

/// Encodes entries into directory frames (the last one zero-padded).
pub fn encode_directory(entries: &[DirectoryEntry]) -> Vec<Box<Frame>> {
    entries
        .chunks(ENTRIES_PER_FRAME)
        .map(|chunk| {
            let mut f = Box::new([0u8; FRAME_SIZE]);
            for (i, e) in chunk.iter().enumerate() {
                let b = &mut f[i * ENTRY_BYTES..][..ENTRY_BYTES];
                frame::write_u64(b, 0, e.home);
                frame::write_u32(b, 8, e.area_frame);
                frame::write_u32(b, 12, e.checksum);
            }
            f
        })
        .collect()
}

/// Directory frames needed for `entries` entries.
pub fn directory_frames(entries: usize) -> usize {
    entries.div_ceil(ENTRIES_PER_FRAME)
}

/// Decodes `count` entries from directory frames; `None` if the frames
/// hold fewer.
pub fn decode_directory(frames: &[Box<Frame>], count: usize) -> Option<Vec<DirectoryEntry>> {
    if count > frames.len().saturating_mul(ENTRIES_PER_FRAME) {
        return None;
    }
    let entry = |i: usize| {
        let b = &frames[i / ENTRIES_PER_FRAME][(i % ENTRIES_PER_FRAME) * ENTRY_BYTES..][..ENTRY_BYTES];
        DirectoryEntry {
            home: frame::read_u64(b, 0),
            area_frame: frame::read_u32(b, 8),
            checksum: frame::read_u32(b, 12),
        }
    };
    Some((0..count).map(entry).collect())
}

/// CRC-32C over a sequence of frames, as the header records it.
pub fn frames_checksum(frames: &[Box<Frame>]) -> u32 {
    frames.iter().fold(0, |crc, f| crc32c::crc32c_append(crc, &f[..]))
}

/// Encodes a process list into frames.
pub fn encode_process_list(roots: &[u64]) -> Vec<Box<Frame>> {
    roots
        .chunks(FRAME_SIZE / 8)
        .map(|chunk| {
            let mut f = Box::new([0u8; FRAME_SIZE]);
            for (i, cda) in chunk.iter().enumerate() {
                frame::write_u64(&mut f[..], i * 8, *cda);
            }
            f
        })
        .collect()
}

/// The checksum a header records for a process list: over the entry bytes.
pub fn process_list_checksum(roots: &[u64]) -> u32 {
    roots.iter().fold(0, |crc, cda| crc32c::crc32c_append(crc, &cda.to_le_bytes()))
}

/// Decodes `count` root CDAs from process-list frames; `None` if the
/// frames hold fewer.
pub fn decode_process_list(frames: &[Box<Frame>], count: usize) -> Option<Vec<u64>> {
    const PER_FRAME: usize = FRAME_SIZE / 8;
    if count > frames.len().saturating_mul(PER_FRAME) {
        return None;
    }
    Some((0..count).map(|i| frame::read_u64(&frames[i / PER_FRAME][..], (i % PER_FRAME) * 8)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn directory_round_trips(raw in proptest::collection::vec((any::<u64>(), any::<u32>(), any::<u32>()), 0..700)) {
            let entries: Vec<DirectoryEntry> = raw.iter().map(|&(home, area_frame, checksum)| DirectoryEntry { home, area_frame, checksum }).collect();
            let frames = encode_directory(&entries);
            prop_assert_eq!(frames.len(), directory_frames(entries.len()));
            prop_assert_eq!(decode_directory(&frames, entries.len()), Some(entries.clone()));
            prop_assert_eq!(decode_directory(&frames, frames.len() * ENTRIES_PER_FRAME + 1), None);
        }

        #[test]
        fn process_list_round_trips(roots in proptest::collection::vec(any::<u64>(), 0..1200)) {
            let frames = encode_process_list(&roots);
            prop_assert_eq!(decode_process_list(&frames, roots.len()), Some(roots.clone()));
            prop_assert_eq!(decode_process_list(&frames, frames.len() * 512 + 1), None);
        }
    }
}
