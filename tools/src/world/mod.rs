//! Worlds on disk: making a new image ([`new_image`]) with the big bang
//! that builds its world (`domains::world::big_bang`), booting an image
//! for `gnosis run`, and serving its console ([`console`]) on the terminal
//! and on sockets (its own, or those `gnosis supervise` hands over).

pub mod console;
pub mod new_image;

use std::path::Path;
use std::sync::Arc;

use disk_image::storage::{MmapStorage, Storage};
use kernel::clock::Clock;
use kernel::kernel::{Background, Config, Kernel};
use kernel::restart;

pub use console::{Listener, Sinks, listen, take_handoff};
pub use new_image::{AlreadyExists, Overcommit, create, create_with};

/// Boots (restarts) the image at `path` with a real clock.
pub fn boot(path: &Path, background: Background) -> anyhow::Result<Kernel> {
    boot_with(path, background, Config::default())
}

/// Boots the image at `path` with a real clock and `config`.
pub fn boot_with(path: &Path, background: Background, config: Config) -> anyhow::Result<Kernel> {
    let storage: Arc<dyn Storage> = Arc::new(MmapStorage::open(path).map_err(|e| open_error(path, e))?);
    let len = std::fs::metadata(path)?.len();
    let loaded = restart::load(storage, len)?;
    if let Some(damage) = &loaded.fell_back {
        eprintln!(
            "gnosis: warning: the newest checkpoint is damaged ({damage}); restarting from the one before"
        );
    }
    let h = &loaded.opened.header;
    let clock = Clock::real_after_restart(h.checkpoint_time_ns, h.wall_time_ns);
    Ok(Kernel::boot(loaded, clock, config, background)?)
}

/// Abandons the newest checkpoint of the image at `path` and commits the
/// one before it again, if that one is still intact (see
/// [`disk_image::roll_back`]); the header now in force.
pub fn roll_back(path: &Path) -> anyhow::Result<disk_image::CheckpointHeader> {
    let storage = MmapStorage::open(path).map_err(|e| open_error(path, e))?;
    let len = std::fs::metadata(path)?.len();
    Ok(disk_image::roll_back(&storage, len)?)
}

/// Why the image at `path` did not open: its lock's message says it all,
/// any other error is said to be about opening it.
pub fn open_error(path: &Path, error: disk_image::ImageError) -> anyhow::Error {
    match error {
        disk_image::ImageError::Locked { .. } => error.into(),
        _ => anyhow::Error::new(error).context(format!("cannot open image {}", path.display())),
    }
}
