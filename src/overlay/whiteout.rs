//! How overlayfs records "deleted" and "hide everything below", on disk, in a layer.
//!
//! - A **whiteout** is a character device with device number 0/0 in place of the deleted
//!   name. The kernel makes one in the upper layer when a file of a lower layer is removed
//!   through the merged view; a layer carrying one hides that name in every layer below it.
//! - An **opaque directory** carries the xattr `trusted.overlay.opaque=y`: the kernel shows
//!   only its own entries and none of the same directory in the layers below. The kernel
//!   sets it when a directory is removed and made again through the merged view.
//!
//! Privileges, measured on this machine (Linux 6.18): making the 0/0 device does *not* need
//! CAP_MKNOD any more (Linux 5.8 allowed whiteouts to anyone; any other device number still
//! gets EPERM), but the `trusted.*` xattr needs CAP_SYS_ADMIN. Mounted with `userxattr`
//! (for rootless overlays) the kernel reads `user.overlay.opaque` instead.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use nix::sys::stat::{makedev, mknod, Mode, SFlag};

use super::xattr;
use crate::{Error, Result};

/// The xattr that makes a directory opaque.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Marks `path` as deleted for the layers below: a character device 0/0.
pub fn make_whiteout(path: &Path) -> Result<()> {
    mknod(path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)).map_err(|e| {
        Error::sys_path("mknod", "making a whiteout (character device 0/0)", path, e)
    })
}

/// Marks the directory `dir` as opaque: the layers below contribute nothing to it.
pub fn make_opaque(dir: &Path) -> Result<()> {
    xattr::set(dir, OPAQUE_XATTR, b"y")
}

/// Whether `path` (in a layer dir, not the merged view) is a whiteout.
pub fn is_whiteout(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0)
}

/// Whether the directory `dir` (in a layer dir) is opaque.
pub fn is_opaque(dir: &Path) -> Result<bool> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(false);
    }
    Ok(xattr::get(dir, OPAQUE_XATTR)?.as_deref() == Some(b"y"))
}
