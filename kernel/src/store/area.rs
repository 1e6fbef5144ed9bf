//! Frame allocation inside a checkpoint area.
//!
//! An area is filled from its start, one frame per home frame written in the
//! epoch, and emptied all at once when it becomes the working area again.
//! The allocator remembers, for each frame it handed out, which home frame
//! it holds: that list is the checkpoint's directory.

use disk_image::Region;

/// Bump allocator over one checkpoint area.
#[derive(Clone, Debug)]
pub struct AreaAllocator {
    region: Region,
    index: usize,
    homes: Vec<u64>,
    reserve: u64,
}

impl AreaAllocator {
    /// An empty allocator over `region`, which is area `index`.
    pub fn new(region: Region, index: usize) -> AreaAllocator {
        AreaAllocator { region, index, homes: Vec::new(), reserve: 0 }
    }

    /// Which area (0 or 1).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The area's frames.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Frames handed out so far.
    pub fn used(&self) -> u64 {
        self.homes.len() as u64
    }

    /// Frames left, not counting the reserve.
    pub fn available(&self) -> u64 {
        self.region.count.saturating_sub(self.used() + self.reserve)
    }

    /// Frames kept back for finishing a checkpoint.
    pub fn reserve(&self) -> u64 {
        self.reserve
    }

    /// Sets the reserve.
    pub fn set_reserve(&mut self, frames: u64) {
        self.reserve = frames;
    }

    /// Hands out the next frame for a version of `home`, unless only the
    /// reserve is left.
    pub fn allocate(&mut self, home: u64) -> Option<u64> {
        (self.available() > 0).then(|| self.take(home))
    }

    /// Hands out the next frame even from the reserve (the checkpoint
    /// writer's own frames). `None` only if the area is truly full.
    pub fn allocate_reserved(&mut self, home: u64) -> Option<u64> {
        (self.used() < self.region.count).then(|| self.take(home))
    }

    fn take(&mut self, home: u64) -> u64 {
        let frame = self.region.first + self.used();
        self.homes.push(home);
        frame
    }

    /// Home frame of each handed-out frame, in area order.
    pub fn homes(&self) -> &[u64] {
        &self.homes
    }
}
