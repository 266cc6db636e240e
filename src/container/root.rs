//! Chapter 7's root: chapter 3's steps, with the parts a full container adds.

use std::path::{Path, PathBuf};

use super::cgroupfs::{self, CgroupView};
use crate::overlay::{Layers, Overlay};
use crate::rootfs::{devices, pivot_into, pseudo};
use crate::{mount, security, Result};

/// Everything [`FullRoot::enter`] needs, prepared by the parent before the clone.
#[derive(Debug, Clone)]
pub struct FullRoot {
    /// The union of layers, mounted at `merged`, which becomes `/`.
    pub layers: Layers,
    pub merged: PathBuf,
    /// The container's own cgroup tree, mounted read-only at /sys/fs/cgroup.
    pub cgroupfs: Option<CgroupView>,
    /// Make `/` read-only after the pivot (/tmp, /dev stay writable).
    pub read_only: bool,
}

// ANCHOR: enter_full
impl FullRoot {
    /// Run in the child, inside its new mount namespace: chapter 3's `rootfs::enter`, with
    /// the union in place of the bind mount, the cgroup tree, then (inside the new root)
    /// the masked paths of /proc and /sys, and a read-only `/` when asked.
    pub fn enter(&self) -> Result<()> {
        let root = &self.merged;
        mount::make_private()?;
        // The union is a mount of its own, so it can be pivoted into as it is. It lives
        // only in this mount namespace and vanishes with it: the host never sees it.
        std::mem::forget(Overlay::mount(&self.layers, root)?);
        pseudo::mount_proc(root)?;
        devices::mount_dev(root)?;
        pseudo::mount_sys(root)?;
        if let Some(view) = &self.cgroupfs {
            cgroupfs::mount(root, view)?;
        }
        pseudo::mount_tmp(root)?;
        pivot_into(root)?;
        // Masks go on after the pivot, as runc applies them: `/` is then the container's
        // root and the host's is detached, so no path of the image can lead a mask out.
        security::paths::protect()?;
        if self.read_only {
            mount::remount_read_only(Path::new("/"), nix::mount::MsFlags::empty())?;
        }
        Ok(())
    }
}
// ANCHOR_END: enter_full
