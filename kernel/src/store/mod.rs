//! The working-state path: where the current version of every home frame is.
//!
//! The committed checkpoint is never modified in place (design.md,
//! "The working-state invariant"). Every home frame (page, node pot,
//! allocation pot, checksum pot) has up to three versions:
//!
//! * **working** (`W`): written since the last snapshot; lives in the
//!   working checkpoint area, which no valid header refers to;
//! * **frozen** (`F`): the snapshot being written, or the last committed
//!   checkpoint's frames not yet migrated; lives in the other area;
//! * **home**: the frame at its home location.
//!
//! The current version is the first of W, F, home that exists. The first
//! write to a frame in an epoch copies its current version into a fresh
//! working-area frame ("copy on write"); later writes go there directly.
//! Because only W frames are ever written by domains and the kernel, the OS
//! may flush any mapped byte at any time without harm.
//!
//! Versions in the areas were verified against their directory at restart;
//! a home frame is verified the first time it is used after restart (a page
//! against its checksum-pot entry, a pot against its seal). A frame that
//! fails is recorded as damage: the kernel stops before anything built on
//! it can be checkpointed.

mod area;

pub use area::{AreaAllocator, Claim, Reserve};

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use disk_image::frame::{frame_seal_ok, read_u32, seal};
use disk_image::layout::HomeKind;
use disk_image::storage::Storage;
use disk_image::{FRAME_SIZE, Layout, StorageError};
use rustc_hash::FxHashMap;

/// A map from home frame to the absolute frame holding a newer version.
pub type FrameMap = FxHashMap<u64, u64>;

/// Errors of the working-state path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The working area has no frame left that the writer may take: a
    /// checkpoint must be taken before more frames can be written.
    #[error("the working checkpoint area is full; a checkpoint is needed")]
    AreaFull,
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The versions of the home frames, and the storage under them.
pub struct Store {
    storage: Arc<dyn Storage>,
    layout: Layout,
    working: FrameMap,
    frozen: Arc<FrameMap>,
    area: AreaAllocator,
    /// Changes whenever a frame's current location changes; address
    /// translation caches compare it to know they are stale.
    location_generation: u64,
    /// A home frame written in place, never checkpointed (the journal page).
    pinned: Option<u64>,
    /// One bit per home frame: verified since restart.
    verified: Vec<Cell<u64>>,
    /// Home frames that failed verification.
    damaged: RefCell<Vec<u64>>,
}

impl Store {
    /// A store over `storage` whose frozen set is `frozen` (the committed
    /// directory at restart, or empty) and whose working area is `working_area`.
    pub fn new(storage: Arc<dyn Storage>, layout: Layout, frozen: FrameMap, working_area: usize) -> Store {
        let area = AreaAllocator::new(layout.areas[working_area], working_area);
        Store {
            storage,
            layout,
            working: FrameMap::default(),
            frozen: Arc::new(frozen),
            area,
            location_generation: 1,
            pinned: None,
            verified: (0..layout.home().count.div_ceil(64)).map(|_| Cell::new(0)).collect(),
            damaged: RefCell::new(Vec::new()),
        }
    }

    /// The storage under the store.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The image's regions.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The location generation (see the field).
    pub fn location_generation(&self) -> u64 {
        self.location_generation
    }

    /// Marks every cached translation stale.
    pub fn bump_location_generation(&mut self) {
        self.location_generation += 1;
    }

    /// The frame holding the current version of `home`.
    pub fn current(&self, home: u64) -> u64 {
        debug_assert!(self.layout.home().contains(home), "STORE001 {home} is not a home frame");
        if let Some(&f) = self.working.get(&home) {
            return f;
        }
        if let Some(&f) = self.frozen.get(&home) {
            return f;
        }
        self.verify_home(home);
        home
    }

    /// Verifies a home frame the first time it is used.
    fn verify_home(&self, home: u64) {
        let index = (home - self.layout.home().first) as usize;
        let (word, bit) = (&self.verified[index / 64], 1u64 << (index % 64));
        if word.get() & bit != 0 {
            return;
        }
        word.set(word.get() | bit);
        let content = self.storage.read_frame(home);
        let ok = match self.layout.home_kind(home) {
            Some(HomeKind::Page(_)) if self.pinned == Some(home) => true,
            Some(HomeKind::Page(page)) => {
                let (pot, index) = self.layout.checksum_place(page);
                let mut entry = [0u8; 4];
                self.storage.read(self.current(pot), disk_image::pots::entry_offset(index), &mut entry);
                seal(&content[..]) == read_u32(&entry, 0)
            }
            _ => frame_seal_ok(&content),
        };
        if !ok {
            self.damaged.borrow_mut().push(home);
        }
    }

    /// The first home frame found damaged, if any.
    pub fn damage(&self) -> Option<u64> {
        self.damaged.borrow().first().copied()
    }

    /// Whether `home` has a working version (was written this epoch).
    pub fn is_working(&self, home: u64) -> bool {
        self.working.contains_key(&home)
    }

    /// Makes `home` the pinned frame: written in place, never checkpointed.
    pub fn set_pinned(&mut self, home: u64) {
        assert!(
            !self.working.contains_key(&home) && !self.frozen.contains_key(&home),
            "STORE004 pinning a versioned frame"
        );
        self.pinned = Some(home);
    }

    /// Whether `home` is the pinned frame.
    pub fn is_pinned(&self, home: u64) -> bool {
        self.pinned == Some(home)
    }

    /// The frame to write `home` through on the kernel's behalf (see
    /// [`Store::writable_for`]).
    pub fn writable(&mut self, home: u64) -> Result<u64, StoreError> {
        self.writable_for(home, Claim::Kernel)
    }

    /// The frame to write `home` through, copying it into the working area
    /// first if this is its first write of the epoch (the pinned frame is
    /// written in place); a copy takes a frame only if `claim` may.
    pub fn writable_for(&mut self, home: u64, claim: Claim) -> Result<u64, StoreError> {
        if let Some(&f) = self.working.get(&home) {
            return Ok(f);
        }
        if self.pinned == Some(home) {
            self.storage.grant_write(home)?;
            return Ok(home);
        }
        let from = self.current(home);
        let to = self.area.allocate(home, claim).ok_or(StoreError::AreaFull)?;
        self.storage.copy_frame(from, to)?;
        self.storage.grant_write(to)?;
        self.working.insert(home, to);
        self.location_generation += 1;
        Ok(to)
    }

    /// Copies bytes of the current version of `home` at `offset`.
    pub fn read(&self, home: u64, offset: usize, buf: &mut [u8]) {
        self.storage.read(self.current(home), offset, buf);
    }

    /// A copy of the current version of `home`.
    pub fn read_frame(&self, home: u64) -> Box<disk_image::Frame> {
        self.storage.read_frame(self.current(home))
    }

    /// Writes bytes into `home` at `offset` on the kernel's behalf
    /// (copying on first write).
    pub fn write(&mut self, home: u64, offset: usize, data: &[u8]) -> Result<(), StoreError> {
        self.write_for(home, offset, data, Claim::Kernel)
    }

    /// Writes bytes into `home` at `offset` for `claim` (copying on first
    /// write).
    pub fn write_for(
        &mut self,
        home: u64,
        offset: usize,
        data: &[u8],
        claim: Claim,
    ) -> Result<(), StoreError> {
        debug_assert!(offset + data.len() <= FRAME_SIZE, "STORE002 write crosses a frame");
        let frame = self.writable_for(home, claim)?;
        self.storage.store(frame, offset, data)?;
        Ok(())
    }

    /// The working-area allocator (for reserve accounting).
    pub fn area(&self) -> &AreaAllocator {
        &self.area
    }

    /// Sets the frames of the working area kept back from writers.
    pub fn set_reserve(&mut self, reserve: Reserve) {
        self.area.set_reserve(reserve);
    }

    /// Frames written this epoch, and the working map.
    pub fn working(&self) -> &FrameMap {
        &self.working
    }

    /// The frozen map (snapshot or unmigrated committed frames).
    pub fn frozen(&self) -> &Arc<FrameMap> {
        &self.frozen
    }

    /// Freezes the working set: it becomes the frozen set and a new, empty
    /// working set starts in the other area. The frozen set must be empty
    /// (the previous checkpoint fully migrated). Returns the frozen area's
    /// allocator state, which the checkpoint writer continues to use for its
    /// own frames. Constant time: two map swaps.
    pub fn freeze(&mut self) -> AreaAllocator {
        assert!(self.frozen.is_empty(), "STORE003 freeze while the previous checkpoint is unmigrated");
        let next_area = 1 - self.area.index();
        let fresh = AreaAllocator::new(self.layout.areas[next_area], next_area);
        let frozen_area = std::mem::replace(&mut self.area, fresh);
        self.frozen = Arc::new(std::mem::take(&mut self.working));
        self.area.set_reserve(frozen_area.reserve());
        self.location_generation += 1;
        frozen_area
    }

    /// Adds frames the checkpoint writer placed in the frozen area (e.g.
    /// checksum pots) so reads find them.
    pub fn extend_frozen(&mut self, frames: impl IntoIterator<Item = (u64, u64)>) {
        let map = Arc::make_mut(&mut self.frozen);
        map.extend(frames);
        self.location_generation += 1;
    }

    /// Forgets the frozen set once migration has copied it home and a
    /// migrated header is durable.
    pub fn release_frozen(&mut self) {
        self.frozen = Arc::new(FrameMap::default());
        self.location_generation += 1;
    }
}
