//! The kernel's own filesystems that a root needs: /proc, /sys and a private /tmp.

use std::path::Path;

use nix::mount::MsFlags;

use super::mount_point::mount_point;
use crate::{mount, Result};

const NO_SURPRISES: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// A fresh procfs. It shows the processes of the PID namespace of the process that mounts
/// it, which is why a container mounts its own: the host's /proc would list the host's
/// processes.
pub fn mount_proc(root: &Path) -> Result<()> {
    mount::filesystem("proc", &mount_point(root, "proc")?, NO_SURPRISES, None)
}

/// sysfs, read-only: the container may read devices and kernel settings but change none.
pub fn mount_sys(root: &Path) -> Result<()> {
    mount::filesystem(
        "sysfs",
        &mount_point(root, "sys")?,
        NO_SURPRISES | MsFlags::MS_RDONLY,
        None,
    )
}

/// A tmpfs on /tmp, so that scratch files never land in the (shared, cached) rootfs.
pub fn mount_tmp(root: &Path) -> Result<()> {
    mount::filesystem(
        "tmpfs",
        &mount_point(root, "tmp")?,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777,size=64m"),
    )
}
