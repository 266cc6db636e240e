//! Mounting the union, and a guard that takes it down on every path.
//!
//! A mount outlives the process that made it unless the mount namespace dies with the
//! process: a test that panics or a tool that returns early must still unmount.
//! [`OverlayMount`] does it in `Drop`; if the union is still busy (a shell left open in
//! it), it detaches it with `MNT_DETACH`, so the mount point is gone at once and the kernel
//! frees it when the last user leaves.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::Layers;
use crate::{Error, Result};

/// The overlay filesystem type, as the kernel registers it (see /proc/filesystems).
pub struct Overlay;

// ANCHOR: mount
impl Overlay {
    /// Mounts `layers` at `target` (an existing directory) and returns a guard that
    /// unmounts.
    // ANCHOR: mount_fn
    pub fn mount(layers: &Layers, target: &Path) -> Result<OverlayMount> {
        layers.check_dirs()?;
        let options = layers.mount_options()?;
        // The source name is free text; it shows up in /proc/self/mountinfo.
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(options.as_str()),
        )
        .map_err(|errno| mount_error(target, errno))?;
        Ok(OverlayMount {
            target: target.to_path_buf(),
            mounted: true,
        })
    }
    // ANCHOR_END: mount_fn
}
// ANCHOR_END: mount

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

// ANCHOR: drop
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

/// Unmounts `target`; when it is busy, detaches it (lazy unmount) instead of leaving it.
pub fn unmount(target: &Path) -> Result<()> {
    match umount2(target, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(Errno::EBUSY) => umount2(target, MntFlags::MNT_DETACH).map_err(|e| {
            Error::sys_path("umount2", "detaching the busy overlay", target, e)
        }),
        Err(e) => Err(Error::sys_path(
            "umount2",
            "unmounting the overlay",
            target,
            e,
        )),
    }
}
// ANCHOR_END: drop

/// Whether `target` is a mount point in this process's mount namespace (read from the
/// kernel's table, /proc/self/mountinfo, field 5). Used by tests to prove nothing stayed
/// mounted.
pub fn is_mounted(target: &Path) -> Result<bool> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        Error::io(
            "reading the mount table",
            Path::new("/proc/self/mountinfo"),
            e,
        )
    })?;
    let wanted = mountinfo_escape(target);
    Ok(info
        .lines()
        .any(|line| line.split(' ').nth(4) == Some(wanted.as_str())))
}

/// mountinfo writes space, tab, newline and backslash in paths as octal escapes.
fn mountinfo_escape(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
