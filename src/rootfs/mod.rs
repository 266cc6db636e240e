//! A root filesystem for the container, and the steps that make it the container's `/`.
//!
//! In order, inside a new mount namespace (the child calls [`enter`]):
//!
//! ```text
//! 1. make_private        nothing we mount leaks to the host
//! 2. bind root on itself pivot_root wants new_root to be a mount point
//! 3. /proc /dev /sys /tmp the kernel's views, mounted under the new root
//! 4. pivot_into          swap roots, then detach the old one: no path leads back
//! ```

mod busybox;
mod cgroupfs;
mod devices;
pub mod escape;
mod pivot;
mod pseudo;

pub use busybox::{cache_dir, default_rootfs, find_static_busybox};
pub use cgroupfs::CgroupView;
pub use pivot::{chroot_into, pivot_into};

use std::path::{Path, PathBuf};

use crate::overlay::{Layers, Overlay};
use crate::{mount, security, Error, Result};

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
    /// Mount this union of layers at `root` (chapter 7), instead of bind-mounting `root`.
    pub overlay: Option<Layers>,
    /// Mask and write-protect the parts of /proc and /sys that reach the whole machine.
    pub protect_paths: bool,
    /// Make `/` read-only after the pivot (/tmp, /dev stay writable).
    pub read_only: bool,
    /// Mount the container's own cgroup tree, read-only, at /sys/fs/cgroup.
    pub cgroupfs: Option<CgroupView>,
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
        Ok(Self {
            root,
            switch,
            overlay: None,
            protect_paths: false,
            read_only: false,
            cgroupfs: None,
        })
    }
}

// ANCHOR: enter
// ANCHOR: enter_head
/// Run in the child, inside its new mount namespace: makes `setup.root` the root of it.
pub fn enter(setup: &RootSetup) -> Result<()> {
    let root = &setup.root;
    mount::make_private()?;
    match &setup.overlay {
        // ANCHOR_END: enter_head
        // The union is a mount of its own, so it can be pivoted into as it is. It lives
        // only in this mount namespace and vanishes with it: the host never sees it.
        // ANCHOR: enter_rest
        Some(layers) => std::mem::forget(Overlay::mount(layers, root)?),
        None => mount::bind(root, root)?,
    }
    pseudo::mount_proc(root)?;
    devices::mount_dev(root)?;
    pseudo::mount_sys(root)?;
    if let Some(view) = &setup.cgroupfs {
        cgroupfs::mount(root, view)?;
    }
    pseudo::mount_tmp(root)?;
    if setup.protect_paths {
        security::paths::protect(root)?;
    }
    match setup.switch {
        RootSwitch::PivotRoot => pivot_into(root)?,
        RootSwitch::ChrootOnly => chroot_into(root)?,
    }
    if setup.read_only {
        mount::remount_read_only(Path::new("/"), nix::mount::MsFlags::empty())?;
    }
    Ok(())
}
// ANCHOR_END: enter_rest
// ANCHOR_END: enter

/// Creates a mount point under the new root if the rootfs lacks it (runc does the same).
fn mount_point(root: &Path, name: &str) -> Result<PathBuf> {
    let path = root.join(name);
    std::fs::create_dir_all(&path)
        .map_err(|e| Error::io("creating a mount point", &path, e))?;
    Ok(path)
}
