//! One module per subcommand; shared helpers here.

pub mod asm;
pub mod bench;
pub mod control;
pub mod crash;
pub mod exec;
pub mod format;
pub mod fsck;
pub mod inspect;
pub mod install;
pub mod new;
pub mod ps;
pub mod run;
pub mod snapshot;
pub mod status;
pub mod supervise;

pub use tools::human_bytes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use disk_image::storage::{MmapStorage, Storage};

/// Opens an image read-only: nothing the caller does can change it.
pub fn open_read_only(path: &Path) -> anyhow::Result<(Arc<dyn Storage>, u64)> {
    let storage = MmapStorage::open_read_only(path).map_err(|e| tools::world::open_error(path, e))?;
    let bytes = std::fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?.len();
    Ok((Arc::new(storage), bytes))
}

/// Loads the newest checkpoint of the image at `path`, read-only.
pub fn load_read_only(path: &Path) -> anyhow::Result<kernel::restart::LoadedImage> {
    let (storage, bytes) = open_read_only(path)?;
    kernel::restart::load(storage, bytes)
        .with_context(|| format!("cannot load the newest checkpoint of {}", path.display()))
}

/// `image`, or the default world's image.
pub fn image_or_default(image: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match image {
        Some(p) => Ok(p),
        None => run::default_image(),
    }
}

/// Parses `N` (a page or node number) for `--page`/`--node`.
pub fn parse_number(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("'{text}' is not a number (decimal or 0x hex)"))
}
