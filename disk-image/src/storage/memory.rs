//! A raw, shared view of the image's frames.
//!
//! This is one of the two places in the workspace with `unsafe` code (the
//! other is the mapping itself). The view hands out copies and raw pointers,
//! never Rust references into the image, so aliasing rules are not at stake;
//! what remains is the absence of data races, which the frame-ownership rule
//! of [`crate::storage::Storage`] provides.

use std::ptr::NonNull;

use crate::frame::{FRAME_BYTES, FRAME_SIZE};

/// Raw view of `frames` frames starting at a page-aligned base address.
#[derive(Debug)]
pub struct FrameMemory {
    base: NonNull<u8>,
    frames: u64,
}

// Safety: the view is a plain address range; sharing it between threads is
// sound because every access is a bounds-checked raw copy and the
// frame-ownership rule (see `Storage`) excludes concurrent writes to a frame
// that another thread reads or writes.
unsafe impl Send for FrameMemory {}
// Safety: as for `Send`.
unsafe impl Sync for FrameMemory {}

impl FrameMemory {
    /// Wraps `frames` frames at `base`.
    ///
    /// # Safety
    /// `base` must be valid for reads and writes of `frames × 4096` bytes
    /// for as long as the returned view (and any pointer it hands out) is
    /// used, and must not be freed or unmapped before then.
    pub unsafe fn new(base: NonNull<u8>, frames: u64) -> FrameMemory {
        FrameMemory { base, frames }
    }

    /// Frames in the view.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Address of the first byte of `frame`.
    ///
    /// Panics (tag `FRAMEMEM001`) if `frame` is outside the image: a kernel
    /// bug, since every frame number is derived from the validated layout.
    pub fn frame_ptr(&self, frame: u64) -> *mut u8 {
        assert!(frame < self.frames, "FRAMEMEM001 frame {frame} outside image of {}", self.frames);
        // Safety: `frame < frames`, so the offset stays inside the range
        // `new` was given.
        unsafe { self.base.as_ptr().add((frame * FRAME_BYTES) as usize) }
    }

    fn check_span(&self, frame: u64, offset: usize, len: usize) -> *mut u8 {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= FRAME_SIZE),
            "FRAMEMEM002 span {offset}+{len} crosses a frame boundary"
        );
        // Safety: `frame_ptr` checked the frame; `offset < FRAME_SIZE`.
        unsafe { self.frame_ptr(frame).add(offset) }
    }

    /// Copies `buf.len()` bytes out of `frame` starting at `offset`.
    pub fn read(&self, frame: u64, offset: usize, buf: &mut [u8]) {
        let src = self.check_span(frame, offset, buf.len());
        // Safety: `src .. src + len` lies inside one frame of the view
        // (checked above); `buf` is a distinct Rust allocation, so the ranges
        // cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) }
    }

    /// Copies `data` into `frame` at `offset`. Only `Storage`
    /// implementations call this, after recording the write.
    pub(crate) fn write(&self, frame: u64, offset: usize, data: &[u8]) {
        let dst = self.check_span(frame, offset, data.len());
        // Safety: as in `read`, with the roles of the ranges swapped.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) }
    }
}

/// A zeroed, page-aligned heap buffer: the volatile memory of the in-memory
/// storage twin.
pub(crate) struct AlignedBuffer {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

// Safety: the buffer is plain memory owned by this value; access goes
// through `FrameMemory`, which follows the frame-ownership rule.
unsafe impl Send for AlignedBuffer {}
// Safety: as for `Send`.
unsafe impl Sync for AlignedBuffer {}

impl AlignedBuffer {
    /// A buffer holding a copy of `bytes` (whose length is a whole number of frames).
    pub(crate) fn from_bytes(bytes: &[u8]) -> AlignedBuffer {
        assert!(
            !bytes.is_empty() && bytes.len().is_multiple_of(FRAME_SIZE),
            "FRAMEMEM003 buffer length {} is not a whole number of frames",
            bytes.len()
        );
        let layout =
            std::alloc::Layout::from_size_align(bytes.len(), FRAME_SIZE).expect("FRAMEMEM004 layout");
        // Safety: `layout` has a non-zero size (asserted above).
        let raw = unsafe { std::alloc::alloc(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        // Safety: `ptr` was just allocated with room for `bytes.len()` bytes
        // and cannot overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.as_ptr(), bytes.len()) };
        AlignedBuffer { ptr, layout }
    }

    /// A view of the whole buffer.
    pub(crate) fn view(&self) -> FrameMemory {
        // Safety: the buffer holds `layout.size()` bytes; the owner
        // (`FaultyStorage`) keeps it alive as long as the view.
        unsafe { FrameMemory::new(self.ptr, (self.layout.size() / FRAME_SIZE) as u64) }
    }

    /// Copies the whole buffer out.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.layout.size()];
        // Safety: the buffer is `layout.size()` bytes long and `out` is a
        // distinct allocation of the same length.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), out.as_mut_ptr(), out.len()) };
        out
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        // Safety: `ptr` was allocated in `from_bytes` with this `layout`.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}
