//! Writing a snapshot to its checkpoint area and committing it.
//!
//! The snapshot's frames are already in the area (the working set was
//! frozen in place). The writer, in order:
//!
//! 1. **seal**: writes the seal of every frozen pot and computes the CRC of
//!    every frozen frame (the directory entries) and the seal of every
//!    frozen page (for the checksum pots);
//! 2. **checksum pots**: writes a new version of each checksum pot that
//!    covers a frozen page, into the area, and lists it too;
//! 3. **directory**: writes the directory frames after them, and the
//!    process list into its slot;
//! 4. **sync**: makes the area's used frames and the process list durable;
//! 5. **commit**: writes the header, primary then secondary, syncing each.
//!
//! Until step 5 nothing a valid header refers to has changed; a crash at
//! any point restarts from the previous checkpoint.

use std::collections::BTreeMap;

use disk_image::directory::{self, DirectoryEntry};
use disk_image::frame::{self, FRAME_SIZE, write_frame_seal};
use disk_image::header::{
    CheckpointHeader, CheckpointState, CheckpointStats, DirectoryLocation, HISTORY_LEN, PreviousCheckpoint,
    ProcessListLocation,
};
use disk_image::layout::{HomeKind, Layout};
use disk_image::storage::Storage;
use disk_image::{Region, StorageError};

use super::job::FRAMES_PER_STEP;
use crate::store::AreaAllocator;

/// What a commit produced, for the kernel thread.
#[derive(Debug)]
pub struct Commit {
    /// The header now durable.
    pub header: CheckpointHeader,
    /// Frames the writer added to the frozen set (checksum pots): home, frame.
    pub added: Vec<(u64, u64)>,
    /// The directory, sorted by home frame: (home, absolute area frame).
    pub directory: Vec<(u64, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Seal(usize),
    ChecksumPots,
    Directory,
    Sync,
    Primary,
    Secondary,
}

/// A snapshot being written.
pub struct SnapshotJob {
    layout: Layout,
    area: AreaAllocator,
    frozen_count: usize,
    header: CheckpointHeader,
    processes: Vec<u64>,
    phase: Phase,
    entries: Vec<DirectoryEntry>,
    page_seals: BTreeMap<u64, Vec<(usize, u32)>>,
    added: Vec<(u64, u64)>,
    started: std::time::Instant,
    broken: bool,
}

impl SnapshotJob {
    /// A job for the frozen `area` of checkpoint `header.generation`;
    /// `header` carries everything but the directory and process-list
    /// locations, which the job fills in.
    pub fn new(
        layout: Layout,
        area: AreaAllocator,
        header: CheckpointHeader,
        processes: Vec<u64>,
    ) -> SnapshotJob {
        let frozen_count = area.homes().len();
        SnapshotJob {
            layout,
            area,
            frozen_count,
            header,
            processes,
            phase: Phase::Seal(0),
            entries: Vec::with_capacity(frozen_count),
            page_seals: BTreeMap::new(),
            added: Vec::new(),
            started: std::time::Instant::now(),
            broken: false,
        }
    }

    /// Skips the sync before the header (see `Config::break_snapshot_sync`).
    pub fn break_sync(&mut self) {
        self.broken = true;
    }

    /// One step; the commit when done.
    pub fn step(&mut self, storage: &dyn Storage) -> Result<Option<Commit>, StorageError> {
        match self.phase {
            Phase::Seal(next) => {
                let end = (next + FRAMES_PER_STEP).min(self.frozen_count);
                for i in next..end {
                    self.seal_frame(storage, i)?;
                }
                self.phase = if end == self.frozen_count { Phase::ChecksumPots } else { Phase::Seal(end) };
            }
            Phase::ChecksumPots => {
                self.write_checksum_pots(storage)?;
                self.phase = Phase::Directory;
            }
            Phase::Directory => {
                self.write_directory(storage)?;
                self.phase = if self.broken { Phase::Primary } else { Phase::Sync };
            }
            Phase::Sync => {
                let region = self.area.region();
                storage.sync(Region { first: region.first, count: self.area.used() })?;
                storage.sync(self.layout.process_list_slot(self.header.processes.slot))?;
                self.phase = Phase::Primary;
            }
            Phase::Primary => {
                self.header.history[0].commit_ns = self.started.elapsed().as_nanos() as u64;
                disk_image::write_header_slot(storage, &self.layout, &self.header, 0)?;
                self.phase = Phase::Secondary;
            }
            Phase::Secondary => {
                disk_image::write_header_slot(storage, &self.layout, &self.header, 1)?;
                return Ok(Some(self.commit()));
            }
        }
        Ok(None)
    }

    fn seal_frame(&mut self, storage: &dyn Storage, i: usize) -> Result<(), StorageError> {
        let home = self.area.homes()[i];
        let frame = self.area.region().first + i as u64;
        let mut content = storage.read_frame(frame);
        let stats = &mut self.header.history[0];
        match self.layout.home_kind(home).expect("WRITER001 frozen frame has no home") {
            HomeKind::Page(page) => {
                let (pot, index) = self.layout.checksum_place(page);
                self.page_seals.entry(pot).or_default().push((index, frame::seal(&content[..])));
                stats.page_frames += 1;
            }
            kind => {
                write_frame_seal(&mut content);
                storage.write(frame, FRAME_SIZE - 4, &content[FRAME_SIZE - 4..])?;
                if matches!(kind, HomeKind::NodePot(_)) {
                    stats.node_pot_frames += 1;
                } else {
                    stats.other_frames += 1;
                }
            }
        }
        self.entries.push(DirectoryEntry {
            home,
            area_frame: i as u32,
            checksum: frame::checksum_at(home, &content[..], self.layout.checksummed_len(home)),
        });
        Ok(())
    }

    fn write_checksum_pots(&mut self, storage: &dyn Storage) -> Result<(), StorageError> {
        for (&pot, seals) in &self.page_seals {
            // Checksum pots are written only here, so their current version
            // is at home: the previous checkpoint was migrated before this
            // snapshot was taken.
            let mut content = storage.read_frame(pot);
            for &(index, seal) in seals {
                frame::write_u32(&mut content[..], disk_image::pots::entry_offset(index), seal);
            }
            write_frame_seal(&mut content);
            let target = self.area.allocate_reserved(pot).expect("WRITER002 no room for a checksum pot");
            storage.write(target, 0, &content[..])?;
            let area_frame = (target - self.area.region().first) as u32;
            self.entries.push(DirectoryEntry {
                home: pot,
                area_frame,
                checksum: frame::checksum_at(pot, &content[..], FRAME_SIZE - 4),
            });
            self.added.push((pot, target));
            self.header.history[0].other_frames += 1;
        }
        Ok(())
    }

    fn write_directory(&mut self, storage: &dyn Storage) -> Result<(), StorageError> {
        let frames = directory::encode_directory(&self.entries);
        let first = self.area.used() as u32;
        for f in &frames {
            let target = self.area.allocate_reserved(u64::MAX).expect("WRITER003 no room for the directory");
            storage.write(target, 0, &f[..])?;
        }
        self.header.directory = DirectoryLocation {
            area: self.area.index() as u32,
            first,
            frames: frames.len() as u32,
            entries: self.entries.len() as u32,
            checksum: directory::frames_checksum(&frames),
        };
        self.header.history[0].directory_frames = frames.len() as u32;
        let slot = self.header.processes.slot;
        let list = self.layout.process_list_slot(slot);
        for (i, f) in directory::encode_process_list(&self.processes).iter().enumerate() {
            storage.write(list.first + i as u64, 0, &f[..])?;
        }
        self.header.processes = ProcessListLocation {
            slot,
            count: self.processes.len() as u32,
            checksum: directory::process_list_checksum(&self.processes),
        };
        Ok(())
    }

    fn commit(&mut self) -> Commit {
        let first = self.area.region().first;
        let mut directory: Vec<(u64, u64)> =
            self.entries.iter().map(|e| (e.home, first + u64::from(e.area_frame))).collect();
        directory.sort_unstable();
        Commit { header: self.header.clone(), added: std::mem::take(&mut self.added), directory }
    }
}

/// The header a new checkpoint will commit: committed state, history with
/// `stats` first, locations filled in by the writer, and the previous
/// checkpoint kept (it is migrated: the snapshot waited for that), so it
/// stays restartable until this one's migration begins.
pub fn new_header(
    previous: &CheckpointHeader,
    stats: CheckpointStats,
    wall_time_ns: u64,
) -> CheckpointHeader {
    let generation = stats.generation;
    let mut history = vec![stats];
    history.extend(previous.history.iter().copied().take(HISTORY_LEN - 1));
    CheckpointHeader {
        image_id: previous.image_id,
        generation,
        state: CheckpointState::Committed,
        checkpoint_time_ns: stats.checkpoint_time_ns,
        wall_time_ns,
        directory: DirectoryLocation::default(),
        processes: ProcessListLocation { slot: (generation % 2) as u32, ..Default::default() },
        history,
        previous: (previous.state == CheckpointState::Migrated).then_some(PreviousCheckpoint {
            generation: previous.generation,
            checkpoint_time_ns: previous.checkpoint_time_ns,
            wall_time_ns: previous.wall_time_ns,
            processes: previous.processes,
        }),
    }
}
