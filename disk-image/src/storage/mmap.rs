//! The production storage: the image file mapped with `memmap2`.
//!
//! The OS page cache is the kernel's page cache. Writes land in the mapping;
//! `sync` is `msync(MS_SYNC)` over the frames asked for, which returns once
//! they are on stable storage.
//!
//! Every open locks the file first (see [`lock`]): exclusively to read and
//! write, shared to read only.
//!
//! What it guarantees beyond that:
//!
//! * **Only regular files.** A FIFO, device, socket or directory is refused
//!   before anything can block on it (`stat` first, then an `O_NONBLOCK`
//!   open and `fstat` of what was opened).
//! * **No SIGBUS for lack of space.** A store through the mapping into a
//!   hole of a sparse file on a full file system is a SIGBUS. So the
//!   storage remembers which frames have space ([`Storage::allocate`],
//!   `fallocate(2)`), allocates a frame before granting stores into it,
//!   and writes any other frame with `pwrite(2)`, where a full file system
//!   is `ENOSPC`. Errors from `fallocate`, `pwrite` and `msync` become
//!   [`StorageError::NoSpace`] or [`StorageError::Failed`].
//! * **Reads that report failures.** [`Storage::read_frames`] is `pread(2)`
//!   and [`Storage::data_extents`] is `SEEK_DATA`/`SEEK_HOLE`. Opened
//!   read-only (`fsck`, `inspect`), every read is a `pread`: on tmpfs even
//!   a *read* fault of a hole allocates memory, so a full tmpfs would make
//!   reading the mapping a SIGBUS; `pread` of a hole allocates nothing. A
//!   read that fails reads as zeros (whose checksums then fail) and is
//!   counted ([`Storage::failed_reads`]). Opened for writing on tmpfs,
//!   the whole image is allocated at once, so that no fault can allocate.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use nix::fcntl::{FallocateFlags, fallocate};
use nix::unistd::{Whence, lseek};

use super::lock::{self, LockAccess};
use super::{FrameMemory, Storage};
use crate::error::{ImageError, StorageError};
use crate::frame::{FRAME_BYTES, FRAME_SIZE, read_u64};
use crate::layout::{LABEL_MAGIC, Region};

/// The image file, mapped.
pub struct MmapStorage {
    // Field order matters: `memory` points into `map` and must not outlive it.
    memory: FrameMemory,
    map: MmapRaw,
    file: File,
    writable: bool,
    /// The path, for messages.
    name: String,
    /// Frames known to have space on disk: sorted, disjoint, not adjacent.
    allocated: Mutex<Vec<Region>>,
    /// Reads (read-only storage) that failed and read as zeros.
    failed_reads: AtomicU64,
}

impl MmapStorage {
    /// Maps an existing image file for reading and writing.
    pub fn open(path: &Path) -> Result<MmapStorage, ImageError> {
        let file = open_regular(path, OpenOptions::new().read(true).write(true))?;
        lock::lock(&file, path, LockAccess::Exclusive)?;
        Self::map(path, file, true)
    }

    /// Maps an existing image file for reading only; every write is refused.
    pub fn open_read_only(path: &Path) -> Result<MmapStorage, ImageError> {
        let file = open_regular(path, OpenOptions::new().read(true))?;
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
            return Err(short_file(&file, len));
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
        let storage = MmapStorage {
            memory,
            map,
            file,
            writable,
            name: path.display().to_string(),
            allocated: Mutex::new(Vec::new()),
            failed_reads: AtomicU64::new(0),
        };
        if writable && storage.faults_allocate() {
            storage.allocate(Region { first: 0, count: frames })?;
        }
        Ok(storage)
    }

    /// Whether even a read fault of a hole allocates memory: tmpfs does,
    /// so a full tmpfs turns reading a never-written page into a SIGBUS.
    /// There the whole image is allocated when it is opened for writing.
    fn faults_allocate(&self) -> bool {
        nix::sys::statfs::fstatfs(&self.file)
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        if self.writable { Ok(()) } else { Err(StorageError::ReadOnly) }
    }

    fn allocated(&self) -> std::sync::MutexGuard<'_, Vec<Region>> {
        self.allocated.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `frame` is known to have space on disk.
    fn has_space(&self, frame: u64) -> bool {
        let ranges = self.allocated();
        let i = ranges.partition_point(|r| r.end() <= frame);
        ranges.get(i).is_some_and(|r| r.contains(frame))
    }

    fn note_allocated(&self, region: Region) {
        let mut ranges = self.allocated();
        ranges.push(region);
        ranges.sort_unstable_by_key(|r| r.first);
        let mut merged: Vec<Region> = Vec::with_capacity(ranges.len());
        for r in ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if r.first <= last.end() => last.count = last.end().max(r.end()) - last.first,
                _ => merged.push(r),
            }
        }
        *ranges = merged;
    }

    fn os_error(&self, action: &'static str, bytes: u64, source: std::io::Error) -> StorageError {
        StorageError::from_os(&self.name, action, bytes, source)
    }

    /// Gives the holes of `region` space by writing zeros into them: for
    /// file systems without `fallocate`.
    fn fill_holes(&self, region: Region) -> Result<(), StorageError> {
        const CHUNK_FRAMES: u64 = 256;
        let zeros = vec![0u8; CHUNK_FRAMES as usize * FRAME_SIZE];
        let mut next = region.first;
        for data in self.data_extents(region)?.into_iter().chain([Region { first: region.end(), count: 0 }]) {
            while next < data.first {
                let count = (data.first - next).min(CHUNK_FRAMES);
                let bytes = &zeros[..count as usize * FRAME_SIZE];
                self.file
                    .write_all_at(bytes, next * FRAME_BYTES)
                    .map_err(|e| self.os_error("allocating space for the image", bytes.len() as u64, e))?;
                next += count;
            }
            next = next.max(data.end());
        }
        Ok(())
    }

    fn seek(&self, at: u64, whence: Whence) -> Result<Option<u64>, StorageError> {
        match lseek(self.file.as_raw_fd(), at as i64, whence) {
            Ok(offset) => Ok(Some(offset as u64)),
            // No data at or after `at`.
            Err(nix::errno::Errno::ENXIO) => Ok(None),
            Err(e) => Err(self.os_error("looking for the image's holes", 0, e.into())),
        }
    }
}

/// Opens `path` only if it is a regular file, without ever blocking: a
/// FIFO opened for reading would wait for a writer.
fn open_regular(path: &Path, options: &mut OpenOptions) -> Result<File, ImageError> {
    let metadata = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    refuse_irregular(path, &metadata)?;
    let file =
        options.custom_flags(nix::libc::O_NONBLOCK).open(path).map_err(|source| io_error(path, source))?;
    // The path may have been replaced between the stat and the open.
    refuse_irregular(path, &file.metadata().map_err(|source| io_error(path, source))?)?;
    // O_NONBLOCK has no effect on a regular file's reads and writes.
    Ok(file)
}

fn refuse_irregular(path: &Path, metadata: &std::fs::Metadata) -> Result<(), ImageError> {
    let t = metadata.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(ImageError::NotRegularFile { path: path.to_path_buf(), kind })
}

/// Why a file shorter than one frame is not an image: cut short, if it
/// starts like a label; else not an image at all.
fn short_file(file: &File, len: u64) -> ImageError {
    let mut start = [0u8; 24];
    let read = file.read_at(&mut start, 0).unwrap_or(0);
    if read < LABEL_MAGIC.len() || &start[..LABEL_MAGIC.len()] != LABEL_MAGIC {
        return ImageError::NotAnImage;
    }
    // The label's total-frame count, if that much of it is there.
    let described = (read == start.len()).then(|| read_u64(&start, 16).saturating_mul(FRAME_BYTES));
    ImageError::Truncated { bytes: len, expected: described.unwrap_or(3 * FRAME_BYTES) }
}

fn io_error(path: &Path, source: std::io::Error) -> ImageError {
    ImageError::Io { path: path.to_path_buf(), error: source }
}

impl Storage for MmapStorage {
    fn memory(&self) -> &FrameMemory {
        &self.memory
    }

    fn grant_write(&self, frame: u64) -> Result<(), StorageError> {
        self.check_writable()?;
        if !self.has_space(frame) {
            self.allocate(Region { first: frame, count: 1 })?;
        }
        Ok(())
    }

    fn write(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        self.check_writable()?;
        if self.has_space(frame) {
            self.memory.write(frame, offset, data);
            return Ok(());
        }
        // Bounds as the mapping would check them: a write never crosses a frame.
        assert!(
            frame < self.memory.frame_count() && offset + data.len() <= FRAME_SIZE,
            "MMAP002 write of {}+{} into frame {frame} outside the image",
            offset,
            data.len()
        );
        self.file
            .write_all_at(data, frame * FRAME_BYTES + offset as u64)
            .map_err(|e| self.os_error("writing a frame", FRAME_BYTES, e))
    }

    fn store(&self, frame: u64, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        // Granted first, so it has space: the hot path takes no lock.
        self.check_writable()?;
        self.memory.write(frame, offset, data);
        Ok(())
    }

    fn sync(&self, region: Region) -> Result<(), StorageError> {
        self.check_writable()?;
        if region.count == 0 {
            return Ok(());
        }
        let offset = (region.first * FRAME_BYTES) as usize;
        let len = (region.count * FRAME_BYTES) as usize;
        self.map
            .flush_range(offset, len)
            .map_err(|e| self.os_error("syncing the image to disk", len as u64, e))
    }

    fn read_frame(&self, frame: u64) -> Box<crate::frame::Frame> {
        let mut out = Box::new([0u8; FRAME_SIZE]);
        self.read(frame, 0, &mut out[..]);
        out
    }

    fn read(&self, frame: u64, offset: usize, buf: &mut [u8]) {
        if self.writable {
            return self.memory.read(frame, offset, buf);
        }
        assert!(
            frame < self.memory.frame_count() && offset + buf.len() <= FRAME_SIZE,
            "MMAP003 read of {offset}+{} from frame {frame} outside the image",
            buf.len()
        );
        if self.file.read_exact_at(buf, frame * FRAME_BYTES + offset as u64).is_err() {
            buf.fill(0);
            self.failed_reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn is_writable(&self) -> bool {
        self.writable
    }

    fn failed_reads(&self) -> u64 {
        self.failed_reads.load(Ordering::Relaxed)
    }

    fn allocate(&self, region: Region) -> Result<(), StorageError> {
        self.check_writable()?;
        if region.count == 0 {
            return Ok(());
        }
        let (offset, len) = ((region.first * FRAME_BYTES) as i64, (region.count * FRAME_BYTES) as i64);
        match fallocate(self.file.as_raw_fd(), FallocateFlags::FALLOC_FL_KEEP_SIZE, offset, len) {
            Ok(()) => {}
            Err(nix::errno::Errno::EOPNOTSUPP) => self.fill_holes(region)?,
            Err(e) => {
                let holes = self.unallocated_frames(region).unwrap_or(region.count);
                return Err(self.os_error("allocating space for the image", holes * FRAME_BYTES, e.into()));
            }
        }
        self.note_allocated(region);
        Ok(())
    }

    fn unallocated_frames(&self, region: Region) -> Result<u64, StorageError> {
        let data: u64 = self.data_extents(region)?.iter().map(|r| r.count).sum();
        Ok(region.count - data)
    }

    fn read_frames(&self, first: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.file
            .read_exact_at(buf, first * FRAME_BYTES)
            .map_err(|e| self.os_error("reading the image", 0, e))
    }

    fn data_extents(&self, region: Region) -> Result<Vec<Region>, StorageError> {
        let (start, end) = (region.first * FRAME_BYTES, region.end() * FRAME_BYTES);
        let mut extents = Vec::new();
        let mut at = start;
        while at < end {
            let Some(data) = self.seek(at, Whence::SeekData)? else { break };
            if data >= end {
                break;
            }
            let hole = self.seek(data, Whence::SeekHole)?.unwrap_or(end).min(end);
            let (first, last) = (data / FRAME_BYTES, hole.div_ceil(FRAME_BYTES));
            extents.push(Region { first, count: last - first });
            at = last * FRAME_BYTES;
        }
        Ok(extents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What opening `path` for writing, and for reading only, says it is.
    fn refused(path: &Path) -> &'static str {
        let kinds = [MmapStorage::open(path), MmapStorage::open_read_only(path)].map(|result| match result {
            Err(ImageError::NotRegularFile { kind, .. }) => kind,
            Err(other) => panic!("{}: {other}", path.display()),
            Ok(_) => panic!("{} was opened", path.display()),
        });
        assert_eq!(kinds[0], kinds[1]);
        kinds[0]
    }

    #[test]
    fn only_regular_files_are_opened_and_a_fifo_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.img");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(refused(&fifo), "a FIFO (named pipe)");
        assert_eq!(refused(dir.path()), "a directory");
        assert_eq!(refused(Path::new("/dev/null")), "a character device");
    }

    #[test]
    fn a_short_file_is_truncated_if_it_starts_like_a_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.img");
        let mut start = LABEL_MAGIC.to_vec();
        start.extend_from_slice(&[0; 8]);
        start.extend_from_slice(&4096u64.to_le_bytes());
        std::fs::write(&path, &start).unwrap();
        match MmapStorage::open_read_only(&path) {
            Err(ImageError::Truncated { bytes: 24, expected }) => assert_eq!(expected, 4096 * FRAME_BYTES),
            other => panic!("{:?}", other.err()),
        }
        std::fs::write(&path, b"not an image").unwrap();
        assert!(matches!(MmapStorage::open(&path), Err(ImageError::NotAnImage)));
    }

    #[test]
    fn frames_without_space_are_written_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse.img");
        let s = MmapStorage::create(&path, 64).unwrap();
        s.allocate(Region { first: 0, count: 4 }).unwrap();
        // On tmpfs the whole image has space from the start.
        assert!(s.has_space(3) && s.has_space(4) == s.faults_allocate());
        s.write(40, 100, b"home").unwrap();
        s.write(2, 0, b"fixed").unwrap();
        s.grant_write(50).unwrap();
        assert!(s.has_space(50), "a granted frame is allocated first");
        s.store(50, 8, b"stored").unwrap();
        s.sync_all().unwrap();
        let mut b = [0u8; 4];
        s.memory().read(40, 100, &mut b);
        assert_eq!(&b, b"home", "the mapping sees what went through the file");
        drop(s);
        let r = MmapStorage::open_read_only(&path).unwrap();
        let mut six = [0u8; 6];
        r.read(50, 8, &mut six);
        assert_eq!(&six, b"stored");
        assert_eq!(r.read_frame(2)[..5], *b"fixed");
        let extents = r.data_extents(Region { first: 0, count: 64 }).unwrap();
        for frame in [2, 40, 50] {
            assert!(extents.iter().any(|e| e.contains(frame)), "frame {frame} holds data: {extents:?}");
        }
        assert!(!extents.iter().any(|e| e.contains(20)), "frame 20 is a hole: {extents:?}");
        assert_eq!(r.failed_reads(), 0);
        assert!(matches!(r.write(0, 0, &[1]), Err(StorageError::ReadOnly)));
        assert!(matches!(r.allocate(Region { first: 0, count: 1 }), Err(StorageError::ReadOnly)));
    }
}
