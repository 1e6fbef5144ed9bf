//! Retention (`gnosis snapshot prune DIR --older-than AGE`): removes the
//! snapshots directly under a directory that are older than an age, by the
//! time in their manifest (copying a snapshot keeps its age). Only
//! directories whose manifest is a valid snapshot manifest (format,
//! version, checksum) are candidates: anything else under DIR is left
//! alone, whatever its age.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::SnapshotError;
use super::format::Manifest;

/// A snapshot [`prune`] removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    /// Its directory.
    pub dir: PathBuf,
    /// The domain it is of.
    pub name: String,
    /// Its age.
    pub age: Duration,
}

/// Removes every snapshot directly under `dir` taken more than
/// `older_than` before `now_unix_ns`; returns them, in name order.
pub fn prune(dir: &Path, older_than: Duration, now_unix_ns: u64) -> Result<Vec<Removed>, SnapshotError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect())
        .map_err(SnapshotError::io("list", dir))?;
    entries.sort();
    let mut removed = Vec::new();
    for path in entries {
        // Not through symbolic links: a link to a snapshot is not one.
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let Some(manifest) = is_dir.then(|| Manifest::read(&path).ok()).flatten() else { continue };
        let age = Duration::from_nanos(now_unix_ns.saturating_sub(manifest.created_unix_ns));
        if age > older_than {
            std::fs::remove_dir_all(&path).map_err(SnapshotError::io("remove", &path))?;
            removed.push(Removed { dir: path, name: manifest.domain.name, age });
        }
    }
    Ok(removed)
}
