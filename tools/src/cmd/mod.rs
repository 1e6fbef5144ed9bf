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
pub mod ps;
pub mod run;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use disk_image::storage::{MmapStorage, Storage};

/// Opens an image read-only: nothing the caller does can change it.
pub fn open_read_only(path: &Path) -> anyhow::Result<(Arc<dyn Storage>, u64)> {
    let storage =
        MmapStorage::open_read_only(path).with_context(|| format!("cannot open image {}", path.display()))?;
    let bytes = std::fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?.len();
    Ok((Arc::new(storage), bytes))
}

/// Formats a byte count for people: 256 MiB, 1.5 GiB.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
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
