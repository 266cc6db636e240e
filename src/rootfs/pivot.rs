//! Switching the root: pivot_root(2), and chroot(2) for comparison.
//!
//! chroot(2) only changes where `/` resolves for one process; the host's tree is still
//! mounted in its namespace, and a root process can climb out (see [`super::escape`]).
//! pivot_root(2) moves the whole mount namespace onto the new root and puts the old root on
//! a mount point that can then be detached: afterwards no path leads to the host's files.

use std::path::Path;

use nix::unistd::{chdir, chroot};

use crate::{Error, Result};

/// Makes `new_root` (already a mount point) the root, and detaches the old root.
///
/// `pivot_root(".", ".")` stacks the old root on top of the new one at the same place, so
/// no directory has to be made for it; detaching `.` then removes the old root
/// (pivot_root(2), NOTES). The traps: new_root must be a mount point (else EINVAL), and
/// neither it nor its parent may be shared (else EINVAL: hence make_private first).
pub fn pivot_into(new_root: &Path) -> Result<()> {
    // exercise 03.3: pivot_root into the new root and detach the old one
    use crate::mount;
    use nix::unistd::pivot_root;

    chdir(new_root)
        .map_err(|e| Error::sys_path("chdir", "entering the new root", new_root, e))?;
    pivot_root(".", ".").map_err(|e| {
        Error::sys_path("pivot_root", "switching to the new root", new_root, e)
    })?;
    mount::detach(Path::new("."))?;
    chdir("/")
        .map_err(|e| Error::sys_path("chdir", "going to the new /", Path::new("/"), e))
    // end of exercise 03.3
}

/// Only changes this process's root directory: the chroot(1) way, shown for comparison.
pub fn chroot_into(new_root: &Path) -> Result<()> {
    chroot(new_root)
        .map_err(|e| Error::sys_path("chroot", "changing the root", new_root, e))?;
    chdir("/")
        .map_err(|e| Error::sys_path("chdir", "going to the new /", Path::new("/"), e))
}
