//! Formatting an image and opening one: validation that never writes.
//!
//! [`open`] reads the label and both header slots, picks the newest header
//! that validates, and offers to load what that header relies on (directory,
//! process list, journal records), verifying every checksum on the way. If
//! the newest header's directory or process list is damaged and the other
//! slot holds an older header, [`open`]'s caller can fall back to it with
//! [`OpenedImage::fallback`].

use crate::directory::{self, DirectoryEntry};
use crate::error::{HeaderProblem, ImageError, StorageError};
use crate::frame::{self, FRAME_BYTES, Frame};
use crate::header::{CheckpointHeader, CheckpointState, DirectoryLocation, ProcessListLocation};
use crate::journal::JournalDescriptor;
use crate::layout::{Geometry, Layout, Region, VolumeLabel};
use crate::storage::Storage;

/// An image whose label and newest header validated.
#[derive(Clone, Debug)]
pub struct OpenedImage {
    /// Frame 0.
    pub label: VolumeLabel,
    /// Regions derived from the label.
    pub layout: Layout,
    /// The header restart uses: the newest valid one.
    pub header: CheckpointHeader,
    /// What each slot held: primary (frame 1), secondary (frame 2).
    pub slots: [Result<CheckpointHeader, HeaderProblem>; 2],
}

/// A valid journal record found at open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    /// Slot index.
    pub slot: u32,
    /// The decoded descriptor (its data checksum verified).
    pub descriptor: JournalDescriptor,
}

/// Writes a new, empty image: the label and generation 1 in both header
/// slots, an empty world with no processes. The storage must be all zero.
/// First allocates the frames the kernel stores into
/// ([`OpenedImage::allocate_for_writes`]), so that a file system without
/// room for them fails here, cleanly.
pub fn format(
    storage: &dyn Storage,
    geometry: Geometry,
    image_id: u64,
    now_unix_ns: u64,
) -> Result<OpenedImage, ImageError> {
    let layout = geometry.layout()?;
    allocate_regions(storage, &written_in_place(&layout))?;
    let label = VolumeLabel { image_id, created_unix_ns: now_unix_ns, geometry };
    storage.write(0, 0, &label.encode()[..])?;
    storage.sync(layout.label)?;
    let header = CheckpointHeader {
        image_id,
        generation: 1,
        state: CheckpointState::Migrated,
        checkpoint_time_ns: 0,
        wall_time_ns: now_unix_ns,
        directory: DirectoryLocation::default(),
        processes: ProcessListLocation::default(),
        history: Vec::new(),
        previous: None,
    };
    write_header(storage, &layout, &header)?;
    open(storage, geometry.total_frames * FRAME_BYTES)
}

/// Writes `header` to the primary slot, syncs, then the secondary, syncs:
/// the commit point of a checkpoint.
pub fn write_header(
    storage: &dyn Storage,
    layout: &Layout,
    header: &CheckpointHeader,
) -> Result<(), StorageError> {
    for slot in 0..2 {
        write_header_slot(storage, layout, header, slot)?;
    }
    Ok(())
}

/// Abandons the newest checkpoint and commits the previous one again (see
/// [`CheckpointHeader::rollback`]), for a world whose newest checkpoint
/// cannot run. Refused, writing nothing, unless the newest header is
/// committed and still keeps its previous checkpoint, and that
/// checkpoint's process list verifies. The new header is written primary
/// then secondary: a crash before the primary is durable leaves the newest
/// checkpoint as it was; after, the rollback has happened. Returns the
/// header now in force.
pub fn roll_back(storage: &dyn Storage, file_bytes: u64) -> Result<CheckpointHeader, ImageError> {
    let opened = open(storage, file_bytes)?;
    let newest = &opened.header;
    let back = newest.rollback().ok_or(ImageError::NoPrevious {
        generation: newest.generation,
        why: match newest.state {
            CheckpointState::Migrated => "it has been migrated home over the one before it",
            CheckpointState::Committed => "its migration has begun overwriting the one before it",
        },
    })?;
    let previous = OpenedImage { header: back.clone(), ..opened.clone() };
    previous.load_process_list(storage)?;
    write_header(storage, &opened.layout, &back)?;
    Ok(back)
}

/// Writes `header` to one slot (0 primary, 1 secondary) and syncs it.
pub fn write_header_slot(
    storage: &dyn Storage,
    layout: &Layout,
    header: &CheckpointHeader,
    slot: u64,
) -> Result<(), StorageError> {
    let frame = layout.headers.first + slot;
    storage.write(frame, 0, &header.encode()[..])?;
    storage.sync(Region { first: frame, count: 1 })
}

/// Reads and validates the label and both headers. Never writes.
pub fn open(storage: &dyn Storage, file_bytes: u64) -> Result<OpenedImage, ImageError> {
    // The label decides how long the file must be; what is mapped decides
    // what can be read.
    let file_bytes = file_bytes.min(storage.frame_count() * FRAME_BYTES);
    if storage.frame_count() == 0 {
        return Err(ImageError::NotAnImage);
    }
    let label = VolumeLabel::decode(&storage.read_frame(0), file_bytes)?;
    let layout = label.geometry.layout()?;
    let read_slot = |i: u64| {
        CheckpointHeader::decode(&storage.read_frame(layout.headers.first + i), label.image_id, &layout)
    };
    let slots = [read_slot(0), read_slot(1)];
    let header = match (&slots[0], &slots[1]) {
        (Ok(a), Ok(b)) => if b.recency() > a.recency() { b } else { a }.clone(),
        (Ok(a), Err(_)) => a.clone(),
        (Err(_), Ok(b)) => b.clone(),
        (Err(p), Err(s)) => {
            return Err(ImageError::NoValidHeader {
                primary: Box::new(p.clone()),
                secondary: Box::new(s.clone()),
            });
        }
    };
    Ok(OpenedImage { label, layout, header, slots })
}

impl OpenedImage {
    /// The other slot's header, if it validates and is older than the one
    /// chosen: where to restart from when the chosen one's data is damaged.
    pub fn fallback(&self) -> Option<OpenedImage> {
        let older = self
            .slots
            .iter()
            .filter_map(|s| s.as_ref().ok())
            .find(|h| h.recency() < self.header.recency())?
            .clone();
        Some(OpenedImage { header: older, ..self.clone() })
    }

    /// Loads the directory of a committed header, verifying its checksum,
    /// that every entry points inside the home frames and the area, that no
    /// two entries share a home frame or an area frame, and (when
    /// `verify_frames`) every listed frame's checksum. A migrated header
    /// has an empty directory.
    pub fn load_directory(
        &self,
        storage: &dyn Storage,
        verify_frames: bool,
    ) -> Result<Vec<DirectoryEntry>, ImageError> {
        let d = self.header.directory;
        if self.header.state == CheckpointState::Migrated {
            return Ok(Vec::new());
        }
        let area = self.layout.areas[d.area as usize];
        let frames: Vec<Box<Frame>> = (0..u64::from(d.frames))
            .map(|i| storage.read_frame(area.first + u64::from(d.first) + i))
            .collect();
        if directory::frames_checksum(&frames) != d.checksum {
            return Err(self.damaged("its directory fails its checksum".into()));
        }
        let entries = directory::decode_directory(&frames, d.entries as usize)
            .ok_or_else(|| self.damaged("its directory has fewer entries than its header says".into()))?;
        let home = self.layout.home();
        for e in &entries {
            if !home.contains(e.home) || e.area_frame >= d.first {
                return Err(self.damaged(format!("directory entry {e:?} points outside the image's regions")));
            }
            if verify_frames
                && frame::checksum_at(
                    e.home,
                    &storage.read_frame(area.first + u64::from(e.area_frame))[..],
                    self.layout.checksummed_len(e.home),
                ) != e.checksum
            {
                return Err(self.damaged(format!(
                    "frame {} (home {}) in area {} fails its checksum",
                    e.area_frame, e.home, d.area
                )));
            }
        }
        self.check_distinct(&entries, |e| e.home, "home frame")?;
        self.check_distinct(&entries, |e| u64::from(e.area_frame), "area frame")?;
        Ok(entries)
    }

    fn check_distinct(
        &self,
        entries: &[DirectoryEntry],
        key: impl Fn(&DirectoryEntry) -> u64,
        what: &str,
    ) -> Result<(), ImageError> {
        let mut keys: Vec<u64> = entries.iter().map(key).collect();
        keys.sort_unstable();
        match keys.windows(2).find(|pair| pair[0] == pair[1]) {
            Some(pair) => Err(self.damaged(format!("two directory entries name {what} {}", pair[0]))),
            None => Ok(()),
        }
    }

    /// Loads the process list (root-node CDAs), verifying its checksum.
    pub fn load_process_list(&self, storage: &dyn Storage) -> Result<Vec<u64>, ImageError> {
        let p = self.header.processes;
        let slot = self.layout.process_list_slot(p.slot);
        let needed = u64::from(p.count).div_ceil(crate::layout::PROCESSES_PER_FRAME).min(slot.count);
        let frames: Vec<Box<Frame>> = (0..needed).map(|i| storage.read_frame(slot.first + i)).collect();
        let roots = directory::decode_process_list(&frames, p.count as usize)
            .ok_or_else(|| self.damaged("its process list is longer than its slot".into()))?;
        if directory::process_list_checksum(&roots) != p.checksum {
            return Err(self.damaged("its process list fails its checksum".into()));
        }
        Ok(roots)
    }

    /// The record of every journal slot that holds one: the newest valid
    /// descriptor copy. A valid descriptor whose fields are out of range or
    /// whose data fails its checksum is damage (see `journal`).
    pub fn journal_records(&self, storage: &dyn Storage) -> Result<Vec<JournalRecord>, ImageError> {
        let mut records = Vec::new();
        for slot in 0..self.layout.geometry.journal_slots {
            let frames = self.layout.journal_slot(slot);
            let copies = (0..2)
                .filter_map(|i| JournalDescriptor::decode(&storage.read_frame(frames.descriptors.first + i)));
            let Some(descriptor) = copies.max_by_key(|d| d.sequence) else { continue };
            let intact = frames.data.get(descriptor.data_index as usize).is_some_and(|&data| {
                frame::checksum(&storage.read_frame(data)[..]) == descriptor.data_checksum
            });
            if !intact
                || descriptor.page >= self.layout.geometry.page_count
                || descriptor.sequence > crate::journal::MAX_SEQUENCE
            {
                return Err(self.damaged(format!(
                    "journal slot {slot} (record {} of page {}) is damaged",
                    descriptor.sequence, descriptor.page
                )));
            }
            records.push(JournalRecord { slot, descriptor });
        }
        Ok(records)
    }

    /// Allocates space for every frame a restart of this checkpoint will
    /// write: the regions written in place (label to journal, both
    /// checkpoint areas) and the home frames `homes` (those migration will
    /// copy into, and those the kernel writes in place, such as the journal
    /// page). Writes nothing; on a full file system the error says how much
    /// space to free. Read-only storage is left alone.
    pub fn allocate_for_writes(&self, storage: &dyn Storage, homes: &[u64]) -> Result<(), ImageError> {
        if !storage.is_writable() {
            return Ok(());
        }
        let mut regions = written_in_place(&self.layout).to_vec();
        let mut frames = homes.to_vec();
        frames.sort_unstable();
        frames.dedup();
        for frame in frames {
            match regions.last_mut() {
                Some(last) if last.end() == frame => last.count += 1,
                _ => regions.push(Region { first: frame, count: 1 }),
            }
        }
        allocate_regions(storage, &regions)
    }

    fn damaged(&self, what: String) -> ImageError {
        ImageError::Damaged { generation: self.header.generation, what }
    }
}

/// The regions the kernel writes through the mapping in place: label,
/// headers, process lists and journal (contiguous), and both checkpoint
/// areas (contiguous).
fn written_in_place(layout: &Layout) -> [Region; 2] {
    [
        Region { first: 0, count: layout.journal.end() },
        Region { first: layout.areas[0].first, count: layout.areas[1].end() - layout.areas[0].first },
    ]
}

/// Allocates `regions`; if the file system is full, the error names the
/// space all the regions that could not be allocated still need, not only
/// the first.
fn allocate_regions(storage: &dyn Storage, regions: &[Region]) -> Result<(), ImageError> {
    let mut short: Option<StorageError> = None;
    for region in regions {
        match (storage.allocate(*region), &mut short) {
            (Ok(()), _) => {}
            (Err(StorageError::NoSpace(more)), Some(StorageError::NoSpace(total))) => {
                total.bytes += more.bytes
            }
            (Err(e @ StorageError::NoSpace(_)), None) => short = Some(e),
            (Err(e), _) => return Err(e.into()),
        }
    }
    short.map_or(Ok(()), |e| Err(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{FaultKind, FaultPlan, FaultyStorage};

    const BYTES: u64 = 4 << 20;

    fn blank(plan: Option<FaultPlan>) -> FaultyStorage {
        FaultyStorage::new(&vec![0u8; BYTES as usize], plan)
    }

    #[test]
    fn format_then_open() {
        let s = blank(None);
        let g = Geometry::for_size(BYTES).unwrap();
        let opened = format(&s, g, 77, 1000).unwrap();
        assert_eq!(opened.header.generation, 1);
        assert_eq!(opened.header.state, CheckpointState::Migrated);
        let again = open(&s, BYTES).unwrap();
        assert_eq!(again.label.image_id, 77);
        assert!(again.slots.iter().all(|h| h.is_ok()));
        assert!(again.load_directory(&s, true).unwrap().is_empty());
        assert!(again.load_process_list(&s).unwrap().is_empty());
        assert!(again.journal_records(&s).unwrap().is_empty());
    }

    /// A torn header write during a commit: the torn slot fails its checksum
    /// and the other slot (holding the previous header) is used.
    #[test]
    fn torn_primary_header_falls_back_to_secondary() {
        let g = Geometry::for_size(BYTES).unwrap();
        let base = blank(None);
        format(&base, g, 5, 0).unwrap();
        let image = base.durable_image();
        let layout = g.layout().unwrap();
        let next = CheckpointHeader { generation: 2, ..open(&base, BYTES).unwrap().header };
        for seed in 0..8 {
            // Event 0 is the primary header write.
            let s =
                FaultyStorage::new(&image, Some(FaultPlan { event: 0, kind: FaultKind::TornWrite, seed }));
            write_header(&s, &layout, &next).unwrap();
            let crashed = FaultyStorage::new(&s.crash_image().unwrap().bytes, None);
            let opened = open(&crashed, BYTES).unwrap();
            assert_eq!(opened.header.generation, 1, "seed {seed}");
            assert_eq!(opened.slots[0], Err(HeaderProblem::Checksum));
        }
        // Crash after the primary is durable but before the secondary: the new header wins.
        let s =
            FaultyStorage::new(&image, Some(FaultPlan { event: 2, kind: FaultKind::StopAtWrite, seed: 0 }));
        write_header(&s, &layout, &next).unwrap();
        let crashed = FaultyStorage::new(&s.crash_image().unwrap().bytes, None);
        assert_eq!(open(&crashed, BYTES).unwrap().header.generation, 2);
    }

    /// On a full disk the allocation restart makes fails without a write,
    /// naming the space every region still needs.
    #[test]
    fn allocating_on_a_full_disk_names_all_the_space_missing() {
        use crate::storage::{IoFault, IoFaultPlan, IoTarget};
        let g = Geometry::for_size(BYTES).unwrap();
        let base = blank(None);
        format(&base, g, 3, 0).unwrap();
        let s = FaultyStorage::new(&base.durable_image(), None);
        s.fail_io(IoFaultPlan {
            from_event: 0,
            error: IoFault::NoSpace,
            target: IoTarget::NewFrames,
            once: false,
            seed: 0,
        });
        let opened = open(&s, BYTES).unwrap();
        let homes = [opened.layout.pages.first + 1, opened.layout.pages.first + 9];
        let e = opened.allocate_for_writes(&s, &homes).unwrap_err();
        let ImageError::Storage(StorageError::NoSpace(no_space)) = &e else { panic!("{e}") };
        let areas = 2 * g.area_frames * FRAME_BYTES;
        assert!(no_space.bytes >= areas + 2 * FRAME_BYTES, "{e}");
        assert_eq!(s.event_count(), 0, "nothing was written");
        s.free_space();
        opened.allocate_for_writes(&s, &homes).unwrap();
    }
}
