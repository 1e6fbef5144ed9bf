//! Background jobs: the work of a checkpoint that happens while domains run.
//!
//! A job is a state machine advanced one bounded step at a time, so that the
//! same code runs on the background worker thread (`gnosis run`) and
//! interleaved deterministically with domain execution (simulation, crash
//! tests), where a crash can fall between any two steps.

use disk_image::StorageError;
use disk_image::storage::Storage;

use super::migrate::MigrationJob;
use super::writer::{Commit, SnapshotJob};

/// Frames a job handles per step.
pub const FRAMES_PER_STEP: usize = 64;

/// What finished.
#[derive(Debug)]
pub enum Finished {
    /// A checkpoint's header is durable.
    Committed(Commit),
    /// A checkpoint's frames are home and its migrated header is durable.
    Migrated {
        /// Its generation.
        generation: u64,
    },
}

/// A job in progress.
pub enum Job {
    /// Writing a snapshot and committing it.
    Snapshot(Box<SnapshotJob>),
    /// Copying a committed checkpoint home.
    Migration(Box<MigrationJob>),
}

impl Job {
    /// Does one bounded step; `Some` when the job is finished.
    pub fn step(&mut self, storage: &dyn Storage) -> Result<Option<Finished>, StorageError> {
        match self {
            Job::Snapshot(job) => Ok(job.step(storage)?.map(Finished::Committed)),
            Job::Migration(job) => Ok(job.step(storage)?.map(|generation| Finished::Migrated { generation })),
        }
    }

    /// Runs the job to its end.
    pub fn finish(mut self, storage: &dyn Storage) -> Result<Finished, StorageError> {
        loop {
            if let Some(done) = self.step(storage)? {
                return Ok(done);
            }
        }
    }
}
