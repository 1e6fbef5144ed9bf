//! Where the control socket of an image is, and the checks that keep its
//! directory private.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The directory of the user's control sockets: `$XDG_RUNTIME_DIR/gnosis`,
/// else `/tmp/gnosis-UID`.
pub fn socket_dir() -> PathBuf {
    match dirs::runtime_dir() {
        Some(runtime) => runtime.join("gnosis"),
        None => std::env::temp_dir().join(format!("gnosis-{}", nix::unistd::geteuid())),
    }
}

/// The control socket of the image at `image` (which must exist): named
/// after its device and inode, so every path to it gives the same socket.
pub fn socket_path(image: &Path) -> anyhow::Result<PathBuf> {
    let meta = std::fs::metadata(image).with_context(|| format!("cannot open image {}", image.display()))?;
    Ok(socket_dir().join(format!("image-{:x}-{}.ctl", meta.dev(), meta.ino())))
}

/// Makes the socket directory if it is missing (mode 0700) and checks it.
pub fn make_socket_dir() -> anyhow::Result<PathBuf> {
    let dir = socket_dir();
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot make the control socket directory {}", dir.display()));
        }
    }
    check_socket_dir(&dir)?;
    Ok(dir)
}

/// Whether `dir` is fit to hold control sockets: a directory (not a
/// symlink), owned by this user, with no access for anyone else. `Ok(false)`
/// if it does not exist.
pub fn check_socket_dir(dir: &Path) -> anyhow::Result<bool> {
    let meta = match dir.symlink_metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot check {}", dir.display())),
    };
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.permissions().mode() & 0o777;
    let problem = if meta.file_type().is_symlink() {
        Some("is a symlink".to_string())
    } else if !meta.is_dir() {
        Some("is not a directory".to_string())
    } else if meta.uid() != me {
        Some(format!("belongs to uid {}, not to you (uid {me})", meta.uid()))
    } else if mode & 0o077 != 0 {
        Some(format!("has mode {mode:04o}: others can reach it"))
    } else {
        None
    };
    match problem {
        None => Ok(true),
        Some(problem) => anyhow::bail!(
            "the control socket directory {} {problem}; gnosis uses only a directory that is yours \
             alone (mode 0700), so no one else can reach or impersonate your worlds: remove it and try \
             again",
            dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_private_directory_of_our_own_is_accepted() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("gnosis");
        assert!(!check_socket_dir(&dir).unwrap(), "a missing directory is no error");
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        assert!(check_socket_dir(&dir).unwrap());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = check_socket_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("has mode 0755"), "{e}");
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let e = check_socket_dir(&link).unwrap_err().to_string();
        assert!(e.contains("is a symlink"), "{e}");
    }
}
