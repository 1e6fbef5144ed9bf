//! A real full file system under a mapped image: a small tmpfs (where even
//! reading a hole through a mapping allocates memory, so a full one turned
//! `fsck` into a SIGBUS). Needs to mount one: run as root; skipped
//! otherwise, unless `GNOSIS_REQUIRE_TOOLS` is set, which makes a missing
//! mount a failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use disk_image::storage::{MmapStorage, Storage};
use disk_image::{FRAME_SIZE, ImageError, StorageError};
use gnosis_tests::formatted_image;
use kernel::builder::Builder;
use kernel::clock::Clock;
use kernel::kernel::{Background, Config, Kernel};

const IMAGE: u64 = 8 << 20;

/// A tmpfs of `bytes`, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(bytes: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs { dir }),
            _ if std::env::var_os("GNOSIS_REQUIRE_TOOLS").is_some() => panic!("cannot mount a tmpfs"),
            _ => {
                eprintln!("skipped: mounting a tmpfs needs root");
                None
            }
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Writes `image` sparsely: only its frames that are not all zero, as a
/// formatted image made before this change occupies a file system.
fn write_sparse(path: &Path, image: &[u8]) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::create(path).unwrap();
    file.set_len(image.len() as u64).unwrap();
    for (i, frame) in image.chunks(FRAME_SIZE).enumerate() {
        if frame.iter().any(|&b| b != 0) {
            file.write_all_at(frame, (i * FRAME_SIZE) as u64).unwrap();
        }
    }
}

/// Fills the file system to its last page.
fn fill(fs: &Tmpfs) {
    use std::io::Write;
    let mut filler = std::fs::File::create(fs.path("filler")).unwrap();
    for size in [64 << 10, FRAME_SIZE] {
        let chunk = vec![1u8; size];
        while filler.write_all(&chunk).is_ok() {}
    }
}

#[test]
fn a_full_tmpfs_is_an_error_to_run_and_no_obstacle_to_fsck() {
    let Some(fs) = Tmpfs::mount(12 << 20) else { return };
    let path = fs.path("world.img");
    let image = formatted_image(IMAGE);
    write_sparse(&path, &image);
    fill(&fs);

    // Opening to run would need the holes allocated: refused, cleanly.
    match MmapStorage::open(&path) {
        Err(ImageError::Storage(StorageError::NoSpace(e))) => {
            assert!(e.bytes > 0 && e.bytes <= IMAGE, "{e}");
            assert!(e.to_string().contains("free at least"), "{e}");
        }
        other => panic!("expected no space, got {:?}", other.err()),
    }
    assert!(std::fs::read(&path).unwrap() == image, "the refused open changed nothing");

    // Checking it reads every hole, through pread: no fault, and clean.
    let storage: Arc<dyn Storage> = Arc::new(MmapStorage::open_read_only(&path).unwrap());
    let report = kernel::check::check_image(storage, IMAGE).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);

    // With the space back, it runs and checkpoints.
    std::fs::remove_file(fs.path("filler")).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(MmapStorage::open(&path).unwrap());
    let loaded = kernel::restart::load(storage, IMAGE).unwrap();
    let clock = Clock::simulated_after_restart(loaded.opened.header.checkpoint_time_ns, 1);
    let mut k = Kernel::boot(loaded, clock, Config::default(), Background::Inline).unwrap();
    let page = Builder::new(&mut k).page().unwrap();
    k.write_page(page, 0, b"room again").unwrap();
    let generation = k.checkpoint_now().unwrap();
    k.finish_background().unwrap();
    assert!(generation > 1);
}
