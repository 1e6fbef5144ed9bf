//! Frames, sectors and the checksums that seal them.
//!
//! Every structure in the image is a whole number of 4 KiB frames. Two kinds
//! of checksum are used, both CRC-32C:
//!
//! * a **plain** checksum (`crc32c`) for structures that must never validate
//!   when they are all zero (the volume label, checkpoint headers, directory
//!   frames, journal descriptors);
//! * a **sealed** checksum (`crc32c(data) ^ crc32c(zeros)`) for structures that
//!   start life as all-zero holes in a sparse file (node pots, allocation pots,
//!   checksum pots): a frame nobody ever wrote validates with seal 0, so a
//!   freshly formatted image needs no writes to be consistent.

/// Bytes in a frame: the unit of storage, of checkpointing and of migration.
pub const FRAME_SIZE: usize = 4096;
/// `FRAME_SIZE` as a `u64`, for byte offsets into the image.
pub const FRAME_BYTES: u64 = FRAME_SIZE as u64;
/// Bytes in a sector: the granularity at which a torn write lands.
pub const SECTOR_SIZE: usize = 512;

/// A frame's contents.
pub type Frame = [u8; FRAME_SIZE];

/// The all-zero frame.
pub const ZERO_FRAME: Frame = [0; FRAME_SIZE];

/// Plain CRC-32C of `data`.
pub fn checksum(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// CRC-32C of the home frame number (little endian) and the first `len`
/// bytes of a version of that frame: what a directory records. For a
/// self-sealed frame (a pot) `len` leaves out the seal: the CRC of any
/// frame carrying its own CRC-based seal is one constant (the CRC residue),
/// with or without a prefix, so it could not tell a pot from a zero frame
/// that never landed. The home number ties the version to its frame.
pub fn checksum_at(home: u64, data: &[u8], len: usize) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&home.to_le_bytes()), &data[..len])
}

/// Sealed CRC-32C of `data`: 0 when `data` is all zero.
pub fn seal(data: &[u8]) -> u32 {
    crc32c::crc32c(data) ^ zero_checksum(data.len())
}

/// Plain CRC-32C of `len` zero bytes, computed without allocating.
fn zero_checksum(len: usize) -> u32 {
    let mut crc = 0;
    let mut left = len;
    while left > 0 {
        let chunk = left.min(FRAME_SIZE);
        crc = crc32c::crc32c_append(crc, &ZERO_FRAME[..chunk]);
        left -= chunk;
    }
    crc
}

/// Sealed checksum of the first `FRAME_SIZE - 4` bytes of a frame, stored in
/// its last 4 bytes (little endian). Used by self-checking home frames.
pub fn frame_seal(frame: &Frame) -> u32 {
    seal(&frame[..FRAME_SIZE - 4])
}

/// The seal a self-checking frame carries in its last 4 bytes.
pub fn stored_frame_seal(frame: &Frame) -> u32 {
    read_u32(frame, FRAME_SIZE - 4)
}

/// Writes the frame's seal into its last 4 bytes.
pub fn write_frame_seal(frame: &mut Frame) {
    let s = frame_seal(frame);
    write_u32(frame, FRAME_SIZE - 4, s);
}

/// Whether a self-checking frame's stored seal matches its contents.
pub fn frame_seal_ok(frame: &Frame) -> bool {
    frame_seal(frame) == stored_frame_seal(frame)
}

/// Little-endian `u16` at `offset`.
pub fn read_u16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(bytes[offset..offset + 2].try_into().expect("2 bytes"))
}

/// Little-endian `u32` at `offset`.
pub fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"))
}

/// Little-endian `u64` at `offset`.
pub fn read_u64(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().expect("8 bytes"))
}

/// Stores a little-endian `u16` at `offset`.
pub fn write_u16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

/// Stores a little-endian `u32` at `offset`.
pub fn write_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// Stores a little-endian `u64` at `offset`.
pub fn write_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_data_has_zero_seal() {
        assert_eq!(seal(&[0u8; 4092]), 0);
        assert_eq!(seal(&ZERO_FRAME), 0);
        assert!(frame_seal_ok(&ZERO_FRAME));
    }

    #[test]
    fn seal_detects_a_flipped_bit() {
        let mut frame = ZERO_FRAME;
        frame[100] = 7;
        write_frame_seal(&mut frame);
        assert!(frame_seal_ok(&frame));
        frame[2000] ^= 0x10;
        assert!(!frame_seal_ok(&frame));
    }

    #[test]
    fn sealed_frames_share_one_plain_checksum_so_directories_leave_the_seal_out() {
        let mut a = ZERO_FRAME;
        a[7] = 1;
        write_frame_seal(&mut a);
        let mut b = ZERO_FRAME;
        b[900] = 0x55;
        write_frame_seal(&mut b);
        // The CRC residue: why directories leave a pot's seal out.
        assert_eq!(checksum(&a), checksum(&ZERO_FRAME));
        assert_eq!(checksum(&b), checksum(&ZERO_FRAME));
        assert_eq!(checksum_at(5, &a, FRAME_SIZE), checksum_at(5, &ZERO_FRAME, FRAME_SIZE));
        assert_ne!(checksum_at(5, &a, FRAME_SIZE - 4), checksum_at(5, &ZERO_FRAME, FRAME_SIZE - 4));
        assert_ne!(checksum_at(5, &a, FRAME_SIZE - 4), checksum_at(5, &b, FRAME_SIZE - 4));
        assert_ne!(checksum_at(5, &a, FRAME_SIZE - 4), checksum_at(6, &a, FRAME_SIZE - 4));
    }

    #[test]
    fn zero_checksum_matches_direct_computation() {
        let zeros = vec![0u8; 3 * FRAME_SIZE + 17];
        assert_eq!(zero_checksum(zeros.len()), crc32c::crc32c(&zeros));
    }
}
