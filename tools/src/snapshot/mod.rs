//! Per-domain snapshots (`gnosis snapshot`, `gnosis resume`, design.md §22),
//! after Solaris `chkpnt`/`resume`: one domain and the objects that are
//! its own, written to a directory, and brought back into the same or
//! another world later, where it continues from the snapshot's state.
//!
//! * [`capture`] decides what is the domain's (the boundary rule) and
//!   translates every key into the snapshot's terms: a key to one of its
//!   objects, a key that means the same in every image, or an *import*;
//! * [`format`] is the directory: objects with a CRC-32C each, a manifest
//!   with a format version and its own CRC-32C, and [`Snapshot::read`]
//!   accepts only a complete, undamaged and consistent one;
//! * [`restore`] plans a resume against a world (name, imports) without
//!   changing it, then buys fresh objects from a new sub-bank and rewrites
//!   every key consistently;
//! * [`prune`] removes old snapshots.
//!
//! Guarantee: nothing here changes an image until the snapshot and the
//! plan have been validated in full; a failure after that gives back what
//! was bought (the sub-bank is destroyed).

pub mod capture;
pub mod format;
pub mod prune;
pub mod restore;

use std::path::{Path, PathBuf};

use kernel::kernel::{Kernel, KernelError};
use kernel::key::Cda;
use kernel::store::Store;

pub use format::{Manifest, Snapshot};

use domains::world::install::InstallError;

/// Why a snapshot could not be taken, read or resumed. Each message names
/// the problem and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the snapshot is not one that can be read.
    #[error(transparent)]
    File(#[from] crate::user_file::UserFileError),
    /// The directory has no manifest.
    #[error(
        "{0} is not a gnosis snapshot: it has no {manifest}; give a directory `gnosis snapshot` wrote",
        manifest = format::MANIFEST
    )]
    NotASnapshot(PathBuf),
    /// The manifest is not ours.
    #[error("{path} is not a gnosis snapshot manifest ({detail}); give a directory `gnosis snapshot` wrote")]
    Foreign {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The manifest is ours but of another format version.
    #[error(
        "{path} is snapshot format version {found}; this gnosis reads version {supported}: \
         resume it with the gnosis that took it",
        supported = format::VERSION
    )]
    Version {
        /// The manifest file.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
    /// A file of the snapshot fails its checksum or cannot be decoded.
    #[error("{path} is damaged ({detail}); restore the snapshot from a copy or take it again")]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// Which object, and how.
        detail: String,
    },
    /// The files are intact but do not describe a domain.
    #[error(
        "the snapshot in {dir} is inconsistent ({detail}): it was not written by `gnosis snapshot`; \
         take it again"
    )]
    Inconsistent {
        /// The snapshot directory.
        dir: PathBuf,
        /// What does not fit.
        detail: String,
    },
    /// The output directory exists.
    #[error("{0} already exists: give --out a directory that does not exist yet")]
    Exists(PathBuf),
    /// No domain has that name or root node.
    #[error("there is no domain {0} in this image (`gnosis ps` lists them by name and root node)")]
    NoDomain(String),
    /// Several domains have that name.
    #[error("{count} domains are called {name}: give the root node number (`gnosis ps` lists them)")]
    Ambiguous {
        /// The name.
        name: String,
        /// How many have it.
        count: usize,
    },
    /// The domain was stopped by an earlier `snapshot --kill`.
    #[error("domain {0} was stopped for good by `gnosis snapshot --kill`: resume the snapshot taken then")]
    Stopped(String),
    /// `--kill` of a domain the world cannot do without.
    #[error(
        "{0} is one of the world's system domains ({list}): stopping it would leave the world \
         without it; snapshot it without --kill",
        list = SYSTEM_DOMAINS.join(", ")
    )]
    SystemDomain(String),
    /// A `--map` names an import the snapshot does not have.
    #[error(
        "--map {index}=…: the snapshot has {count} imports (numbered from 0, listed by `gnosis snapshot`)"
    )]
    NoImport {
        /// The import asked for.
        index: u32,
        /// How many there are.
        count: usize,
    },
    /// The same import is mapped twice.
    #[error("--map {0}=… is given twice: map each import once")]
    MappedTwice(u32),
    /// The target world cannot take the domain (name, grants, bank).
    #[error(transparent)]
    Install(#[from] InstallError),
    /// The kernel failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

impl SnapshotError {
    /// An I/O error while doing `action` to `path`.
    pub fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SnapshotError + 'a {
        move |source| SnapshotError::Io { action, path: path.to_path_buf(), source }
    }
}

/// The domains of the primordial world that the rest of it relies on:
/// `--kill` refuses them (a snapshot of one is still allowed).
pub const SYSTEM_DOMAINS: [&str; 5] = ["bank", "console", "ckptdvr", "migrator", kernel::operator::NAME];

/// The root of the domain `id` (a name or a root node number), if a
/// snapshot of it (with `kill`, and stopping it) may be taken: not of a
/// domain an earlier `--kill` stopped, and no `--kill` of a system domain.
/// Reads only, so a refusal can come before an image is opened for writing.
pub fn admissible(store: &Store, id: &str, kill: bool) -> Result<Cda, SnapshotError> {
    let root = capture::find_domain(store, id)?;
    let name = kernel::inspect::domains(store).into_iter().find(|d| d.root == root).map(|d| d.name);
    let name = name.unwrap_or_default();
    if capture::stopped(store, root) {
        return Err(SnapshotError::Stopped(name));
    }
    if kill && SYSTEM_DOMAINS.contains(&name.as_str()) {
        return Err(SnapshotError::SystemDomain(name));
    }
    Ok(root)
}

/// What [`take`] did.
#[derive(Debug)]
pub struct Taken {
    /// The directory written.
    pub dir: PathBuf,
    /// The domain's root node in the image.
    pub root: Cda,
    /// The snapshot's manifest.
    pub manifest: Manifest,
    /// With `kill`: the generation of the checkpoint that made the stop durable.
    pub stopped: Option<u64>,
}

/// Snapshots the domain `id` (a name or a root node number) of the world in
/// `k`, whose image is `image`, into `out` (default: [`default_dir`]); with
/// `kill`, then stops it for good (see [`stop`]). The domain is stopped
/// only once its snapshot is written.
pub fn take(
    k: &mut Kernel,
    image: &Path,
    id: &str,
    out: Option<&Path>,
    kill: bool,
) -> Result<Taken, SnapshotError> {
    let (root, snapshot) = capture_domain(k, image, id, kill)?;
    let dir = match out {
        Some(dir) => dir.to_path_buf(),
        None => snapshot.default_dir(image)?,
    };
    snapshot.write(&dir)?;
    let stopped = if kill { Some(stop(k, root)?) } else { None };
    Ok(Taken { dir, root, manifest: snapshot.manifest, stopped })
}

/// The snapshot of the domain `id` of the world in `k`, whose image is
/// `image`, and its root; refused as [`admissible`] says (`kill`: the
/// caller means to stop it once the snapshot is safe).
pub fn capture_domain(
    k: &mut Kernel,
    image: &Path,
    id: &str,
    kill: bool,
) -> Result<(Cda, Snapshot), SnapshotError> {
    // Absolute, so the manifest does not depend on the working directory
    // of whoever took it (a running instance).
    let image = &std::path::absolute(image).map_err(SnapshotError::io("resolve", image))?;
    k.write_back_caches()?;
    let root = admissible(k.store(), id, kill)?;
    Ok((root, capture::capture(k, root, image)?))
}

/// Stops the domain rooted at `root` for good (`Kernel::stop_domain`) and
/// takes a checkpoint so that the stop outlives a crash; its generation.
pub fn stop(k: &mut Kernel, root: Cda) -> Result<u64, SnapshotError> {
    k.stop_domain(root)?;
    Ok(k.checkpoint_now()?)
}

impl Snapshot {
    /// Where this snapshot goes by default: [`default_dir`] of the image
    /// at `image` (relative to the working directory).
    pub fn default_dir(&self, image: &Path) -> Result<PathBuf, SnapshotError> {
        let image = std::path::absolute(image).map_err(SnapshotError::io("resolve", image))?;
        Ok(default_dir(&image, &self.manifest.domain.name, self.manifest.created_unix_ns))
    }
}

/// The default snapshot directory: `snapshots/NAME-UTC` next to the image,
/// e.g. `snapshots/ticker-20250314T101502.123Z`.
pub fn default_dir(image: &Path, name: &str, unix_ns: u64) -> PathBuf {
    let parent = image.parent().unwrap_or(Path::new("."));
    parent.join("snapshots").join(format!("{name}-{}", utc_stamp(unix_ns)))
}

/// `unix_ns` as a compact UTC time, `YYYYMMDDTHHMMSS.mmmZ` (ISO 8601 basic
/// format, which sorts as it reads).
pub fn utc_stamp(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let millis = unix_ns / 1_000_000 % 1000;
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{s:02}.{millis:03}Z")
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_read_as_calendar_time() {
        assert_eq!(utc_stamp(0), "19700101T000000.000Z");
        // 2023-11-14 22:13:20 UTC, and a leap day.
        assert_eq!(utc_stamp(1_700_000_000_123_000_000), "20231114T221320.123Z");
        assert_eq!(utc_stamp(951_782_400_000_000_000), "20000229T000000.000Z");
        assert_eq!(utc_stamp(4_102_444_799_000_000_000), "20991231T235959.000Z");
    }

    #[test]
    fn default_snapshot_directories_sit_next_to_the_image() {
        let dir = default_dir(Path::new("/w/world.img"), "ticker", 0);
        assert_eq!(dir, Path::new("/w/snapshots/ticker-19700101T000000.000Z"));
    }
}
