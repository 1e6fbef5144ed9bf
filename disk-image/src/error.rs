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
    #[error("field out of range: {0}")]
    Field(String),
}

/// Errors about an image as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An operating-system error on the image file.
    #[error("{path}: {source}")]
    Io {
        /// The image file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
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
    /// The label's fields are inconsistent.
    #[error("the volume label is inconsistent: {0}; the image cannot be used")]
    BadLabel(String),
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
    /// Neither checkpoint header validates.
    #[error(
        "no valid checkpoint header: primary {primary}; secondary {secondary}. \
         The image has no restartable checkpoint; restore it from a copy"
    )]
    NoValidHeader {
        /// Why the primary slot was rejected.
        primary: HeaderProblem,
        /// Why the secondary slot was rejected.
        secondary: HeaderProblem,
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

/// Errors from the storage interface.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The OS reported an I/O error while syncing or mapping.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A write was attempted on storage opened read-only.
    #[error("the image is open read-only; this operation would modify it")]
    ReadOnly,
}
