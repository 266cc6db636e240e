//! mount(2) and umount2(2) with errors that say what was being mounted where.
//!
//! The trap every container runtime meets first: **mount propagation**. On a systemd host
//! `/` is a *shared* mount, so a mount made in a new mount namespace is propagated back to
//! the host's namespace (the two are peers until told otherwise). Making the whole tree
//! private (`MS_REC | MS_PRIVATE`) right after entering the new namespace cuts that link,
//! so nothing the container mounts appears on the host, and nothing mounted later on the
//! host appears in the container.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::{Error, Result};

/// Makes every mount of this namespace private: no mount event travels to or from the host.
pub fn make_private() -> Result<()> {
    // exercise 03.1: make every mount private, so nothing you mount leaks to the host
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| {
        Error::sys_path(
            "mount",
            "making mount propagation private",
            Path::new("/"),
            e,
        )
    })
    // end of exercise 03.1
}

/// Bind-mounts `source` on `target` (recursively: mounts below `source` come along).
pub fn bind(source: &Path, target: &Path) -> Result<()> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        Error::sys_path(
            "mount",
            format!("bind-mounting {}", source.display()),
            target,
            e,
        )
    })
}

/// Makes an existing bind mount read-only. The kernel ignores MS_RDONLY on the first bind
/// mount call, so it takes a second call with MS_REMOUNT | MS_BIND.
pub fn remount_read_only(target: &Path, extra: MsFlags) -> Result<()> {
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | extra,
        None::<&str>,
    )
    .map_err(|e| Error::sys_path("mount", "remounting read-only", target, e))
}

/// Mounts a filesystem of type `fstype` (proc, sysfs, tmpfs, devpts, overlay, …) on
/// `target`.
pub fn filesystem(
    fstype: &str,
    target: &Path,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    mount(Some(fstype), target, Some(fstype), flags, data)
        .map_err(|e| Error::sys_path("mount", format!("mounting {fstype}"), target, e))
}

/// Detaches the mount at `target`: it disappears from the tree now, and the kernel frees it
/// when the last user lets go (MNT_DETACH, a "lazy" unmount).
pub fn detach(target: &Path) -> Result<()> {
    umount2(target, MntFlags::MNT_DETACH)
        .map_err(|e| Error::sys_path("umount2", "detaching a mount", target, e))
}

/// Unmounts `target`; when it is busy, detaches it (lazy unmount) instead of leaving it.
pub fn unmount(target: &Path) -> Result<()> {
    match umount2(target, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(Errno::EBUSY) => umount2(target, MntFlags::MNT_DETACH)
            .map_err(|e| Error::sys_path("umount2", "detaching the busy mount", target, e)),
        Err(e) => Err(Error::sys_path("umount2", "unmounting", target, e)),
    }
}

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
