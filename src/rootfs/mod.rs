//! A root filesystem for the container, and the steps that make it the container's `/`.
//!
//! In order, inside a new mount namespace (the child calls [`enter`], chapter 3):
//!
//! ```text
//! 1. make_private        nothing we mount leaks to the host
//! 2. bind root on itself pivot_root wants new_root to be a mount point
//! 3. /proc /dev /sys /tmp the kernel's views, mounted under the new root
//! 4. pivot_into          swap roots, then detach the old one: no path leads back
//! ```
//!
//! Chapter 7's [`FullRoot::enter`] takes the same steps with more between them: the union
//! of layers instead of the bind mount, the container's cgroup tree, the masked paths, and
//! an optional read-only `/`.

mod busybox;
mod cgroupfs;
mod devices;
pub mod escape;
mod full;
mod pivot;
mod pseudo;

pub use busybox::{cache_dir, default_rootfs, find_static_busybox};
pub use cgroupfs::CgroupView;
pub use devices::{DEVICES, LINKS};
pub use full::FullRoot;
pub use pivot::{chroot_into, pivot_into};

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// How the new root is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSwitch {
    /// pivot_root(2) and detach the old root: the host's tree is gone from the namespace.
    PivotRoot,
    /// chroot(2) only, for comparison: the host's tree is still mounted, just out of sight.
    ChrootOnly,
}

/// Everything [`enter`] needs, prepared by the parent before the clone.
#[derive(Debug, Clone)]
pub struct RootSetup {
    /// The directory that becomes `/`.
    pub root: PathBuf,
    /// How to switch to it.
    pub switch: RootSwitch,
}

impl RootSetup {
    /// Checks the directory before any namespace is made, so that a bad `--rootfs` is one
    /// clear sentence and nothing is mounted.
    pub fn new(root: &Path, switch: RootSwitch) -> Result<Self> {
        let meta = std::fs::metadata(root).map_err(|e| {
            Error::Invalid(format!(
                "the root filesystem {} cannot be used: {e}",
                root.display()
            ))
        })?;
        if !meta.is_dir() {
            return Err(Error::Invalid(format!(
                "the root filesystem {} is not a directory",
                root.display()
            )));
        }
        let root = root
            .canonicalize()
            .map_err(|e| Error::io("resolving the root filesystem path", root, e))?;
        Ok(Self { root, switch })
    }
}

// ANCHOR: enter
/// Run in the child, inside its new mount namespace: makes `setup.root` the root of it.
pub fn enter(setup: &RootSetup) -> Result<()> {
    // exercise 03.2: bind the rootfs on itself and mount the kernel's filesystems in it
    use crate::mount;

    let root = &setup.root;
    mount::make_private()?;
    // pivot_root wants the new root to be a mount point: bind it onto itself.
    mount::bind(root, root)?;
    pseudo::mount_proc(root)?;
    devices::mount_dev(root)?;
    pseudo::mount_sys(root)?;
    pseudo::mount_tmp(root)?;
    switch(root, setup.switch)
    // end of exercise 03.2
}
// ANCHOR_END: enter

/// Makes `root` the root, the way `how` says.
fn switch(root: &Path, how: RootSwitch) -> Result<()> {
    match how {
        RootSwitch::PivotRoot => pivot_into(root),
        RootSwitch::ChrootOnly => chroot_into(root),
    }
}

/// The mount point `name` (one component) under the new root, made if the rootfs lacks it
/// (runc does the same). The image owns what is there: a symlink `proc -> /p` would carry
/// the mount, and the masks built on the path, out of the root onto a host directory (issue
/// 21; runc refuses a /proc or /sys that is not a plain directory for this reason). So the
/// path is looked at without following its last component (lstat; mkdir never follows) and
/// anything but a directory is refused.
fn mount_point(root: &Path, name: &str) -> Result<PathBuf> {
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
pub(crate) fn not_a_plain_directory(name: &str, path: &Path, link: bool) -> Error {
    let what = match std::fs::read_link(path) {
        Ok(target) if link => format!("a symlink to {}", target.display()),
        _ => "not a directory".to_string(),
    };
    Error::Invalid(format!(
        "the root filesystem's /{name} is {what}: the kernel's filesystems are mounted only on a plain directory, so that no link of the image leads them out of the root; make /{name} a directory in the image"
    ))
}
