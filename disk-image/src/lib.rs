//! The Gnosis on-disk image format, and nothing else.
//!
//! An image is a file of 4 KiB frames: a volume label, two checkpoint header
//! slots, process-list slots, journal slots, the home frames of every page
//! and node (with allocation and checksum pots) and two checkpoint areas.
//! `design.md` at the workspace root documents every byte; the modules here
//! each own one structure:
//!
//! * [`frame`]: frame size, checksums and seals, little-endian helpers;
//! * [`layout`]: regions and the volume label;
//! * [`header`]: checkpoint headers, the commit record;
//! * [`directory`]: checkpoint directories and process lists;
//! * [`pots`]: node, allocation and checksum pots;
//! * [`journal`]: journal slots;
//! * [`storage`]: the narrow write/sync interface, mapped and fault-injecting;
//! * [`image`]: formatting, and opening with validation that never writes.

pub mod directory;
pub mod error;
pub mod frame;
pub mod header;
pub mod image;
pub mod journal;
pub mod layout;
pub mod pots;
pub mod storage;

pub use error::{DeviceFailure, HeaderProblem, ImageError, NoSpace, StorageError};
pub use frame::{FRAME_BYTES, FRAME_SIZE, Frame};
pub use header::{CheckpointHeader, CheckpointState, CheckpointStats};
pub use image::{OpenedImage, format, open, roll_back, write_header, write_header_slot};
pub use layout::{Geometry, Layout, Region, VolumeLabel};
pub use storage::{FaultKind, FaultPlan, FaultyStorage, MmapStorage, Storage};
