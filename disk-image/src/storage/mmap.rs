//! The production storage: the image file mapped with `memmap2`.
//!
//! The OS page cache is the kernel's page cache. Writes land in the mapping;
//! `sync` is `msync(MS_SYNC)` over the frames asked for, which returns once
//! they are on stable storage.
//!
//! Every open locks the file first (see [`lock`]): exclusively to read and
//! write, shared to read only.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::ptr::NonNull;

use memmap2::{MmapOptions, MmapRaw};

use super::lock::{self, LockAccess};
use super::{FrameMemory, Storage};
use crate::error::{ImageError, StorageError};
use crate::frame::FRAME_BYTES;
use crate::layout::Region;

/// The image file, mapped.
pub struct MmapStorage {
    // Field order matters: `memory` points into `map` and must not outlive it.
    memory: FrameMemory,
    map: MmapRaw,
    _file: File,
    writable: bool,
}

impl MmapStorage {
    /// Maps an existing image file for reading and writing.
    pub fn open(path: &Path) -> Result<MmapStorage, ImageError> {
        let file =
            OpenOptions::new().read(true).write(true).open(path).map_err(|source| io_error(path, source))?;
        lock::lock(&file, path, LockAccess::Exclusive)?;
        Self::map(path, file, true)
    }

    /// Maps an existing image file for reading only; every write is refused.
    pub fn open_read_only(path: &Path) -> Result<MmapStorage, ImageError> {
        let file = File::open(path).map_err(|source| io_error(path, source))?;
        lock::lock(&file, path, LockAccess::Shared)?;
        Self::map(path, file, false)
    }

    /// Creates a sparse image file of `frames` frames (all zero) and maps it.
    /// Fails if the file exists.
    pub fn create(path: &Path, frames: u64) -> Result<MmapStorage, ImageError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| io_error(path, source))?;
        lock::lock(&file, path, LockAccess::Exclusive)?;
        file.set_len(frames * FRAME_BYTES).map_err(|source| io_error(path, source))?;
        Self::map(path, file, true)
    }

    fn map(path: &Path, file: File, writable: bool) -> Result<MmapStorage, ImageError> {
        let len = file.metadata().map_err(|source| io_error(path, source))?.len();
        if len < FRAME_BYTES {
            return Err(ImageError::NotAnImage);
        }
        let frames = len / FRAME_BYTES;
        let options = {
            let mut o = MmapOptions::new();
            o.len((frames * FRAME_BYTES) as usize);
            o
        };
        let map = if writable { options.map_raw(&file) } else { options.map_raw_read_only(&file) }
            .map_err(|source| io_error(path, source))?;
        let base = NonNull::new(map.as_mut_ptr()).expect("MMAP001 mmap returned null");
        // Safety: the mapping covers `frames × 4096` bytes and lives in the
        // same struct as the view, dropped after it (field order). A
        // read-only mapping is never written: `write` and `grant_write`
        // refuse before touching memory.
        let memory = unsafe { FrameMemory::new(base, frames) };
        Ok(MmapStorage { memory, map, _file: file, writable })
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        if self.writable { Ok(()) } else { Err(StorageError::ReadOnly) }
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ImageError {
    ImageError::Io { path: path.to_path_buf(), source }
}

impl Storage for MmapStorage {
    fn memory(&self) -> &FrameMemory {
        &self.memory
    }

    fn grant_write(&self, _frame: u64) -> Result<(), StorageError> {
        self.check_writable()
    }

    fn write(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        self.check_writable()?;
        self.memory.write(frame, offset, data);
        Ok(())
    }

    fn store(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        self.write(frame, offset, data)
    }

    fn sync(&self, region: Region) -> Result<(), StorageError> {
        self.check_writable()?;
        if region.count == 0 {
            return Ok(());
        }
        let offset = (region.first * FRAME_BYTES) as usize;
        let len = (region.count * FRAME_BYTES) as usize;
        self.map.flush_range(offset, len)?;
        Ok(())
    }
}
