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
//! seed (stop at write N, torn write, lost unsynced writes, bit flip).

mod faulty;
mod lock;
mod memory;
mod mmap;

pub use faulty::{CrashImage, FaultKind, FaultPlan, FaultyStorage, StorageEvent};
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
}
