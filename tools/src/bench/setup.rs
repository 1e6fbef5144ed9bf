//! Worlds for measurements: fresh images on disk, a compute-loop domain,
//! pages to dirty.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use disk_image::Geometry;
use disk_image::storage::{MmapStorage, Storage};
use domains::compute_loop;
use kernel::builder::{Builder, DomainSpec};
use kernel::clock::Clock;
use kernel::kernel::{Background, Config, Kernel};
use kernel::key::{Cda, Key};
use kernel::restart;

/// Formats a sparse image of `bytes` at `path`.
pub fn format_image(path: &Path, bytes: u64) -> anyhow::Result<()> {
    let geometry = Geometry::for_size(bytes)?;
    let storage = MmapStorage::create(path, geometry.total_frames)?;
    disk_image::format(&storage, geometry, rand::random(), kernel::clock::wall_now_ns())?;
    Ok(())
}

/// Boots the image at `path` with a real clock.
pub fn boot(path: &Path, background: Background) -> anyhow::Result<Kernel> {
    let storage: Arc<dyn Storage> =
        Arc::new(MmapStorage::open(path).with_context(|| format!("open {}", path.display()))?);
    let len = std::fs::metadata(path)?.len();
    let loaded = restart::load(storage, len)?;
    let h = &loaded.opened.header;
    let clock = Clock::real_after_restart(h.checkpoint_time_ns, h.wall_time_ns);
    Ok(Kernel::boot(loaded, clock, Config::default(), background)?)
}

/// A fresh image of `bytes` in `dir`, booted.
pub fn fresh(
    dir: &Path,
    name: &str,
    bytes: u64,
    background: Background,
) -> anyhow::Result<(Kernel, PathBuf)> {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    format_image(&path, bytes)?;
    Ok((boot(&path, background)?, path))
}

/// Adds a domain running the compute loop `iterations` times (the prime
/// meter is made if missing); returns its root.
pub fn loop_domain(k: &mut Kernel, iterations: u32) -> anyhow::Result<Cda> {
    let prime = k.config().prime_meter;
    let have_prime = kernel::object::allocation(k.store(), prime).allocated
        && kernel::meter::cpu_counter(k.store(), prime) > 0;
    let mut b = Builder::new(k);
    let meter =
        if have_prime { b.key(kernel::key::KeyType::Meter, prime, 0) } else { b.prime_meter(u64::MAX)? };
    let space = b.address_space()?;
    let code = b.map_fresh(space, compute_loop::BASE, 4096, true)?;
    b.map_fresh(space, compute_loop::BUFFER, 4096, false)?;
    b.kernel().write_page(code[0], 0, &compute_loop::with_iterations(iterations))?;
    let spec = DomainSpec {
        memory: space,
        meter,
        pc: compute_loop::BASE,
        name: "loop".into(),
        keeper: Key::NULL,
        ..Default::default()
    };
    Ok(b.domain(&spec)?)
}

/// Allocates `count` pages.
pub fn pages(k: &mut Kernel, count: usize) -> anyhow::Result<Vec<Cda>> {
    let mut b = Builder::new(k);
    (0..count).map(|_| Ok(b.page()?)).collect()
}

/// Writes 8 bytes into each page (a first write copies it into the working area).
pub fn dirty(k: &mut Kernel, pages: &[Cda], value: u64) -> anyhow::Result<()> {
    for &p in pages {
        k.write_page(p, 0, &value.to_le_bytes())?;
    }
    Ok(())
}
