//! Restart: bringing an image back to its newest valid checkpoint.
//!
//! Loading is lazy (design.md, "Restart"): read the headers, take the newest
//! that validates, load its directory (verifying the checksum of the
//! directory and of every frame it lists) and its process list; nothing
//! else is read until it is touched. If what the newest header relies on is
//! damaged and the other header slot still holds an older checkpoint, that
//! one is used instead, and the damage is reported.

use std::sync::Arc;

use disk_image::storage::Storage;
use disk_image::{ImageError, OpenedImage};

use crate::key::Cda;
use crate::store::{FrameMap, Store};

/// An image loaded to its newest valid checkpoint.
pub struct LoadedImage {
    /// Label, layout and the header used.
    pub opened: OpenedImage,
    /// The store, with the checkpoint's unmigrated frames as its frozen set.
    pub store: Store,
    /// Roots of the domains that were running, in run-queue order.
    pub processes: Vec<Cda>,
    /// If the newest header could not be used, why (the older one was).
    pub fell_back: Option<ImageError>,
}

/// Loads the newest valid checkpoint of the image in `storage`. Reads only.
pub fn load(storage: Arc<dyn Storage>, file_bytes: u64) -> Result<LoadedImage, ImageError> {
    let opened = disk_image::open(storage.as_ref(), file_bytes)?;
    match load_checkpoint(&storage, &opened) {
        Ok((frozen, processes)) => Ok(assemble(storage, opened, frozen, processes, None)),
        Err(damage) => {
            let older = opened.fallback().ok_or_else(|| clone_damage(&damage))?;
            let (frozen, processes) = load_checkpoint(&storage, &older).map_err(|_| damage_both(&damage))?;
            Ok(assemble(storage, older, frozen, processes, Some(damage)))
        }
    }
}

fn load_checkpoint(
    storage: &Arc<dyn Storage>,
    opened: &OpenedImage,
) -> Result<(FrameMap, Vec<Cda>), ImageError> {
    let entries = opened.load_directory(storage.as_ref(), true)?;
    let area = opened.layout.areas[opened.header.directory.area as usize];
    let frozen = entries.iter().map(|e| (e.home, area.first + u64::from(e.area_frame))).collect();
    let processes = opened.load_process_list(storage.as_ref())?.into_iter().map(Cda).collect();
    Ok((frozen, processes))
}

fn assemble(
    storage: Arc<dyn Storage>,
    opened: OpenedImage,
    frozen: FrameMap,
    processes: Vec<Cda>,
    fell_back: Option<ImageError>,
) -> LoadedImage {
    let working_area = working_area_after(opened.header.generation);
    let store = Store::new(storage, opened.layout, frozen, working_area);
    LoadedImage { opened, store, processes, fell_back }
}

/// The area epoch `generation + 1` writes into. Generation g's directory is
/// always in area `g % 2`.
pub fn working_area_after(generation: u64) -> usize {
    ((generation + 1) % 2) as usize
}

fn clone_damage(e: &ImageError) -> ImageError {
    match e {
        ImageError::Damaged { generation, what } => {
            ImageError::Damaged { generation: *generation, what: what.clone() }
        }
        other => ImageError::Damaged { generation: 0, what: other.to_string() },
    }
}

fn damage_both(newest: &ImageError) -> ImageError {
    ImageError::Damaged { generation: 0, what: format!("{newest}; and the older checkpoint is damaged too") }
}
