//! Reading a file a user names (a program to install, the files of a
//! snapshot to resume): by the command itself, with the user's own rights,
//! and only a regular file no bigger than a limit. The file is opened
//! without blocking and checked before a byte is read, so a FIFO cannot
//! hang a command, a device such as `/dev/zero` cannot fill its memory,
//! and a file that grows while it is read is cut off at the limit.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UserFileError {
    /// The system refused.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file.
    #[error("{path} is {kind}, not a regular file: give the path of a file")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is: "a FIFO", "a character device", …
        kind: &'static str,
    },
    /// Bigger than the limit.
    #[error("{path} holds {size} bytes; {what} may be at most {limit} bytes ({human})", human = crate::human_bytes(*limit))]
    TooBig {
        /// The file.
        path: PathBuf,
        /// Its size (at least).
        size: u64,
        /// The limit.
        limit: u64,
        /// What the file is for: "a program".
        what: &'static str,
    },
}

/// Reads the regular file at `path` if it holds at most `limit` bytes;
/// `what` names the file's purpose in the message if it is too big.
pub fn read(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, UserFileError> {
    let io = |source| UserFileError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let kind = meta.file_type();
    let not_regular = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(kind) = not_regular {
        return Err(UserFileError::NotRegular { path: path.to_path_buf(), kind });
    }
    let too_big = |size| UserFileError::TooBig { path: path.to_path_buf(), size, limit, what };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read(&file, 5, "a test file").unwrap(), b"12345");
        let e = read(&file, 4, "a test file").unwrap_err().to_string();
        assert!(e.contains("holds 5 bytes; a test file may be at most 4 bytes"), "{e}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read(&fifo, 5, "a test file").unwrap_err().to_string();
        assert!(e.contains("is a FIFO, not a regular file"), "{e}");
        let e = read(Path::new("/dev/zero"), 5, "a test file").unwrap_err().to_string();
        assert!(e.contains("is a character device"), "{e}");
        assert!(read(dir.path(), 5, "a test file").unwrap_err().to_string().contains("is a directory"));
    }
}
