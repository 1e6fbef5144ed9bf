//! What verifying an image before boot costs (BENCHMARKS.md, "Verifying
//! images before boot"):
//!
//! ```text
//! cargo run --release -p gnosis-tests --example restart_cost -- DIR
//! ```
//!
//! In DIR (on the file system to measure) it makes three images: the
//! default 256 MiB world (`gnosis format`'s big bang), a dense 1 GiB image
//! (every node pot, allocation pot, checksum pot and page written) and a
//! sparse 64 GiB image (formatted: its pots are holes; its checkpoint areas,
//! 16 GiB, are allocated). For each it times in ms, over 7 runs (median,
//! min–max): `restart::load_unverified` (the lazy load), `restart::load`
//! (the lazy load, the eager pass over pots, journal and process list, and
//! the allocation of what restart writes), warm and with the image dropped
//! from the page cache first, and, for comparison, reading and verifying
//! every page holding data (what making page verification eager as well
//! would add). The images are removed at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use disk_image::frame::{self, FRAME_SIZE};
use disk_image::layout::Layout;
use disk_image::pots::{PAGE_ALLOCATED, entry_offset};
use disk_image::storage::{MmapStorage, Storage};
use disk_image::{FRAME_BYTES, Geometry};

const RUNS: usize = 7;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let images = [
        ("default 256 MiB world", world(&dir.join("world.img"))?),
        ("dense 1 GiB image", dense(&dir.join("dense.img"), 1 << 30)?),
        ("sparse 64 GiB image", sparse(&dir.join("sparse.img"), 64 << 30)?),
    ];
    println!(
        "{:<24} {:>22} {:>22} {:>22} {:>22} {:>22} {:>12}",
        "", "lazy load", "verified load", "verified load, cold", "all pages", "all pages, cold", "data held"
    );
    for (name, path) in &images {
        let bytes = std::fs::metadata(path)?.len();
        let lazy = time(path, false, || {
            let _ = kernel::restart::load_unverified(open(path), bytes).expect("lazy load");
        });
        let load = || {
            let _ = kernel::restart::load(open(path), bytes).expect("verified load");
        };
        let (verified, verified_cold) = (time(path, false, load), time(path, true, load));
        let pages = || verify_pages(path, bytes);
        let (all, all_cold) = (time(path, false, pages), time(path, true, pages));
        let data = data_bytes(path, bytes);
        println!(
            "{name:<24} {} {} {} {} {} {:>8} KiB",
            figure(&lazy),
            figure(&verified),
            figure(&verified_cold),
            figure(&all),
            figure(&all_cold),
            data >> 10
        );
        std::fs::remove_file(path)?;
    }
    Ok(())
}

fn open(path: &Path) -> Arc<dyn Storage> {
    Arc::new(MmapStorage::open(path).expect("open"))
}

/// Times `f` over [`RUNS`] runs, sorted; `cold` drops the image's pages
/// from the page cache before each run (as after a reboot).
fn time(path: &Path, cold: bool, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            if cold {
                drop_cache(path);
            }
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// Writes the image's dirty pages back and drops its cached pages.
fn drop_cache(path: &Path) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).expect("open");
    file.sync_all().expect("sync");
    let advice = nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED;
    nix::fcntl::posix_fadvise(file.as_raw_fd(), 0, 0, advice).expect("fadvise");
}

/// Median (min–max), ms.
fn figure(times: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!("{:>8.2} ({:.2}–{:.2})", ms(times[RUNS / 2]), ms(times[0]), ms(times[RUNS - 1]))
}

/// Bytes of the image's home region holding data.
fn data_bytes(path: &Path, bytes: u64) -> u64 {
    let storage = MmapStorage::open_read_only(path).expect("open");
    let home = disk_image::open(&storage, bytes).expect("open").layout.home();
    storage.data_extents(home).expect("extents").iter().map(|r| r.count * FRAME_BYTES).sum()
}

/// Reads every page holding data and checks it against its checksum-pot
/// entry: the pass restart leaves to first use.
fn verify_pages(path: &Path, bytes: u64) {
    let storage = MmapStorage::open_read_only(path).expect("open");
    let layout = disk_image::open(&storage, bytes).expect("open").layout;
    let mut buf = vec![0u8; 256 * FRAME_SIZE];
    let mut pot = vec![0u8; FRAME_SIZE];
    for extent in storage.data_extents(layout.pages).expect("extents") {
        for first in (extent.first..extent.end()).step_by(256) {
            let count = 256.min(extent.end() - first);
            let chunk = &mut buf[..count as usize * FRAME_SIZE];
            storage.read_frames(first, chunk).expect("read");
            for (i, page) in chunk.chunks_exact(FRAME_SIZE).enumerate() {
                let number = first + i as u64 - layout.pages.first;
                let (pot_frame, index) = layout.checksum_place(number);
                storage.read_frames(pot_frame, &mut pot).expect("read");
                let ok = frame::seal(page) == frame::read_u32(&pot, entry_offset(index));
                assert!(ok || number == 1, "page {number} fails its checksum");
            }
        }
    }
}

/// The default world, as `gnosis format` makes it.
fn world(path: &Path) -> anyhow::Result<PathBuf> {
    tools::world::create(path, 256 << 20, Some(domains::world::big_bang::Settings::default()))?;
    Ok(path.to_path_buf())
}

/// A formatted image of `bytes`, nothing else written.
fn sparse(path: &Path, bytes: u64) -> anyhow::Result<PathBuf> {
    tools::world::create(path, bytes, None)?;
    Ok(path.to_path_buf())
}

/// A formatted image whose every pot and page holds data that verifies:
/// every node with an allocation id, every page allocated with contents.
fn dense(path: &Path, bytes: u64) -> anyhow::Result<PathBuf> {
    let geometry = Geometry::for_size(bytes)?;
    let storage = MmapStorage::create(path, geometry.total_frames)?;
    let opened = disk_image::format(&storage, geometry, 7, 1)?;
    let l = opened.layout;
    write_pages(&storage, &l)?;
    for pot in l.node_pots.first..l.node_pots.end() {
        let mut f = [0u8; FRAME_SIZE];
        for node in 0..15 {
            frame::write_u32(&mut f, node * disk_image::pots::NODE_BYTES, 1);
        }
        seal_and_write(&storage, pot, f)?;
    }
    storage.sync_all()?;
    Ok(path.to_path_buf())
}

/// Every page with contents, allocated, with its seal in its checksum pot.
fn write_pages(storage: &MmapStorage, l: &Layout) -> anyhow::Result<()> {
    for pot in 0..l.checksum_pots.count {
        let (mut sums, mut allocation) = ([0u8; FRAME_SIZE], [0u8; FRAME_SIZE]);
        let pages = pot * 1023..((pot + 1) * 1023).min(l.geometry.page_count);
        for page in pages.clone() {
            let mut content = [0u8; FRAME_SIZE];
            for (i, word) in content.chunks_exact_mut(8).enumerate() {
                word.copy_from_slice(&(page * 512 + i as u64).to_le_bytes());
            }
            storage.write(l.page_frame(page), 0, &content)?;
            let index = (page - pages.start) as usize;
            frame::write_u32(&mut sums, entry_offset(index), frame::seal(&content));
            frame::write_u32(&mut allocation, entry_offset(index), PAGE_ALLOCATED | 1);
        }
        seal_and_write(storage, l.checksum_pots.first + pot, sums)?;
        seal_and_write(storage, l.allocation_pots.first + pot, allocation)?;
    }
    Ok(())
}

fn seal_and_write(storage: &MmapStorage, frame: u64, mut content: [u8; FRAME_SIZE]) -> anyhow::Result<()> {
    frame::write_frame_seal(&mut content);
    storage.write(frame, 0, &content)?;
    Ok(())
}
