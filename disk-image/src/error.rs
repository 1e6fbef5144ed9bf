//! Typed errors for opening, validating and writing images.
//!
//! Each message says what is wrong and what the user can do about it.

use std::path::PathBuf;

/// Why one checkpoint header slot was not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    /// The slot does not start with the header magic.
    #[error("no header magic")]
    NoMagic,
    /// The checksum over the header does not match.
    #[error("checksum mismatch (torn or damaged write)")]
    Checksum,
    /// The header names a format version this build does not know.
    #[error("format version {0} is not supported")]
    Version(u32),
    /// The header belongs to another image.
    #[error("belongs to another image (id {0:#x})")]
    ForeignImage(u64),
    /// A field is out of range for this image's layout.
    #[error("{field} {problem}")]
    Field {
        /// The field, as design.md names it.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
}

impl HeaderProblem {
    /// A field whose value is out of range.
    pub fn field(field: &'static str, problem: impl Into<String>) -> HeaderProblem {
        HeaderProblem::Field { field, problem: problem.into() }
    }
}

/// Errors about an image as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An operating-system error on the image file.
    #[error("{path}: {error}")]
    Io {
        /// The image file.
        path: PathBuf,
        /// What the OS said (in the message, so not also a source).
        error: std::io::Error,
    },
    /// The path is not a regular file (a FIFO, a device, a directory...):
    /// refused before anything could block on it.
    #[error("{path}: is {kind}, not an image file; an image is a regular file made by `gnosis format`")]
    NotRegularFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead ("a FIFO", "a directory", ...).
        kind: &'static str,
    },
    /// Another process holds the image: a writer, or readers when this one would write.
    #[error("{}", crate::storage::locked_message(.path, .access, .holder))]
    Locked {
        /// The image file.
        path: PathBuf,
        /// The lock that was asked for.
        access: crate::storage::LockAccess,
        /// Who holds the image, when `/proc/locks` says.
        holder: Option<crate::storage::LockHolder>,
    },
    /// Frame 0 lacks the label magic.
    #[error(
        "not a Gnosis image: frame 0 does not start with the GNOSISIM magic \
         (create one with `gnosis format IMAGE --size SIZE`)"
    )]
    NotAnImage,
    /// The file is shorter than its label says.
    #[error(
        "image is truncated: the file has {bytes} bytes but its label describes {expected} \
         (the file was cut short; restore it from a copy)"
    )]
    Truncated {
        /// Bytes in the file.
        bytes: u64,
        /// Bytes the label describes.
        expected: u64,
    },
    /// The image was written by a newer version of Gnosis.
    #[error(
        "image format version {found} is newer than this build supports ({supported}); \
         use a newer `gnosis`"
    )]
    NewerFormat {
        /// Version in the image.
        found: u32,
        /// Version this build writes.
        supported: u32,
    },
    /// The image was written by an older, incompatible version of Gnosis.
    #[error(
        "image format version {found} is older than this build supports ({supported}); \
         re-create it with `gnosis format`"
    )]
    OlderFormat {
        /// Version in the image.
        found: u32,
        /// Version this build writes.
        supported: u32,
    },
    /// The label's checksum does not match its contents.
    #[error("the volume label (frame 0) is damaged: its checksum does not match; the image cannot be used")]
    LabelChecksum,
    /// A label field is out of range or inconsistent with the others.
    #[error("the volume label is inconsistent: {field} {problem}; the image cannot be used")]
    BadLabel {
        /// The field, as design.md names it.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// `format` was asked for an image too small to hold anything.
    #[error(
        "an image of {bytes} bytes is too small; the minimum is {minimum} bytes (use --size 2MiB or more)"
    )]
    TooSmall {
        /// Bytes asked for.
        bytes: u64,
        /// The minimum.
        minimum: u64,
    },
    /// `format` was asked for an image bigger than a label can describe.
    #[error("an image of {bytes} bytes is too big; the maximum is {maximum} bytes")]
    TooBig {
        /// Bytes asked for.
        bytes: u64,
        /// The maximum.
        maximum: u64,
    },
    /// Neither checkpoint header validates.
    #[error(
        "no valid checkpoint header: primary {primary}; secondary {secondary}. \
         The image has no restartable checkpoint; restore it from a copy"
    )]
    NoValidHeader {
        /// Why the primary slot was rejected (boxed, as is the other, to
        /// keep every result carrying an `ImageError` small).
        primary: Box<HeaderProblem>,
        /// Why the secondary slot was rejected.
        secondary: Box<HeaderProblem>,
    },
    /// A structure the newest header relies on is damaged.
    #[error("checkpoint generation {generation} is damaged: {what}; run `gnosis fsck` for details")]
    Damaged {
        /// The generation whose data is damaged.
        generation: u64,
        /// What was found damaged.
        what: String,
    },
    /// A rollback was asked for but the previous checkpoint is not intact.
    #[error(
        "cannot go back past checkpoint generation {generation}: {why}; \
         only the newest checkpoint can be restarted"
    )]
    NoPrevious {
        /// The newest generation.
        generation: u64,
        /// Why the one before it is gone.
        why: &'static str,
    },
    /// A storage-level failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ImageError {
    /// A label field whose value is out of range.
    pub fn bad_label(field: &'static str, problem: impl Into<String>) -> ImageError {
        ImageError::BadLabel { field, problem: problem.into() }
    }
}

/// Errors from the storage interface.
///
/// Running out of space and failing I/O are typed, so that callers can stop
/// cleanly: every write the kernel makes before a commit point is to frames
/// no valid header refers to, so the image stays intact up to its last
/// committed checkpoint whatever write or sync failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The OS reported an error the storage could not classify.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A write was attempted on storage opened read-only.
    #[error("the image is open read-only; this operation would modify it")]
    ReadOnly,
    /// The file system holding the image is full (ENOSPC, EDQUOT).
    #[error(transparent)]
    NoSpace(Box<NoSpace>),
    /// The device failed a read, write or sync (EIO and the like).
    #[error(transparent)]
    Failed(Box<DeviceFailure>),
}

/// See [`StorageError::NoSpace`]. Boxed, like [`DeviceFailure`], so that
/// the results of every store stay small.
#[derive(Debug, thiserror::Error)]
#[error(
    "no space left on the file system holding {image} while {action} \
     ({} more needed): free at least that much there and start again; \
     the image is intact up to its last committed checkpoint",
    bytes_text(*.bytes)
)]
pub struct NoSpace {
    /// The image (its path, or a name for an in-memory one).
    pub image: String,
    /// What was being done.
    pub action: &'static str,
    /// How many bytes the action needed at most.
    pub bytes: u64,
}

/// See [`StorageError::Failed`].
#[derive(Debug, thiserror::Error)]
#[error(
    "I/O error on {image} while {action}: {error}; the disk may be failing. \
     The last committed checkpoint is intact unless the failure damaged it \
     (`gnosis fsck` tells); copy the image to healthy storage and start again"
)]
pub struct DeviceFailure {
    /// The image (its path, or a name for an in-memory one).
    pub image: String,
    /// What was being done.
    pub action: &'static str,
    /// What the OS said (in the message, so not also a source).
    pub error: std::io::Error,
}

impl StorageError {
    /// Classifies an OS error from `action` on `image`: out of space, or a
    /// failed device operation.
    pub fn from_os(image: &str, action: &'static str, bytes: u64, source: std::io::Error) -> StorageError {
        use nix::libc::{EDQUOT, ENOSPC};
        let image = image.to_string();
        match source.raw_os_error() {
            Some(ENOSPC | EDQUOT) => StorageError::NoSpace(Box::new(NoSpace { image, action, bytes })),
            _ => StorageError::Failed(Box::new(DeviceFailure { image, action, error: source })),
        }
    }

    /// Whether the failure is the file system being full.
    pub fn is_no_space(&self) -> bool {
        matches!(self, StorageError::NoSpace(_))
    }
}

/// Bytes as the messages give them: KiB, MiB or GiB, one decimal.
fn bytes_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    match UNITS.iter().find(|(_, size)| bytes >= *size) {
        Some((unit, size)) => format!("{:.1} {unit}", bytes as f64 / *size as f64),
        None => format!("{bytes} bytes"),
    }
}
