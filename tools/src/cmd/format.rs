//! `gnosis format IMAGE --size SIZE`: create a new image holding the
//! primordial world (see `domains::world::big_bang`), built under a temporary name
//! and linked into place only when complete, never replacing anything,
//! and only if the disk has room for it (`world::new_image`).

use std::path::PathBuf;
use std::process::ExitCode;

use disk_image::{FRAME_BYTES, Geometry};
use domains::world::big_bang;
use tools::world::Overcommit;

use super::human_bytes;

/// Arguments of `gnosis format`.
#[derive(clap::Args)]
pub struct Args {
    /// Path of the image file to create (must not exist).
    pub image: PathBuf,
    /// Image size, e.g. 256MiB or 1GiB (at least 2MiB).
    #[arg(long, value_parser = crate::size::parse_size)]
    pub size: u64,
    /// Seconds between the checkpoint driver's checkpoints (1 to 300).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=300))]
    pub checkpoint_interval: u32,
    /// Leave the image empty (no primordial world): for `gnosis exec` and experiments.
    #[arg(long)]
    pub bare: bool,
    /// Make the image even if it is bigger than the free disk space: only its checkpoint areas,
    /// journal and headers must fit now, the rest is taken as the world fills it.
    #[arg(long)]
    pub sparse: bool,
}

/// Creates the image file, sparse, writes its label and first header, and
/// (unless `--bare`) builds the primordial world and checkpoints it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let geometry = Geometry::for_size(args.size)?;
    let settings =
        (!args.bare).then_some(big_bang::Settings { checkpoint_interval_s: args.checkpoint_interval });
    tools::world::create_with(&args.image, args.size, settings, overcommit(args.sparse))?;
    println!(
        "formatted {}{}: {} ({} pages, {} nodes, two checkpoint areas of {} each)",
        args.image.display(),
        if args.bare { " (bare)" } else { " with the primordial world" },
        human_bytes(geometry.total_frames * FRAME_BYTES),
        geometry.page_count,
        geometry.node_count(),
        human_bytes(geometry.area_frames * FRAME_BYTES),
    );
    Ok(ExitCode::SUCCESS)
}

/// Makes a new world at `path` with the default settings.
pub fn create_world(path: &std::path::Path, bytes: u64, overcommit: Overcommit) -> anyhow::Result<()> {
    tools::world::create_with(path, bytes, Some(big_bang::Settings::default()), overcommit)
}

/// `--sparse` as the rule for free space.
pub fn overcommit(sparse: bool) -> Overcommit {
    if sparse { Overcommit::Allow } else { Overcommit::Refuse }
}
