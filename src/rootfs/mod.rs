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
//! Chapter 7's `container::root::FullRoot::enter` takes the same steps with more between them: the union
//! of layers instead of the bind mount, the container's cgroup tree, the masked paths, and
//! an optional read-only `/`.

mod busybox;
pub mod devices;
pub mod escape;
mod mount_point;
mod pivot;
pub mod pseudo;

pub use busybox::{cache_dir, default_rootfs, find_static_busybox};
pub use devices::{DEVICES, LINKS};
pub use mount_point::{mount_point, not_a_plain_directory};
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

/// Makes `root` the root, the way `how` says.
fn switch(root: &Path, how: RootSwitch) -> Result<()> {
    match how {
        RootSwitch::PivotRoot => pivot_into(root),
        RootSwitch::ChrootOnly => chroot_into(root),
    }
}
