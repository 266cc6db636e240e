//! Where the kernel's filesystems go: a plain directory under the new root, never a link.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The mount point `name` (one component) under the new root, made if the rootfs lacks it
/// (runc does the same). The image owns what is there: a symlink `proc -> /p` would carry
/// the mount, and the masks built on the path, out of the root onto a host directory (issue
/// 21; runc refuses a /proc or /sys that is not a plain directory for this reason). So the
/// path is looked at without following its last component (lstat; mkdir never follows) and
/// anything but a directory is refused.
pub fn mount_point(root: &Path, name: &str) -> Result<PathBuf> {
    let path = root.join(name);
    match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(meta) => Err(not_a_plain_directory(
            name,
            &path,
            meta.file_type().is_symlink(),
        )),
        Err(_) => std::fs::create_dir(&path)
            .map(|()| path.clone())
            .map_err(|e| Error::io("creating a mount point", &path, e)),
    }
}

/// One sentence for a mount point the image made a symlink (or a file): where it points,
/// and what to do.
pub fn not_a_plain_directory(name: &str, path: &Path, link: bool) -> Error {
    let what = match std::fs::read_link(path) {
        Ok(target) if link => format!("a symlink to {}", target.display()),
        _ => "not a directory".to_string(),
    };
    Error::Invalid(format!(
        "the root filesystem's /{name} is {what}: the kernel's filesystems are mounted only on a plain directory, so that no link of the image leads them out of the root; make /{name} a directory in the image"
    ))
}
