//! Helpers shared by the integration tests.

use std::sync::Arc;

use disk_image::storage::{FaultyStorage, Storage};
use disk_image::{FRAME_BYTES, Geometry};
use kernel::restart::{self, LoadedImage};

/// A freshly formatted in-memory image of `bytes` bytes, as durable bytes.
pub fn formatted_image(bytes: u64) -> Vec<u8> {
    let geometry = Geometry::for_size(bytes).expect("geometry");
    let storage = FaultyStorage::new(&vec![0u8; (geometry.total_frames * FRAME_BYTES) as usize], None);
    disk_image::format(&storage, geometry, 0x5EED, 1).expect("format");
    storage.durable_image()
}

/// Loads an in-memory image's newest checkpoint.
pub fn load(image: &[u8]) -> (Arc<FaultyStorage>, LoadedImage) {
    let storage = Arc::new(FaultyStorage::new(image, None));
    let dynamic: Arc<dyn Storage> = storage.clone();
    let loaded = restart::load(dynamic, image.len() as u64).expect("load");
    (storage, loaded)
}
