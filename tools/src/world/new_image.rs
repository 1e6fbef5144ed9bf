//! Making a new image file (`gnosis format`, and `gnosis run` making the
//! default world) so that nothing else ever sees it half made and nothing
//! that was there is ever lost.
//!
//! * The image is built under a temporary name in the target directory,
//!   `.NAME.partial-PID`, and linked into place only once complete, with a
//!   call that never replaces anything (`link`, or `renameat2` with
//!   `RENAME_NOREPLACE` where a file system has no hard links). So a
//!   `gnosis run` that races a format finds no image or a whole one, and of
//!   two formats of one path exactly one wins; the other says the path
//!   exists.
//! * A path that exists in any form (a file, a directory, a dangling
//!   symlink) is refused before anything is made, and on failure only the
//!   temporary file, which this call created, is removed.
//! * Free space is checked against what the image needs (see
//!   [`SpaceNeed`]) before anything is written.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use disk_image::{FRAME_BYTES, Geometry};
use kernel::kernel::Background;

use crate::human_bytes;
use domains::world::big_bang;

/// Whether an image may be bigger than the free space of its file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overcommit {
    /// The whole image must fit in the free space.
    Refuse,
    /// Only what is allocated up front must fit (`--sparse`): the rest is
    /// taken as the world fills it, and a world that finds the disk full
    /// stops at its last checkpoint.
    Allow,
}

/// The path of a new image exists already: nothing was made.
#[derive(Debug, thiserror::Error)]
#[error("{} already exists{what}; gnosis never replaces a file: remove it or choose another path", path.display())]
pub struct AlreadyExists {
    /// The path.
    pub path: PathBuf,
    /// What is there, for the message (e.g. " (a dangling symlink)").
    what: String,
}

/// Creates a new image at `path` of `bytes`: formats it and, with
/// `settings`, builds the primordial world in it and commits it as a
/// checkpoint. The whole image must fit in the free space.
pub fn create(path: &Path, bytes: u64, settings: Option<big_bang::Settings>) -> anyhow::Result<()> {
    create_with(path, bytes, settings, Overcommit::Refuse)
}

/// [`create`], with the free-space rule chosen.
pub fn create_with(
    path: &Path,
    bytes: u64,
    settings: Option<big_bang::Settings>,
    overcommit: Overcommit,
) -> anyhow::Result<()> {
    refuse_existing(path)?;
    let geometry = Geometry::for_size(bytes)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let free = free_bytes(dir)?;
    SpaceNeed::of(geometry)?.check(free, dir, overcommit)?;
    let name = path.file_name().with_context(|| format!("{} names no file", path.display()))?;
    let partial = dir.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
    let storage = disk_image::MmapStorage::create(&partial, geometry.total_frames)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let made = make(storage, &partial, geometry, settings).and_then(|()| publish(&partial, path));
    // Made by this call (create_new), so it is ours to remove; once linked
    // into place, this is only its temporary name going.
    let _ = std::fs::remove_file(&partial);
    made
}

fn refuse_existing(path: &Path) -> Result<(), AlreadyExists> {
    let Ok(meta) = path.symlink_metadata() else { return Ok(()) };
    let kind = meta.file_type();
    let what = if kind.is_symlink() {
        match std::fs::read_link(path) {
            Ok(target) if !path.exists() => format!(" (a dangling symlink to {})", target.display()),
            Ok(target) => format!(" (a symlink to {})", target.display()),
            Err(_) => " (a symlink)".to_string(),
        }
    } else if kind.is_dir() {
        " (a directory)".to_string()
    } else if kind.is_fifo() || kind.is_socket() || kind.is_block_device() || kind.is_char_device() {
        " (a special file)".to_string()
    } else {
        String::new()
    };
    Err(AlreadyExists { path: path.to_path_buf(), what })
}

/// Formats the new image `storage` (at `path`) and builds its world.
fn make(
    storage: disk_image::MmapStorage,
    path: &Path,
    geometry: Geometry,
    settings: Option<big_bang::Settings>,
) -> anyhow::Result<()> {
    disk_image::format(&storage, geometry, rand::random(), kernel::clock::wall_now_ns())?;
    drop(storage);
    let Some(settings) = settings else { return Ok(()) };
    let mut kernel = super::boot(path, Background::Inline)?;
    big_bang::build(&mut kernel, &settings).with_context(|| {
        format!(
            "the primordial world does not fit in {}: make the image at least 8MiB, or pass --bare for an empty one",
            human_bytes(geometry.total_frames * FRAME_BYTES)
        )
    })?;
    kernel.checkpoint_now()?;
    kernel.finish_background()?;
    Ok(())
}

/// Gives the complete image at `partial` its name `path`, never replacing
/// anything there, and makes the name durable.
fn publish(partial: &Path, path: &Path) -> anyhow::Result<()> {
    let linked = std::fs::hard_link(partial, path).or_else(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Err(e),
        // File systems without hard links (FAT, some FUSE ones).
        _ => nix::fcntl::renameat2(None, partial, None, path, nix::fcntl::RenameFlags::RENAME_NOREPLACE)
            .map_err(std::io::Error::from),
    });
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(refuse_existing(path).err().map_or_else(
                || anyhow::anyhow!("{} appeared and went while it was being made", path.display()),
                |exists| anyhow::Error::new(exists).context("another command made it meanwhile"),
            ));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot give the new image its name {}", path.display()));
        }
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot make the new name {} durable", path.display()))
}

/// Bytes the unprivileged user may still write on the file system of `dir`.
fn free_bytes(dir: &Path) -> anyhow::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir)
        .with_context(|| format!("cannot find the free space of {}", dir.display()))?;
    Ok(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

/// What an image takes on disk: the whole file once the world has filled
/// it, and the part allocated at once: the label, checkpoint headers,
/// process lists, journal and both checkpoint areas (the mapping stores
/// into them from the first checkpoint on, so they are allocated when the
/// image is made rather than left as holes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceNeed {
    /// The image's size.
    pub full: u64,
    /// Allocated when the image is made.
    pub up_front: u64,
    /// Of that, one checkpoint area.
    pub area: u64,
}

impl SpaceNeed {
    /// What an image of `geometry` needs.
    pub fn of(geometry: Geometry) -> anyhow::Result<SpaceNeed> {
        let layout = geometry.layout()?;
        let fixed = [
            layout.label,
            layout.headers,
            layout.process_lists,
            layout.journal,
            layout.areas[0],
            layout.areas[1],
        ];
        let frames: u64 = fixed.iter().map(|r| r.count).sum();
        Ok(SpaceNeed {
            full: geometry.total_frames * FRAME_BYTES,
            up_front: frames * FRAME_BYTES,
            area: layout.areas[0].count * FRAME_BYTES,
        })
    }

    /// Whether the image fits in `free` bytes on the file system of `dir`
    /// (named in the message), under `overcommit`.
    pub fn check(&self, free: u64, dir: &Path, overcommit: Overcommit) -> anyhow::Result<()> {
        let (full, free_text) = (human_bytes(self.full), human_bytes(free));
        if self.up_front > free {
            anyhow::bail!(
                "an image of {full} needs {} on disk at once (its two checkpoint areas of {} each, journal \
                 and headers), but the file system of {} has {free_text} free: choose a smaller --size \
                 or free some space",
                human_bytes(self.up_front),
                human_bytes(self.area),
                dir.display()
            );
        }
        if self.full > free && overcommit == Overcommit::Refuse {
            anyhow::bail!(
                "an image of {full} does not fit in the {free_text} free on the file system of {}: choose \
                 a smaller --size, free some space, or pass --sparse to make it anyway ({} is allocated \
                 now, the rest as the world fills it; a world that finds the disk full stops at its last \
                 checkpoint)",
                dir.display(),
                human_bytes(self.up_front)
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(bytes: u64) -> SpaceNeed {
        SpaceNeed::of(Geometry::for_size(bytes).unwrap()).unwrap()
    }

    #[test]
    fn the_checkpoint_areas_are_most_of_what_is_allocated_at_once() {
        let n = need(256 << 20);
        assert_eq!(n.full, 256 << 20);
        assert_eq!(n.area, 32 << 20);
        assert!(n.up_front > 2 * n.area && n.up_front < 2 * n.area + (1 << 20), "{n:?}");
    }

    #[test]
    fn the_whole_image_must_fit_unless_overcommitting_and_what_is_allocated_at_once_always() {
        let n = need(1 << 30);
        let dir = Path::new("/d");
        assert!(n.check(2 << 30, dir, Overcommit::Refuse).is_ok());
        let refused = n.check(512 << 20, dir, Overcommit::Refuse).unwrap_err().to_string();
        assert!(
            refused.contains("an image of 1 GiB does not fit in the 512 MiB free")
                && refused.contains("--sparse"),
            "{refused}"
        );
        assert!(n.check(512 << 20, dir, Overcommit::Allow).is_ok(), "overcommitted: only the areas must fit");
        for overcommit in [Overcommit::Refuse, Overcommit::Allow] {
            let refused = n.check(100 << 20, dir, overcommit).unwrap_err().to_string();
            assert!(
                refused.contains("two checkpoint areas of 128 MiB each") && refused.contains("100 MiB free"),
                "{refused}"
            );
        }
    }
}
