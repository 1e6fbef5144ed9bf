//! The `gnosis` command line on real files: format, inspect, fsck, and every
//! kind of bad image.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gnosis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gnosis")).args(args).output().expect("run gnosis")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// An empty image (`--bare`): the format alone.
fn format_image(dir: &Path, name: &str, size: &str) -> PathBuf {
    let path = dir.join(name);
    let o = gnosis(&["format", path.to_str().unwrap(), "--size", size, "--bare"]);
    assert!(o.status.success(), "format failed: {}", text(&o));
    path
}

#[test]
fn format_builds_the_primordial_world_and_it_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    for size in ["8MiB", "64MiB"] {
        let path = dir.path().join(format!("{size}.img"));
        let p = path.to_str().unwrap();
        let o = gnosis(&["format", p, "--size", size]);
        assert!(o.status.success() && text(&o).contains("with the primordial world"), "{}", text(&o));
        let out = text(&gnosis(&["inspect", p]));
        assert!(out.contains("checkpoint  generation 2"), "{out}");
        let o = gnosis(&["fsck", p]);
        assert!(o.status.success() && text(&o).contains("clean"), "{}", text(&o));
        let ps = text(&gnosis(&["ps", p]));
        for name in ["bank", "ckptdvr", "migrator", "console", "shell", "counter", "kv", "operator"] {
            assert!(ps.contains(name), "{name} missing: {ps}");
        }
    }
    let tiny = dir.path().join("tiny.img");
    let o = gnosis(&["format", tiny.to_str().unwrap(), "--size", "2MiB"]);
    assert!(!o.status.success() && text(&o).contains("does not fit"), "{}", text(&o));
    assert!(!tiny.exists());
}

#[test]
fn format_inspect_fsck_round_trip_for_several_sizes() {
    let dir = tempfile::tempdir().unwrap();
    for (size, pages) in [("2MiB", None), ("16MiB", None), ("256MiB", Some("48012"))] {
        let path = format_image(dir.path(), &format!("{size}.img"), size);
        let p = path.to_str().unwrap();
        let o = gnosis(&["inspect", p]);
        assert!(o.status.success(), "{}", text(&o));
        let out = text(&o);
        assert!(out.contains("generation 1"), "{out}");
        assert!(out.contains("pages 0 created"), "{out}");
        if let Some(pages) = pages {
            assert!(out.contains(&format!("of {pages}")), "{out}");
        }
        let o = gnosis(&["fsck", p]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("clean"));
    }
}

/// A fresh image's home frames are holes; what the kernel writes in place
/// (label to journal, both checkpoint areas: a quarter of the image) is
/// allocated ahead, so that no store into it can fault for lack of space.
#[test]
fn a_one_gib_image_is_sparse_but_for_what_is_written_in_place() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = format_image(dir.path(), "big.img", "1GiB");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 1 << 30);
    let allocated = meta.blocks() * 512;
    let areas = 2 * disk_image::Geometry::for_size(1 << 30).unwrap().area_frames * disk_image::FRAME_BYTES;
    // On tmpfs, where even reading a hole allocates, all of it is.
    let tmpfs = nix::sys::statfs::statfs(dir.path())
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    let most = if tmpfs { 1 << 30 } else { areas + (2 << 20) };
    assert!(
        allocated >= areas && allocated <= most,
        "a fresh 1 GiB image occupies {allocated} bytes on disk, its areas {areas}"
    );
    assert!(gnosis(&["inspect", path.to_str().unwrap()]).status.success());
}

#[test]
fn format_refuses_to_overwrite_and_rejects_bad_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_image(dir.path(), "a.img", "4MiB");
    let before = std::fs::read(&path).unwrap();
    let o = gnosis(&["format", path.to_str().unwrap(), "--size", "8MiB", "--bare"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let small = dir.path().join("small.img");
    let o = gnosis(&["format", small.to_str().unwrap(), "--size", "1MiB", "--bare"]);
    assert!(!o.status.success() && text(&o).contains("too small"), "{}", text(&o));
    assert!(!small.exists(), "a failed format leaves no file");
    let o = gnosis(&["format", small.to_str().unwrap(), "--size", "12 parsecs"]);
    assert!(!o.status.success() && text(&o).contains("unknown size suffix"), "{}", text(&o));
}

#[test]
fn inspect_dumps_one_node_or_page_and_rejects_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_image(dir.path(), "a.img", "4MiB");
    let p = path.to_str().unwrap();
    let o = gnosis(&["inspect", p, "--node", "3"]);
    assert!(
        o.status.success() && text(&o).contains("node 3: allocation id 0") && text(&o).contains("slot 15"),
        "{}",
        text(&o)
    );
    let o = gnosis(&["inspect", p, "--page", "0x2"]);
    assert!(o.status.success() && text(&o).contains("all 4096 bytes are zero"), "{}", text(&o));
    let o = gnosis(&["inspect", p, "--node", "99999999"]);
    assert!(!o.status.success() && text(&o).contains("not in this image"), "{}", text(&o));
}

/// A bad image: how it was damaged, and what the error must say.
struct Case {
    name: &'static str,
    damage: fn(&mut Vec<u8>),
    expect: &'static str,
}

fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn reseal_label(bytes: &mut [u8]) {
    let sum = crc32c::crc32c(&bytes[..4092]);
    set_u32(bytes, 4092, sum);
}

const CASES: &[Case] = &[
    Case {
        name: "random bytes",
        damage: |b| b.iter_mut().enumerate().for_each(|(i, x)| *x = (i * 7) as u8),
        expect: "not a Gnosis image",
    },
    Case { name: "truncated", damage: |b| b.truncate(b.len() - 3 * 4096), expect: "truncated" },
    Case {
        name: "newer format",
        damage: |b| {
            set_u32(b, 8, 99);
            reseal_label(b);
        },
        expect: "newer than this build supports",
    },
    Case { name: "label checksum", damage: |b| b[40] ^= 1, expect: "volume label (frame 0) is damaged" },
    Case {
        name: "both headers bad",
        damage: |b| {
            b[4096 + 30] ^= 1;
            b[2 * 4096 + 30] ^= 1;
        },
        expect: "no valid checkpoint header",
    },
    Case {
        name: "headers from another image",
        damage: |b| {
            for frame in [1usize, 2] {
                let at = frame * 4096;
                b[at + 16] ^= 0xFF;
                let sum = crc32c::crc32c(&b[at..at + 4092]);
                set_u32(&mut b[at..], 4092, sum);
            }
        },
        expect: "belongs to another image",
    },
];

#[test]
fn every_bad_image_gets_its_own_error_and_stays_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(format_image(dir.path(), "good.img", "4MiB")).unwrap();
    for case in CASES {
        let path = dir.path().join(format!("{}.img", case.name.replace(' ', "-")));
        let mut bytes = good.clone();
        (case.damage)(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        for command in ["inspect", "fsck"] {
            let o = gnosis(&[command, path.to_str().unwrap()]);
            assert!(!o.status.success(), "{command} accepted '{}'", case.name);
            assert!(text(&o).contains(case.expect), "{command} on '{}' said: {}", case.name, text(&o));
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{command} changed '{}'", case.name);
        }
    }
}

#[test]
fn one_bad_header_is_survived_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = format_image(dir.path(), "a.img", "4MiB");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4096 + 100] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    let o = gnosis(&["inspect", p]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("primary   unusable: checksum mismatch"), "{}", text(&o));
    let o = gnosis(&["fsck", p]);
    assert!(o.status.success(), "a torn header slot is a note, not damage: {}", text(&o));
    assert!(text(&o).contains("note: [FSCK-HEADER] primary header slot"), "{}", text(&o));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn not_an_image_fails_clearly() {
    let o = gnosis(&["inspect", "/etc/passwd"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a Gnosis image"), "{}", text(&o));
    let o = gnosis(&["inspect", "/nonexistent/x.img"]);
    assert!(!o.status.success() && text(&o).contains("cannot open image /nonexistent/x.img"), "{}", text(&o));
}
