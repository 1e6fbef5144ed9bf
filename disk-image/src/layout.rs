//! The image's geometry and its volume label (frame 0).
//!
//! An image is a sequence of 4 KiB frames divided into regions, always in
//! this order:
//!
//! ```text
//! frame 0            volume label (this module)
//! frames 1, 2        checkpoint header, primary then secondary
//! process lists      two slots, alternating by checkpoint generation
//! journal            journal slots: two descriptor frames and two data frames each
//! checksum pots      sealed CRC of every page's home frame, 1023 per pot
//! allocation pots    allocation id of every page, 1023 per pot
//! node pots          15 nodes per pot
//! pages              one frame per page, page CDA n at pages.first + n
//! checkpoint area 0  working / committed, alternating
//! checkpoint area 1
//! ```
//!
//! Checksum pots, allocation pots, node pots and pages are the **home
//! frames**: the checkpointed state. The label records the counts; every
//! offset is derived from them, so a label cannot describe overlapping
//! regions. The label is written once, by `format`, and never again.

use crate::error::ImageError;
use crate::frame::{self, FRAME_SIZE, Frame};

/// Magic at offset 0 of frame 0.
pub const LABEL_MAGIC: &[u8; 8] = b"GNOSISIM";
/// The image format this crate reads and writes (2: a committed header may
/// keep the previous checkpoint restartable).
pub const FORMAT_VERSION: u32 = 2;
/// Pages covered by one allocation pot or one checksum pot.
pub const PAGES_PER_POT: u64 = 1023;
/// Nodes in one node pot.
pub const NODES_PER_POT: u64 = 15;
/// Process-list entries (root node CDAs, 8 bytes each) in one frame.
pub const PROCESSES_PER_FRAME: u64 = (FRAME_SIZE / 8) as u64;
/// Smallest image `format` accepts.
pub const MIN_IMAGE_BYTES: u64 = 2 << 20;
/// Largest image `format` accepts (1 PiB): checkpoint areas stop growing
/// at 2^32 frames, and the checkpoint writer's reserve in them grows with
/// the pages (a checksum pot per 1023).
pub const MAX_IMAGE_BYTES: u64 = 1 << 50;
/// Frames in each checkpoint area, as a fraction of the image: 1/8 each.
const AREA_FRACTION: u64 = 8;
/// Frames in one journal slot: descriptor A, descriptor B, data 0, data 1.
pub const JOURNAL_SLOT_FRAMES: u64 = 4;
/// Journal slots in a default image.
const DEFAULT_JOURNAL_SLOTS: u32 = 32;
/// Pages per node in a default image: one node for every four pages.
const PAGES_PER_NODE: u64 = 4;
/// Fewest journal slots: the journal page's record alternates between two.
pub const MIN_JOURNAL_SLOTS: u32 = 2;
/// Fewest pages: page 0 and the journal page (page 1).
pub const MIN_PAGES: u64 = 2;
/// Most pages, and most nodes: a CDA has 47 bits of object number.
pub const MAX_OBJECTS: u64 = 1 << 47;
/// Fewest frames in a checkpoint area.
pub const MIN_AREA_FRAMES: u64 = 64;
/// Frames of a checkpoint area beyond the writer's own that a label must
/// leave for working state (see [`Geometry::min_area_frames`]).
pub const AREA_MARGIN_FRAMES: u64 = 48;
/// Directory entries per frame (`crate::directory::ENTRIES_PER_FRAME`).
const ENTRIES_PER_DIRECTORY_FRAME: u64 = crate::directory::ENTRIES_PER_FRAME as u64;

/// A contiguous run of frames: `first .. first + count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First frame of the region.
    pub first: u64,
    /// Frames in the region.
    pub count: u64,
}

impl Region {
    /// One past the last frame.
    pub fn end(&self) -> u64 {
        self.first + self.count
    }

    /// Whether `frame` lies inside the region.
    pub fn contains(&self, frame: u64) -> bool {
        frame >= self.first && frame < self.end()
    }
}

/// The counts a label records; everything else is derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Frames in the whole image.
    pub total_frames: u64,
    /// Pages in the page range.
    pub page_count: u64,
    /// Node pots in the node range (nodes = pots × 15).
    pub node_pot_count: u64,
    /// Frames in each of the two checkpoint areas.
    pub area_frames: u64,
    /// Journal slots (four frames each).
    pub journal_slots: u32,
    /// Frames in each of the two process-list slots.
    pub process_list_frames: u32,
}

/// Every region of an image, derived from a [`Geometry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The counts this layout was derived from.
    pub geometry: Geometry,
    /// Frame 0.
    pub label: Region,
    /// Frames 1 and 2.
    pub headers: Region,
    /// The two process-list slots (slot s at `first + s × process_list_frames`).
    pub process_lists: Region,
    /// Journal slots: two descriptor frames then two data frames each.
    pub journal: Region,
    /// Checksum pots (covering pages).
    pub checksum_pots: Region,
    /// Allocation pots (covering pages).
    pub allocation_pots: Region,
    /// Node pots.
    pub node_pots: Region,
    /// Pages.
    pub pages: Region,
    /// The two checkpoint areas.
    pub areas: [Region; 2],
}

/// What kind of home frame a frame number designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HomeKind {
    /// A checksum pot; the index is the pot number.
    ChecksumPot(u64),
    /// An allocation pot; the index is the pot number.
    AllocationPot(u64),
    /// A node pot; the index is the pot number.
    NodePot(u64),
    /// A page; the index is the page number (its CDA).
    Page(u64),
}

impl Geometry {
    /// The default geometry for an image of `bytes` bytes.
    pub fn for_size(bytes: u64) -> Result<Geometry, ImageError> {
        if bytes < MIN_IMAGE_BYTES {
            return Err(ImageError::TooSmall { bytes, minimum: MIN_IMAGE_BYTES });
        }
        if bytes > MAX_IMAGE_BYTES {
            return Err(ImageError::TooBig { bytes, maximum: MAX_IMAGE_BYTES });
        }
        let total_frames = bytes / FRAME_SIZE as u64;
        // Directories number area frames in 32 bits.
        let area_frames = (total_frames / AREA_FRACTION).clamp(MIN_AREA_FRAMES, u64::from(u32::MAX));
        let journal_slots = DEFAULT_JOURNAL_SLOTS;
        let fixed = 3 + JOURNAL_SLOT_FRAMES * u64::from(journal_slots) + 2 * area_frames;
        let room = total_frames.saturating_sub(fixed);
        // Each page costs its frame plus its share of a checksum pot, an
        // allocation pot, node pots and process-list entries; start from that
        // ratio and step down until everything fits.
        let mut page_count = room / 1021 * 1000 + room % 1021 * 1000 / 1021;
        loop {
            let geometry = Geometry::with_pages(total_frames, page_count, area_frames, journal_slots);
            if geometry.frames_needed().is_some_and(|n| n <= total_frames) {
                return Ok(geometry);
            }
            page_count -= (page_count / 1000).max(1);
        }
    }

    fn with_pages(total_frames: u64, page_count: u64, area_frames: u64, journal_slots: u32) -> Geometry {
        let node_count = (page_count / PAGES_PER_NODE).max(NODES_PER_POT);
        let node_pot_count = node_count.div_ceil(NODES_PER_POT);
        // A domain needs at least three nodes; one entry per possible domain.
        let max_processes = (node_pot_count * NODES_PER_POT).div_ceil(3);
        let process_list_frames = max_processes.div_ceil(PROCESSES_PER_FRAME) as u32;
        Geometry { total_frames, page_count, node_pot_count, area_frames, journal_slots, process_list_frames }
    }

    /// Pots needed to cover the pages (checksum pots and allocation pots each).
    pub fn pots_for_pages(&self) -> u64 {
        self.page_count.div_ceil(PAGES_PER_POT)
    }

    /// Nodes in the node range.
    pub fn node_count(&self) -> u64 {
        self.node_pot_count.saturating_mul(NODES_PER_POT)
    }

    /// Maximum entries in one process-list slot.
    pub fn process_capacity(&self) -> u64 {
        u64::from(self.process_list_frames) * PROCESSES_PER_FRAME
    }

    /// Frames every region needs, from the label to the end of area 1;
    /// `None` if the counts overflow (a crafted label).
    fn frames_needed(&self) -> Option<u64> {
        let fixed = 3u64.checked_add(2 * u64::from(self.process_list_frames))?;
        [
            JOURNAL_SLOT_FRAMES.checked_mul(u64::from(self.journal_slots))?,
            self.pots_for_pages().checked_mul(2)?,
            self.node_pot_count,
            self.page_count,
            self.area_frames.checked_mul(2)?,
        ]
        .into_iter()
        .try_fold(fixed, u64::checked_add)
    }

    /// Frames a checkpoint area needs at least: the checkpoint writer's own
    /// frames (a checksum pot per 1023 pages, the directory, two more; see
    /// the kernel's `writer_reserve`) and [`AREA_MARGIN_FRAMES`] for the
    /// working state the kernel keeps in reserve.
    pub fn min_area_frames(&self) -> u64 {
        let writer = self.pots_for_pages() + self.area_frames.div_ceil(ENTRIES_PER_DIRECTORY_FRAME) + 2;
        (writer + AREA_MARGIN_FRAMES).max(MIN_AREA_FRAMES)
    }

    /// Checks every count against the bounds the kernel relies on, each
    /// error naming its field; then that the regions fit in the image.
    fn check(&self) -> Result<(), ImageError> {
        let bad = ImageError::bad_label;
        if !(MIN_PAGES..=MAX_OBJECTS).contains(&self.page_count) {
            return Err(bad(
                "page count",
                format!("{} is not in {MIN_PAGES}..={MAX_OBJECTS}", self.page_count),
            ));
        }
        if !(1..=MAX_OBJECTS / NODES_PER_POT).contains(&self.node_pot_count) {
            return Err(bad(
                "node pot count",
                format!("{} is not in 1..={}", self.node_pot_count, MAX_OBJECTS / NODES_PER_POT),
            ));
        }
        if self.journal_slots < MIN_JOURNAL_SLOTS {
            return Err(bad(
                "journal slots",
                format!(
                    "{} is fewer than {MIN_JOURNAL_SLOTS} (the journal page alternates between two slots)",
                    self.journal_slots
                ),
            ));
        }
        if self.process_capacity().saturating_mul(3) < self.node_count() {
            return Err(bad(
                "frames per process-list slot",
                format!(
                    "{} hold {} entries, fewer than one per three of the {} nodes",
                    self.process_list_frames,
                    self.process_capacity(),
                    self.node_count()
                ),
            ));
        }
        if self.area_frames > u64::from(u32::MAX) {
            return Err(bad(
                "frames per checkpoint area",
                format!(
                    "{} exceed {} (directories number area frames in 32 bits)",
                    self.area_frames,
                    u32::MAX
                ),
            ));
        }
        if self.area_frames < self.min_area_frames() {
            return Err(bad(
                "frames per checkpoint area",
                format!(
                    "{} are fewer than {} (the checkpoint writer's frames and the kernel's reserve)",
                    self.area_frames,
                    self.min_area_frames()
                ),
            ));
        }
        match self.frames_needed() {
            Some(needed) if needed <= self.total_frames => Ok(()),
            needed => Err(bad(
                "total frames",
                format!(
                    "{} are fewer than the regions need ({})",
                    self.total_frames,
                    needed.map_or("more than 2^64".to_string(), |n| n.to_string())
                ),
            )),
        }
    }

    /// Derives every region, checking that they fit in the image.
    pub fn layout(&self) -> Result<Layout, ImageError> {
        self.check()?;
        let mut next = 0;
        let mut take = |count: u64| {
            let region = Region { first: next, count };
            next += count;
            region
        };
        let label = take(1);
        let headers = take(2);
        let process_lists = take(2 * u64::from(self.process_list_frames));
        let journal = take(JOURNAL_SLOT_FRAMES * u64::from(self.journal_slots));
        let checksum_pots = take(self.pots_for_pages());
        let allocation_pots = take(self.pots_for_pages());
        let node_pots = take(self.node_pot_count);
        let pages = take(self.page_count);
        let areas = [take(self.area_frames), take(self.area_frames)];
        Ok(Layout {
            geometry: *self,
            label,
            headers,
            process_lists,
            journal,
            checksum_pots,
            allocation_pots,
            node_pots,
            pages,
            areas,
        })
    }
}

impl Layout {
    /// The home frames: checksum pots through pages, contiguous.
    pub fn home(&self) -> Region {
        Region { first: self.checksum_pots.first, count: self.pages.end() - self.checksum_pots.first }
    }

    /// What a home frame holds, or `None` for a frame outside the home region.
    pub fn home_kind(&self, frame: u64) -> Option<HomeKind> {
        let relative = |r: &Region| frame - r.first;
        if self.pages.contains(frame) {
            Some(HomeKind::Page(relative(&self.pages)))
        } else if self.node_pots.contains(frame) {
            Some(HomeKind::NodePot(relative(&self.node_pots)))
        } else if self.allocation_pots.contains(frame) {
            Some(HomeKind::AllocationPot(relative(&self.allocation_pots)))
        } else if self.checksum_pots.contains(frame) {
            Some(HomeKind::ChecksumPot(relative(&self.checksum_pots)))
        } else {
            None
        }
    }

    /// Bytes of a version of home frame `home` that its directory checksum
    /// covers: all of a page, a pot without its seal (see
    /// [`crate::frame::checksum_at`]).
    pub fn checksummed_len(&self, home: u64) -> usize {
        match self.home_kind(home) {
            Some(HomeKind::Page(_)) | None => FRAME_SIZE,
            Some(_) => FRAME_SIZE - 4,
        }
    }

    /// Home frame of page `page` (its page number).
    pub fn page_frame(&self, page: u64) -> u64 {
        debug_assert!(page < self.geometry.page_count, "LAYOUT001 page out of range");
        self.pages.first + page
    }

    /// Home frame of the node pot holding node `node`, and the node's index in it.
    pub fn node_place(&self, node: u64) -> (u64, usize) {
        debug_assert!(node < self.geometry.node_count(), "LAYOUT002 node out of range");
        (self.node_pots.first + node / NODES_PER_POT, (node % NODES_PER_POT) as usize)
    }

    /// Home frame of the allocation pot for `page`, and the entry index in it.
    pub fn allocation_place(&self, page: u64) -> (u64, usize) {
        (self.allocation_pots.first + page / PAGES_PER_POT, (page % PAGES_PER_POT) as usize)
    }

    /// Home frame of the checksum pot for `page`, and the entry index in it.
    pub fn checksum_place(&self, page: u64) -> (u64, usize) {
        (self.checksum_pots.first + page / PAGES_PER_POT, (page % PAGES_PER_POT) as usize)
    }

    /// First frame of process-list slot `slot` (0 or 1).
    pub fn process_list_slot(&self, slot: u32) -> Region {
        let count = u64::from(self.geometry.process_list_frames);
        Region { first: self.process_lists.first + u64::from(slot) * count, count }
    }

    /// The frames of journal slot `slot`.
    pub fn journal_slot(&self, slot: u32) -> JournalSlot {
        let first = self.journal.first + JOURNAL_SLOT_FRAMES * u64::from(slot);
        JournalSlot { descriptors: Region { first, count: 2 }, data: [first + 2, first + 3] }
    }
}

/// The frames of one journal slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalSlot {
    /// The two copies of the descriptor (adjacent: one sync covers both).
    pub descriptors: Region,
    /// The two data frames; a new record writes the one the current record
    /// does not use.
    pub data: [u64; 2],
}

/// Frame 0: what the image is and how it is laid out. Immutable after format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeLabel {
    /// Random identity of this image; headers carry it too.
    pub image_id: u64,
    /// When the image was formatted (Unix time, ns).
    pub created_unix_ns: u64,
    /// The region counts.
    pub geometry: Geometry,
}

mod label_offsets {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const FRAME_SIZE: usize = 12;
    pub const TOTAL_FRAMES: usize = 16;
    pub const IMAGE_ID: usize = 24;
    pub const CREATED: usize = 32;
    pub const PAGES_PER_POT: usize = 40;
    pub const NODES_PER_POT: usize = 44;
    pub const PAGE_COUNT: usize = 48;
    pub const NODE_POT_COUNT: usize = 56;
    pub const AREA_FRAMES: usize = 64;
    pub const JOURNAL_SLOTS: usize = 72;
    pub const PROCESS_LIST_FRAMES: usize = 76;
    pub const CHECKSUM: usize = 4092;
}

impl VolumeLabel {
    /// Encodes the label as frame 0.
    pub fn encode(&self) -> Box<Frame> {
        use label_offsets as o;
        let mut f = Box::new([0u8; FRAME_SIZE]);
        let g = &self.geometry;
        f[o::MAGIC..o::MAGIC + 8].copy_from_slice(LABEL_MAGIC);
        frame::write_u32(&mut f[..], o::VERSION, FORMAT_VERSION);
        frame::write_u32(&mut f[..], o::FRAME_SIZE, FRAME_SIZE as u32);
        frame::write_u64(&mut f[..], o::TOTAL_FRAMES, g.total_frames);
        frame::write_u64(&mut f[..], o::IMAGE_ID, self.image_id);
        frame::write_u64(&mut f[..], o::CREATED, self.created_unix_ns);
        frame::write_u32(&mut f[..], o::PAGES_PER_POT, PAGES_PER_POT as u32);
        frame::write_u32(&mut f[..], o::NODES_PER_POT, NODES_PER_POT as u32);
        frame::write_u64(&mut f[..], o::PAGE_COUNT, g.page_count);
        frame::write_u64(&mut f[..], o::NODE_POT_COUNT, g.node_pot_count);
        frame::write_u64(&mut f[..], o::AREA_FRAMES, g.area_frames);
        frame::write_u32(&mut f[..], o::JOURNAL_SLOTS, g.journal_slots);
        frame::write_u32(&mut f[..], o::PROCESS_LIST_FRAMES, g.process_list_frames);
        let sum = frame::checksum(&f[..o::CHECKSUM]);
        frame::write_u32(&mut f[..], o::CHECKSUM, sum);
        f
    }

    /// Decodes and validates frame 0. `file_bytes` is the image file's length.
    pub fn decode(f: &Frame, file_bytes: u64) -> Result<VolumeLabel, ImageError> {
        use label_offsets as o;
        if &f[o::MAGIC..o::MAGIC + 8] != LABEL_MAGIC {
            return Err(ImageError::NotAnImage);
        }
        let version = frame::read_u32(f, o::VERSION);
        if version > FORMAT_VERSION {
            return Err(ImageError::NewerFormat { found: version, supported: FORMAT_VERSION });
        }
        if version < FORMAT_VERSION {
            return Err(ImageError::OlderFormat { found: version, supported: FORMAT_VERSION });
        }
        if frame::checksum(&f[..o::CHECKSUM]) != frame::read_u32(f, o::CHECKSUM) {
            return Err(ImageError::LabelChecksum);
        }
        let constants_ok = frame::read_u32(f, o::FRAME_SIZE) == FRAME_SIZE as u32
            && u64::from(frame::read_u32(f, o::PAGES_PER_POT)) == PAGES_PER_POT
            && u64::from(frame::read_u32(f, o::NODES_PER_POT)) == NODES_PER_POT;
        if !constants_ok {
            return Err(ImageError::bad_label("frame and pot sizes", "differ from this build's"));
        }
        let geometry = Geometry {
            total_frames: frame::read_u64(f, o::TOTAL_FRAMES),
            page_count: frame::read_u64(f, o::PAGE_COUNT),
            node_pot_count: frame::read_u64(f, o::NODE_POT_COUNT),
            area_frames: frame::read_u64(f, o::AREA_FRAMES),
            journal_slots: frame::read_u32(f, o::JOURNAL_SLOTS),
            process_list_frames: frame::read_u32(f, o::PROCESS_LIST_FRAMES),
        };
        let Some(needed) = geometry.total_frames.checked_mul(FRAME_SIZE as u64) else {
            return Err(ImageError::bad_label(
                "total frames",
                format!("{} do not fit in a file (more than 2^64 bytes)", geometry.total_frames),
            ));
        };
        geometry.layout()?;
        if file_bytes < needed {
            return Err(ImageError::Truncated { bytes: file_bytes, expected: needed });
        }
        Ok(VolumeLabel {
            image_id: frame::read_u64(f, o::IMAGE_ID),
            created_unix_ns: frame::read_u64(f, o::CREATED),
            geometry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_geometries_fit_and_leave_little_unused() {
        for mib in [2u64, 3, 16, 64, 256, 1024, 4096] {
            let bytes = mib << 20;
            let g = Geometry::for_size(bytes).unwrap();
            let layout = g.layout().unwrap();
            let used = layout.areas[1].end();
            assert!(used <= g.total_frames, "{mib} MiB");
            let unused = g.total_frames - used;
            assert!(unused * 200 <= g.total_frames + 200, "{mib} MiB wastes {unused} frames");
            assert!(g.process_capacity() * 3 >= g.node_count());
        }
    }

    #[test]
    fn every_default_geometry_validates_and_sizes_beyond_a_label_are_refused() {
        let mut bytes = MIN_IMAGE_BYTES;
        while bytes <= MAX_IMAGE_BYTES {
            for size in [bytes, bytes + 12_345 * FRAME_SIZE as u64] {
                let g = Geometry::for_size(size).unwrap();
                g.layout().unwrap_or_else(|e| panic!("{size} bytes: {e}"));
                assert!(g.area_frames >= g.min_area_frames());
            }
            bytes *= 4;
        }
        assert!(matches!(Geometry::for_size(MAX_IMAGE_BYTES + 1), Err(ImageError::TooBig { .. })));
        assert!(matches!(Geometry::for_size(u64::MAX), Err(ImageError::TooBig { .. })));
    }

    #[test]
    fn label_round_trips_and_rejects_changes() {
        let g = Geometry::for_size(64 << 20).unwrap();
        let label = VolumeLabel { image_id: 42, created_unix_ns: 7, geometry: g };
        let bytes = 64 << 20;
        let f = label.encode();
        assert_eq!(VolumeLabel::decode(&f, bytes).unwrap(), label);
        let mut bad = f.clone();
        bad[60] ^= 1;
        assert!(matches!(VolumeLabel::decode(&bad, bytes), Err(ImageError::LabelChecksum)));
        assert!(matches!(VolumeLabel::decode(&f, bytes - 4096), Err(ImageError::Truncated { .. })));
    }

    #[test]
    fn regions_do_not_overlap_and_home_kinds_are_right() {
        let l = Geometry::for_size(16 << 20).unwrap().layout().unwrap();
        let order = [
            l.label,
            l.headers,
            l.process_lists,
            l.journal,
            l.checksum_pots,
            l.allocation_pots,
            l.node_pots,
            l.pages,
            l.areas[0],
            l.areas[1],
        ];
        for pair in order.windows(2) {
            assert_eq!(pair[0].end(), pair[1].first);
        }
        assert_eq!(l.home_kind(l.pages.first + 5), Some(HomeKind::Page(5)));
        assert_eq!(l.home_kind(l.node_pots.first), Some(HomeKind::NodePot(0)));
        assert_eq!(l.home_kind(l.areas[0].first), None);
        assert_eq!(l.node_place(16), (l.node_pots.first + 1, 1));
    }
}
