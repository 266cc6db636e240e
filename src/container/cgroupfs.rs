//! The container's view of its own cgroup, at /sys/fs/cgroup.
//!
//! After the child has unshared its cgroup namespace, a cgroup filesystem it mounts shows
//! its own cgroup as the root: `/sys/fs/cgroup/memory.max` (v2) or
//! `/sys/fs/cgroup/memory/memory.limit_in_bytes` (v1) are the container's limits. Mounted
//! read-only, as Docker does: the container can read its limits but not raise them.

use std::path::Path;

use nix::mount::MsFlags;

use crate::rootfs::mount_point;
use crate::{mount, Result};

/// Which cgroup filesystem(s) to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupView {
    /// The unified hierarchy (cgroup v2).
    Unified,
    /// One v1 hierarchy per controller, each at `/sys/fs/cgroup/<controller>`.
    PerController(Vec<String>),
}

const READ_ONLY: MsFlags = MsFlags::MS_RDONLY
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Mounts the view under `root` (whose /sys is already mounted).
pub fn mount(root: &Path, view: &CgroupView) -> Result<()> {
    let target = root.join("sys/fs/cgroup");
    match view {
        CgroupView::Unified => mount::filesystem("cgroup2", &target, READ_ONLY, None),
        CgroupView::PerController(controllers) => {
            // A small tmpfs holds one mount point per controller.
            mount::filesystem(
                "tmpfs",
                &target,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some("mode=755,size=64k"),
            )?;
            for controller in controllers {
                let point = mount_point(&target, controller)?;
                nix::mount::mount(
                    Some("cgroup"),
                    &point,
                    Some("cgroup"),
                    READ_ONLY,
                    Some(controller.as_str()),
                )
                .map_err(|e| {
                    crate::Error::sys_path(
                        "mount",
                        format!("mounting the {controller} cgroup hierarchy"),
                        &point,
                        e,
                    )
                })?;
            }
            mount::remount_read_only(&target, MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
        }
    }
}
