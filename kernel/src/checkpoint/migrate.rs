//! Migration: copying a committed checkpoint's frames home, disk to disk.
//!
//! If the header still keeps the previous checkpoint restartable, it is
//! first rewritten without it, primary then secondary, because copying
//! overwrites that checkpoint's home frames. Then frames are copied in the
//! order of a shared queue (sorted by home frame; a migrator domain may move
//! entries to the front with the migrate key), the home frames are synced,
//! and the header is rewritten in the migrated state, primary then
//! secondary. Until the migrated header is
//! durable, restart overlays the area's frames on home, so a crash during
//! migration (even a torn home frame) loses nothing; migration just runs
//! again.

use std::collections::VecDeque;
use std::sync::Arc;

use disk_image::header::{CheckpointHeader, CheckpointState};
use disk_image::layout::Layout;
use disk_image::storage::Storage;
use disk_image::{Region, StorageError};
use parking_lot::Mutex;

use super::job::FRAMES_PER_STEP;

/// Frames still to migrate, shared with the migrate key: (home, area frame).
pub type MigrationQueue = Arc<Mutex<VecDeque<(u64, u64)>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Copy,
    Sync,
    Primary,
    Secondary,
}

/// A migration in progress.
pub struct MigrationJob {
    layout: Layout,
    header: CheckpointHeader,
    queue: MigrationQueue,
    phase: Phase,
    /// The header still offers the previous checkpoint, whose home frames
    /// the first copy overwrites.
    forget: bool,
}

impl MigrationJob {
    /// Migrates the frames in `queue` of the checkpoint whose committed
    /// header is `header`.
    pub fn new(layout: Layout, header: CheckpointHeader, queue: MigrationQueue) -> MigrationJob {
        assert_eq!(header.state, CheckpointState::Committed, "MIGRATE001 migrating a migrated checkpoint");
        let forget = header.previous.is_some();
        MigrationJob {
            layout,
            header: CheckpointHeader { previous: None, ..header },
            queue,
            phase: Phase::Copy,
            forget,
        }
    }

    /// One step; the generation when done.
    pub fn step(&mut self, storage: &dyn Storage) -> Result<Option<u64>, StorageError> {
        match self.phase {
            Phase::Copy => {
                // Within the first step, so that the steps (which domains
                // can observe through the migrate key) are the same whether
                // or not a restart found the previous checkpoint forgotten.
                if self.forget {
                    disk_image::write_header(storage, &self.layout, &self.header)?;
                    self.forget = false;
                }
                let batch: Vec<(u64, u64)> = {
                    let mut q = self.queue.lock();
                    let n = q.len().min(FRAMES_PER_STEP);
                    q.drain(..n).collect()
                };
                for (home, frame) in &batch {
                    storage.copy_frame(*frame, *home)?;
                }
                if self.queue.lock().is_empty() {
                    self.phase = Phase::Sync;
                }
            }
            Phase::Sync => {
                storage.sync(home_region(&self.layout))?;
                self.header.state = CheckpointState::Migrated;
                self.phase = Phase::Primary;
            }
            Phase::Primary => {
                disk_image::write_header_slot(storage, &self.layout, &self.header, 0)?;
                self.phase = Phase::Secondary;
            }
            Phase::Secondary => {
                disk_image::write_header_slot(storage, &self.layout, &self.header, 1)?;
                return Ok(Some(self.header.generation));
            }
        }
        Ok(None)
    }
}

fn home_region(layout: &Layout) -> Region {
    layout.home()
}
