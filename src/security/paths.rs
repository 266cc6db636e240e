//! Masked and read-only paths: parts of /proc and /sys that show or change the whole machine.
//!
//! A fresh procfs in a PID namespace still shows some host-wide files: kernel memory
//! (`/proc/kcore`), the keyrings, timers, the scheduler's debug data; `/proc/sys` and
//! `/proc/sysrq-trigger` can change the running kernel. Runtimes *mask* the first kind (a bind
//! mount of /dev/null over a file, an empty read-only tmpfs over a directory) and make the
//! second read-only (a read-only bind mount of the path onto itself).

use std::path::Path;

use nix::mount::MsFlags;

use crate::{mount, Result};

/// Paths hidden from the container (as runc's default).
pub const MASKED: [&str; 6] = [
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// Paths the container may read but not write.
pub const READ_ONLY: [&str; 4] = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"];

// ANCHOR: mask
/// Masks and write-protects the paths above, under `root` (the new root, before the pivot).
/// A path this kernel does not have is skipped.
pub fn protect(root: &Path) -> Result<()> {
    for path in MASKED {
        let target = root.join(path.trim_start_matches('/'));
        match std::fs::metadata(&target) {
            Err(_) => continue,
            Ok(meta) if meta.is_dir() => mount::filesystem(
                "tmpfs",
                &target,
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("size=0"),
            )?,
            // The container's own /dev/null (already made under root), not the host's.
            Ok(_) => mount::bind(&root.join("dev/null"), &target)?,
        }
    }
    for path in READ_ONLY {
        let target = root.join(path.trim_start_matches('/'));
        if target.symlink_metadata().is_err() {
            continue;
        }
        mount::bind(&target, &target)?;
        mount::remount_read_only(
            &target,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        )?;
    }
    Ok(())
}
// ANCHOR_END: mask
