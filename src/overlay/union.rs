//! Mounting the union, and a guard that takes it down on every path.
//!
//! A mount outlives the process that made it unless the mount namespace dies with the
//! process: a test that panics or a tool that returns early must still unmount.
//! [`OverlayMount`] does it in `Drop`; if the union is still busy (a shell left open in
//! it), it detaches it with `MNT_DETACH`, so the mount point is gone at once and the kernel
//! frees it when the last user leaves.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};

use super::Layers;
use crate::mount::unmount;
use crate::{Error, Result};

/// The overlay filesystem type, as the kernel registers it (see /proc/filesystems).
pub struct Overlay;

impl Overlay {
    /// Mounts `layers` at `target` (an existing directory) and returns a guard that
    /// unmounts.
    // ANCHOR: mount_fn
    pub fn mount(layers: &Layers, target: &Path) -> Result<OverlayMount> {
        layers.check_dirs()?;
        mount_stack(target, &layers.mount_options()?)
            .or_else(|errno| retry_without_volatile(layers, target, errno))
            .map_err(|errno| mount_error(target, errno))?;
        Ok(OverlayMount {
            target: target.to_path_buf(),
            mounted: true,
        })
    }
    // ANCHOR_END: mount_fn
}

// ANCHOR: mount_stack
/// mount(2) of an overlay stack: the type is `overlay`, the layers are all in `options`.
/// The source name is free text; it shows up in /proc/self/mountinfo.
fn mount_stack(target: &Path, options: &str) -> std::result::Result<(), Errno> {
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options),
    )
}
// ANCHOR_END: mount_stack

/// Kernels before 5.10 do not know `volatile` (EINVAL): mount the same stack with syncs.
fn retry_without_volatile(
    layers: &Layers,
    target: &Path,
    errno: Errno,
) -> std::result::Result<(), Errno> {
    if errno != Errno::EINVAL || !layers.is_volatile() {
        return Err(errno);
    }
    let options = layers
        .clone()
        .without_volatile()
        .mount_options()
        .map_err(|_| errno)?;
    mount_stack(target, &options)
}

fn mount_error(target: &Path, errno: Errno) -> Error {
    let what = if errno == Errno::EINVAL {
        "mounting the overlay (the kernel explains EINVAL in `dmesg | tail`)"
    } else {
        "mounting the overlay"
    };
    Error::sys_path("mount", what, target, errno)
}

/// A mounted overlay. Dropping it unmounts.
#[derive(Debug)]
pub struct OverlayMount {
    target: PathBuf,
    mounted: bool,
}

impl OverlayMount {
    /// Where the merged view is.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Unmounts now and reports failure (Drop can only try).
    pub fn unmount(mut self) -> Result<()> {
        self.mounted = false;
        unmount(&self.target)
    }
}

// ANCHOR: drop_impl
impl Drop for OverlayMount {
    fn drop(&mut self) {
        if self.mounted {
            if let Err(e) = unmount(&self.target) {
                eprintln!("warning: {e}");
            }
        }
    }
}
// ANCHOR_END: drop_impl
