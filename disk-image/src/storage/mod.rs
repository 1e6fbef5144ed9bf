//! The one narrow interface through which every byte of the image is written
//! and made durable.
//!
//! The image is memory: [`FrameMemory`] is a raw view of all its frames. The
//! kernel reads through it directly (the mapped image is the page cache), but
//! every modification is announced to the [`Storage`] first, either as a
//! [`Storage::write`] (the storage copies the bytes in) or as a
//! [`Storage::grant_write`] (the caller, e.g. the interpreter's software TLB,
//! will store into the frame through its pointer). Durability happens only in
//! [`Storage::sync`].
//!
//! Two implementations: [`MmapStorage`], a `memmap2` mapping of the image
//! file, and [`FaultyStorage`], an in-memory twin that records every write and
//! sync and can crash the machine at any of them, deterministically from a
//! seed (stop at write N, torn write, lost unsynced writes, bit flip), or
//! fail them as a full or failing disk does (ENOSPC, EIO).
//!
//! **Where stores land.** A store through a mapping into a frame the file
//! system has no space for is a SIGBUS, not an error. So every frame the
//! mapping is stored into is allocated first ([`Storage::allocate`] at
//! format and restart for the fixed regions, the checkpoint areas and the
//! frames migration will write; [`Storage::grant_write`] for any other),
//! and [`Storage::write`] of a frame that may lack space goes through the
//! file, where running out of space is [`StorageError::NoSpace`].
//! Verification passes read with [`Storage::read_frames`], which reports
//! a failed read instead of faulting, and skip holes
//! ([`Storage::data_extents`]).

mod faulty;
mod lock;
mod memory;
mod mmap;

pub use faulty::{
    CrashImage, FaultKind, FaultPlan, FaultyStorage, IoFault, IoFaultPlan, IoTarget, StorageEvent,
};
pub(crate) use lock::locked_message;
pub use lock::{LockAccess, LockHolder, lock_holder};
pub use memory::FrameMemory;
pub use mmap::MmapStorage;

use crate::error::StorageError;
use crate::frame::{FRAME_SIZE, Frame};
use crate::layout::Region;

/// Where the image's bytes live and how they become durable.
///
/// Frame ownership (the rule that makes the raw memory race-free): at any
/// moment each frame is written by at most one thread, and a frame being
/// written is not read by another thread. design.md ("Frame ownership")
/// lists which thread owns which frames in each checkpoint phase.
pub trait Storage: Send + Sync {
    /// The raw view of every frame.
    fn memory(&self) -> &FrameMemory;

    /// Announces that `frame` will be stored into through its pointer.
    /// Until the next sync covering it, its contents are not durable.
    fn grant_write(&self, frame: u64) -> Result<(), StorageError>;

    /// Copies `data` into `frame` at `offset`: one write event.
    fn write(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError>;

    /// Stores `data` into `frame` at `offset`, a frame already announced with
    /// `grant_write` (a working frame). Not a crash point of its own: like a
    /// store through the pointer, it becomes durable (or is lost) with the
    /// frame.
    fn store(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError>;

    /// Makes every write to the frames of `region` durable before returning.
    fn sync(&self, region: Region) -> Result<(), StorageError>;

    /// Frames in the image.
    fn frame_count(&self) -> u64 {
        self.memory().frame_count()
    }

    /// Copies a whole frame out.
    fn read_frame(&self, frame: u64) -> Box<Frame> {
        let mut out = Box::new([0u8; FRAME_SIZE]);
        self.memory().read(frame, 0, &mut out[..]);
        out
    }

    /// Copies `buf.len()` bytes out of `frame` at `offset`.
    fn read(&self, frame: u64, offset: usize, buf: &mut [u8]) {
        self.memory().read(frame, offset, buf);
    }

    /// Copies frame `from` over frame `to`: one write event on `to`.
    fn copy_frame(&self, from: u64, to: u64) -> Result<(), StorageError> {
        let data = self.read_frame(from);
        self.write(to, 0, &data[..])
    }

    /// Makes every write to the image durable.
    fn sync_all(&self) -> Result<(), StorageError> {
        self.sync(Region { first: 0, count: self.frame_count() })
    }

    /// Whether writes are accepted (a read-only mapping refuses them).
    fn is_writable(&self) -> bool {
        true
    }

    /// Makes sure the file system has space for every frame of `region`,
    /// so that no store into them can fail later. Changes no frame's
    /// contents and is not a crash point.
    fn allocate(&self, region: Region) -> Result<(), StorageError> {
        let _ = region;
        Ok(())
    }

    /// Frames of `region` with no space allocated yet, at most: what
    /// [`Storage::allocate`] of it may need.
    fn unallocated_frames(&self, region: Region) -> Result<u64, StorageError> {
        let _ = region;
        Ok(0)
    }

    /// Copies whole frames from `first` on into `buf` (a whole number of
    /// frames, inside the image), reporting a failed read as an error
    /// rather than faulting: for passes that read much of the image.
    fn read_frames(&self, first: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        for (i, chunk) in buf.chunks_mut(FRAME_SIZE).enumerate() {
            self.memory().read(first + i as u64, 0, chunk);
        }
        Ok(())
    }

    /// Reads that failed and read as zeros instead (storage that reads
    /// through the file rather than the mapping, see `MmapStorage`).
    fn failed_reads(&self) -> u64 {
        0
    }

    /// The parts of `region` that may hold data, in order; every frame
    /// outside them reads as zeros (a hole of a sparse file).
    fn data_extents(&self, region: Region) -> Result<Vec<Region>, StorageError> {
        Ok(if region.count == 0 { Vec::new() } else { vec![region] })
    }
}
