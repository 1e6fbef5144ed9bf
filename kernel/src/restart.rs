//! Restart: bringing an image back to its newest valid checkpoint.
//!
//! Loading reads the headers, takes the newest that validates, loads its
//! directory (verifying the checksum of the directory and of every frame it
//! lists) and its process list. If what the newest header relies on is
//! damaged and the other header slot still holds an older checkpoint, that
//! one is used instead, and the damage is reported.
//!
//! [`load`] then verifies, before anything is written, everything restart
//! and boot would trip over (design.md §6, "What is verified when"): each
//! process-list entry names a node of the image; every journal record; the
//! seal of every pot (node, allocation and checksum pots) not overlaid by
//! the directory, reading only the parts of the pot regions that hold data
//! (holes read as zeros, which seal); and every page a journal record
//! names, against its checksum-pot entry. Pages are otherwise verified
//! lazily, on first use (the store). Last, it allocates space for every
//! frame the restarted kernel will write ([`OpenedImage::allocate_for_writes`]),
//! so that a full file system is reported, with what to free, before any
//! write. [`load_unverified`] skips both, for `fsck`, which reports every
//! problem rather than the first.

use std::sync::Arc;

use disk_image::frame::{FRAME_SIZE, frame_seal_ok, read_u32, seal};
use disk_image::storage::Storage;
use disk_image::{ImageError, OpenedImage, Region};

use crate::journal::JOURNAL_PAGE;
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

/// Frames the eager pass reads at once.
const CHUNK_FRAMES: u64 = 256;

/// Loads the newest valid checkpoint of the image in `storage`, verifies
/// what boot relies on and allocates what it will write. Writes nothing.
pub fn load(storage: Arc<dyn Storage>, file_bytes: u64) -> Result<LoadedImage, ImageError> {
    let loaded = load_unverified(storage, file_bytes)?;
    verify_before_boot(&loaded)?;
    let journal_page = loaded.opened.layout.page_frame(JOURNAL_PAGE.number());
    let homes: Vec<u64> = loaded.store.frozen().keys().copied().chain([journal_page]).collect();
    loaded.opened.allocate_for_writes(loaded.store.storage().as_ref(), &homes)?;
    Ok(loaded)
}

/// Loads the newest valid checkpoint, verifying only its directory, the
/// frames it lists and its process list. Reads only.
pub fn load_unverified(storage: Arc<dyn Storage>, file_bytes: u64) -> Result<LoadedImage, ImageError> {
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
    // Only a committed header has entries, and its directory area was
    // validated; a migrated header's directory fields mean nothing.
    let area = opened.layout.areas[opened.header.directory.area as usize & 1];
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

/// The eager pass of [`load`]: the first problem found, as damage.
fn verify_before_boot(loaded: &LoadedImage) -> Result<(), ImageError> {
    let damaged = |what: String| ImageError::Damaged { generation: loaded.opened.header.generation, what };
    let nodes = loaded.opened.layout.geometry.node_count();
    if let Some((i, root)) =
        loaded.processes.iter().enumerate().find(|(_, r)| **r != Cda::node(r.number()) || r.number() >= nodes)
    {
        return Err(damaged(format!("process-list entry {i} ({:#x}) is not a node of this image", root.0)));
    }
    let records = loaded.opened.journal_records(loaded.store.storage().as_ref())?;
    verify_pots(loaded).map_err(|e| match e {
        Verify::Damaged(what) => damaged(what),
        Verify::Storage(e) => e.into(),
    })?;
    let mut pages: Vec<u64> =
        records.iter().map(|r| r.descriptor.page).filter(|&p| p != JOURNAL_PAGE.number()).collect();
    pages.sort_unstable();
    pages.dedup();
    for page in pages {
        if !page_intact(&loaded.store, page)? {
            return Err(damaged(format!("page {page}, which a journal record restores, fails its checksum")));
        }
    }
    Ok(())
}

/// Why the pot pass stopped.
enum Verify {
    Damaged(String),
    Storage(disk_image::StorageError),
}

impl From<disk_image::StorageError> for Verify {
    fn from(e: disk_image::StorageError) -> Self {
        Verify::Storage(e)
    }
}

/// Checks the seal of every pot whose current version is at home.
fn verify_pots(loaded: &LoadedImage) -> Result<(), Verify> {
    let l = &loaded.opened.layout;
    let storage = loaded.store.storage();
    let frozen = loaded.store.frozen();
    let mut buf = vec![0u8; CHUNK_FRAMES as usize * FRAME_SIZE];
    for (name, region) in
        [("checksum", l.checksum_pots), ("allocation", l.allocation_pots), ("node", l.node_pots)]
    {
        for extent in storage.data_extents(region)? {
            for chunk in chunks(extent) {
                let bytes = &mut buf[..chunk.count as usize * FRAME_SIZE];
                storage.read_frames(chunk.first, bytes)?;
                for (i, content) in bytes.chunks_exact(FRAME_SIZE).enumerate() {
                    let home = chunk.first + i as u64;
                    let content: &disk_image::Frame = content.try_into().expect("RESTART001 a frame");
                    if !frozen.contains_key(&home) && !frame_seal_ok(content) {
                        return Err(Verify::Damaged(format!(
                            "{name} pot {} (home frame {home}) fails its seal",
                            home - region.first
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// `region` in runs of at most [`CHUNK_FRAMES`].
fn chunks(region: Region) -> impl Iterator<Item = Region> {
    (region.first..region.end())
        .step_by(CHUNK_FRAMES as usize)
        .map(move |first| Region { first, count: CHUNK_FRAMES.min(region.end() - first) })
}

/// Whether the checkpointed version of `page` matches its checksum-pot
/// entry (a version in the area was verified with the directory).
fn page_intact(store: &Store, page: u64) -> Result<bool, disk_image::StorageError> {
    let l = store.layout();
    let home = l.page_frame(page);
    if store.frozen().contains_key(&home) {
        return Ok(true);
    }
    let mut content = vec![0u8; FRAME_SIZE];
    store.storage().read_frames(home, &mut content)?;
    let (pot, index) = l.checksum_place(page);
    let pot = store.frozen().get(&pot).copied().unwrap_or(pot);
    let mut entry = vec![0u8; FRAME_SIZE];
    store.storage().read_frames(pot, &mut entry)?;
    let at = disk_image::pots::entry_offset(index);
    Ok(seal(&content) == read_u32(&entry, at))
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
