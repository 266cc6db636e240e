//! Masked and read-only paths: parts of /proc and /sys that show or change the whole
//! machine.
//!
//! A fresh procfs in a PID namespace still shows some host-wide files: kernel memory
//! (`/proc/kcore`), the keyrings, timers, the scheduler's debug data; `/proc/sys` and
//! `/proc/sysrq-trigger` can change the running kernel. Runtimes *mask* the first kind (a
//! bind mount of /dev/null over a file, an empty read-only tmpfs over a directory) and make
//! the second read-only (a read-only bind mount of the path onto itself).

use std::path::Path;

use nix::mount::MsFlags;

use crate::{mount, Result};

/// Paths hidden from the container: runc's and Docker's default list.
pub const MASKED: [&str; 11] = [
    "/proc/acpi",          // ACPI tables and switches of the machine
    "/proc/asound",        // the host's sound cards
    "/proc/kcore",         // the kernel's memory, as an ELF core file
    "/proc/keys",          // every key of the kernel keyrings the reader may view
    "/proc/latency_stats", // scheduling latencies of all tasks
    "/proc/timer_list",    // every pending timer of every CPU, with the task that set it
    "/proc/timer_stats",   // (kernels before 4.11) who sets timers
    "/proc/sched_debug",   // the scheduler's view of every task on the host
    "/proc/scsi",          // the host's SCSI devices
    "/sys/firmware",       // the firmware's tables (ACPI, EFI variables)
    // RAPL energy counters: root may read them, and their changes leak what the CPU
    // computes (the PLATYPUS attack, CVE-2020-8694/8695; masked by runtimes since 2023).
    "/sys/devices/virtual/powercap",
];

/// Paths the container may read but not write: they change the running kernel or devices.
pub const READ_ONLY: [&str; 5] = [
    "/proc/bus",           // PCI and USB devices' config space
    "/proc/fs",            // filesystems' settings (nfsd exports, ext4 options)
    "/proc/irq",           // interrupt routing to CPUs
    "/proc/sys",           // sysctl: the kernel's tunables
    "/proc/sysrq-trigger", // one byte reboots the machine or crashes the kernel
];

/// Masks and write-protects the paths above. Called after the pivot, when `/` is the
/// container's root and the host's is detached: every path, `..` and the image's symlinks
/// included, then resolves inside the container. Built under the new root before the pivot
/// (`root.join("proc/kcore")`), an image's `proc -> /p` led the masks to the host's `/p`,
/// where they were skipped without a word, and a `maskedPaths` entry `/../../etc` hid the
/// host's /etc under shared propagation (issue 21; runc masks after the pivot too).
pub fn protect() -> Result<()> {
    protect_paths(&MASKED, &READ_ONLY)
}

/// [`protect`] with the lists given (an OCI config's `maskedPaths` and `readonlyPaths`)
/// instead of the defaults. A path the root lacks is skipped, as runc does. A masked file
/// gets the container's own /dev/null bound over it.
pub fn protect_paths<S: AsRef<str>>(masked: &[S], read_only: &[S]) -> Result<()> {
    let inside = |path: &str| Path::new("/").join(path.trim_start_matches('/'));
    for path in masked {
        let target = inside(path.as_ref());
        match std::fs::metadata(&target) {
            Err(_) => continue,
            Ok(meta) if meta.is_dir() => mount::filesystem(
                "tmpfs",
                &target,
                MsFlags::MS_RDONLY
                    | MsFlags::MS_NOSUID
                    | MsFlags::MS_NODEV
                    | MsFlags::MS_NOEXEC,
                Some("size=0"),
            )?,
            Ok(_) => {
                null_device()?;
                mount::bind(Path::new("/dev/null"), &target)?
            }
        }
    }
    for path in read_only {
        let target = inside(path.as_ref());
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

/// Checks that the container's /dev/null, bound over masked files, is the null device
/// (char 1:3) and no link: an image's /dev/null pointing at a procfs file would turn a
/// mask into a writable window on that file (runc's CVE-2025-31133).
fn null_device() -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let null = Path::new("/dev/null");
    let genuine = null.symlink_metadata().is_ok_and(|m| {
        m.file_type().is_char_device() && m.rdev() == nix::sys::stat::makedev(1, 3)
    });
    if genuine {
        Ok(())
    } else {
        Err(crate::Error::Invalid(
            "the container's /dev/null is not the null device (character 1:3), so it cannot mask a file: mount a tmpfs on /dev, or make /dev/null the null device in the image".into(),
        ))
    }
}
