//! One writer or many readers per image.
//!
//! [`MmapStorage`](super::MmapStorage) takes an advisory `flock` on the
//! image file as soon as it has opened it, before it maps or writes
//! anything: exclusive for reading and writing (`open`, `create`), shared
//! for reading only (`open_read_only`), never waiting. A `flock` belongs to
//! the inode, so every path to one image (a symlink, a hard link, another
//! mount) meets the same lock; the operating system drops it when the file
//! is closed, which is when the storage is dropped or the process dies,
//! however it dies, so a lock is never stale.
//!
//! What that guarantees: while one process may change an image, no other
//! process opens it at all, for writing or for reading (a reader would see
//! a checkpoint half written); any number of readers can share it, and no
//! writer starts under them. A refusal is an [`ImageError::Locked`] that
//! names the holder, found in `/proc/locks` by the file's device and inode.

use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::ImageError;

/// How an image is locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockAccess {
    /// One process, which may write.
    Exclusive,
    /// Any number of processes that only read.
    Shared,
}

/// A process holding a lock on an image, as `/proc/locks` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    /// Its process id.
    pub pid: u32,
    /// Its program's name (`/proc/PID/comm`), when it can be read.
    pub program: Option<String>,
    /// Whether it holds the image exclusively (to write it).
    pub writing: bool,
}

/// Locks the open image `file` (at `path`, for messages) for `access`,
/// or says who holds it.
pub(super) fn lock(file: &File, path: &Path, access: LockAccess) -> Result<(), ImageError> {
    let attempt = match access {
        LockAccess::Exclusive => file.try_lock(),
        LockAccess::Shared => file.try_lock_shared(),
    };
    match attempt {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => {
            let holder = file.metadata().ok().and_then(|m| holder_of_inode(m.dev(), m.ino()));
            Err(ImageError::Locked { path: path.to_path_buf(), access, holder })
        }
        Err(TryLockError::Error(source)) => Err(ImageError::Io { path: path.to_path_buf(), error: source }),
    }
}

/// Who holds a lock on the image at `path`, if anyone (for a message about
/// a world that does not answer, say).
pub fn lock_holder(path: &Path) -> Option<LockHolder> {
    let meta = std::fs::metadata(path).ok()?;
    holder_of_inode(meta.dev(), meta.ino())
}

fn holder_of_inode(dev: u64, ino: u64) -> Option<LockHolder> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let flocks: Vec<Flock> = locks.lines().filter_map(Flock::parse).filter(|l| l.ino == ino).collect();
    // Some file systems (btrfs subvolumes) report another device in stat
    // than in /proc/locks: then the inode alone decides, if it is unambiguous.
    let exact = flocks.iter().find(|l| l.dev == (major(dev), minor(dev)));
    let only = match flocks.as_slice() {
        [one] => Some(one),
        _ => None,
    };
    let found = exact.or(only)?;
    let program = std::fs::read_to_string(format!("/proc/{}/comm", found.pid)).ok();
    Some(LockHolder {
        pid: found.pid,
        program: program.map(|p| p.trim().to_string()),
        writing: found.writing,
    })
}

/// One granted `flock` line of `/proc/locks`, e.g.
/// `6: FLOCK  ADVISORY  WRITE 26600 fe:00:10018961 0 EOF` (waiters, shown
/// with `->`, and POSIX locks are skipped).
struct Flock {
    writing: bool,
    pid: u32,
    dev: (u64, u64),
    ino: u64,
}

impl Flock {
    fn parse(line: &str) -> Option<Flock> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, "FLOCK", _, access, pid, id, ..] = fields.as_slice() else { return None };
        let mut id = id.split(':');
        let major = u64::from_str_radix(id.next()?, 16).ok()?;
        let minor = u64::from_str_radix(id.next()?, 16).ok()?;
        let ino = id.next()?.parse().ok()?;
        Some(Flock { writing: *access == "WRITE", pid: pid.parse().ok()?, dev: (major, minor), ino })
    }
}

/// The major number of a device id as `stat` reports it (glibc's encoding).
fn major(dev: u64) -> u64 {
    ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)
}

/// The minor number of a device id as `stat` reports it (glibc's encoding).
fn minor(dev: u64) -> u64 {
    (dev & 0xff) | ((dev >> 12) & !0xff)
}

/// The message of [`ImageError::Locked`]: who holds the image, and what to do.
pub(crate) fn locked_message(path: &Path, access: &LockAccess, holder: &Option<LockHolder>) -> String {
    let path = path.display();
    let who = match holder {
        Some(LockHolder { pid, program: Some(program), .. }) => format!("{program} (pid {pid})"),
        Some(LockHolder { pid, program: None, .. }) => format!("pid {pid}"),
        None => "another process (its pid is not in /proc/locks)".to_string(),
    };
    let writing = holder.as_ref().is_none_or(|h| h.writing);
    match (access, writing) {
        (LockAccess::Exclusive, true) => format!(
            "{path} is in use by {who}, which holds it for writing: a world runs from it, or a command \
             is changing it. One image has one writer: stop that process first (Ctrl-C takes a final \
             checkpoint), or ask the running world through its control socket (`gnosis status`, `ps`, \
             `checkpoint`, `install`, `snapshot` and `resume` do)"
        ),
        (LockAccess::Exclusive, false) => format!(
            "{path} is being read by {who} (fsck, inspect, or ps or status of a stopped world); \
             wait for it to finish, then try again"
        ),
        (LockAccess::Shared, _) => format!(
            "{path} is being changed by {who}: a world runs from it, or a command is changing it, so it \
             cannot be read consistently now. Ask a running world instead (`gnosis status`, `gnosis ps` \
             go through its control socket); fsck and inspect need it stopped first"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_lines_parse() {
        let l = Flock::parse("6: FLOCK  ADVISORY  WRITE 26600 fe:00:10018961 0 EOF").unwrap();
        assert!(l.writing);
        assert_eq!((l.pid, l.dev, l.ino), (26600, (0xfe, 0), 10018961));
        let r = Flock::parse("3: FLOCK  ADVISORY  READ 25776 103:02:77 0 EOF").unwrap();
        assert!(!r.writing);
        assert_eq!(r.dev, (0x103, 2));
        assert!(Flock::parse("1: POSIX  ADVISORY  WRITE 1 fe:00:1 0 EOF").is_none());
        assert!(Flock::parse("1: -> FLOCK  ADVISORY  WRITE 1 fe:00:1 0 EOF").is_none());
    }

    #[test]
    fn device_numbers_decode_as_glibc_does() {
        // makedev(254, 0) and makedev(259, 70000).
        assert_eq!((major(0xfe00), minor(0xfe00)), (254, 0));
        let dev = (259 & 0xfff) << 8 | (70000 & 0xff) | ((70000 & !0xff) << 12);
        assert_eq!((major(dev), minor(dev)), (259, 70000));
    }

    #[test]
    fn a_second_lock_names_this_process_and_shared_locks_share() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.img");
        std::fs::write(&path, [0u8; 8]).unwrap();
        let open = || File::options().read(true).write(true).open(&path).unwrap();
        let (a, b) = (open(), open());
        lock(&a, &path, LockAccess::Exclusive).unwrap();
        let Err(ImageError::Locked { holder, .. }) = lock(&b, &path, LockAccess::Shared) else {
            panic!("a second lock was granted")
        };
        let holder = holder.expect("the holder is in /proc/locks");
        assert_eq!(holder.pid, std::process::id());
        assert!(holder.writing);
        assert_eq!(lock_holder(&path), Some(holder));
        drop(a);
        lock(&b, &path, LockAccess::Shared).unwrap();
        lock(&open(), &path, LockAccess::Shared).unwrap();
        assert!(matches!(lock(&open(), &path, LockAccess::Exclusive), Err(ImageError::Locked { .. })));
    }
}
