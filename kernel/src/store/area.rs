//! Frame allocation inside a checkpoint area.
//!
//! An area is filled from its start, one frame per home frame written in the
//! epoch, and emptied all at once when it becomes the working area again.
//! The allocator remembers, for each frame it handed out, which home frame
//! it holds: that list is the checkpoint's directory.
//!
//! Not every writer may take the last frames. The [`Reserve`] keeps some
//! back: the checkpoint's own frames from everyone, and a margin for the
//! kernel's work from domains' stores, so that a domain filling its memory
//! can never leave the kernel without room to answer an invocation, deliver
//! a reply or take the checkpoint that empties the area (design.md §4,
//! "Room in the working area").

use disk_image::Region;

/// Who asks for a frame: the rule of [`AreaAllocator::allocate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A domain's store to its memory: stops short of the whole reserve.
    Domain,
    /// The kernel's own work (invocations, replies, traps, the host's
    /// builder), gated by a room check before it starts: stops short of
    /// the checkpoint's part of the reserve only.
    Kernel,
}

/// Frames of the area kept back from writers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reserve {
    /// Kept back from every writer but the checkpoint: the checkpoint
    /// writer's frames and the write-back of cached domains and meters at
    /// the snapshot.
    pub checkpoint: u64,
    /// Kept back, in addition, from domains' stores: the kernel's margin.
    pub kernel: u64,
}

/// Bump allocator over one checkpoint area.
#[derive(Clone, Debug)]
pub struct AreaAllocator {
    region: Region,
    index: usize,
    homes: Vec<u64>,
    reserve: Reserve,
}

impl AreaAllocator {
    /// An empty allocator over `region`, which is area `index`.
    pub fn new(region: Region, index: usize) -> AreaAllocator {
        AreaAllocator { region, index, homes: Vec::new(), reserve: Reserve::default() }
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

    /// Frames `claim` may still take.
    pub fn available(&self, claim: Claim) -> u64 {
        let kept = match claim {
            Claim::Domain => self.reserve.checkpoint + self.reserve.kernel,
            Claim::Kernel => self.reserve.checkpoint,
        };
        self.region.count.saturating_sub(self.used() + kept)
    }

    /// The frames kept back.
    pub fn reserve(&self) -> Reserve {
        self.reserve
    }

    /// Sets the frames kept back.
    pub fn set_reserve(&mut self, reserve: Reserve) {
        self.reserve = reserve;
    }

    /// Hands out the next frame for a version of `home`, if `claim` may
    /// take one.
    pub fn allocate(&mut self, home: u64, claim: Claim) -> Option<u64> {
        (self.available(claim) > 0).then(|| self.take(home))
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
