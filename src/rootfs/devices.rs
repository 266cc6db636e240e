//! A minimal /dev: a tmpfs with the few device nodes every program expects, a private
//! devpts for terminals and a tmpfs for POSIX shared memory.
//!
//! Mounting the host's /dev would hand the container every disk of the host. Instead we
//! make the nodes runtimes make (the OCI runtime spec's default devices) by major:minor
//! number.

use std::path::Path;

use nix::mount::MsFlags;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};

use super::mount_point::mount_point;
use crate::{mount, Error, Result};

/// Name, major, minor of the character devices the OCI spec asks every container to have.
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The links every /dev has: the pty multiplexer of its own devpts, and the process's
/// file descriptors by name.
pub const LINKS: [(&str, &str); 5] = [
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

// ANCHOR: dev
/// Mounts the minimal /dev under `root`.
pub fn mount_dev(root: &Path) -> Result<()> {
    let dev = mount_point(root, "dev")?;
    mount::filesystem(
        "tmpfs",
        &dev,
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )?;
    for (name, major, minor) in DEVICES {
        make_device(&dev.join(name), major, minor)?;
    }
    // A private devpts instance: the container's terminals are its own, numbered from 0.
    mount::filesystem(
        "devpts",
        &mount_point(&dev, "pts")?,
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=620"),
    )?;
    mount::filesystem(
        "tmpfs",
        &mount_point(&dev, "shm")?,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )?;
    for (link, target) in LINKS {
        let path = dev.join(link);
        std::os::unix::fs::symlink(target, &path)
            .map_err(|e| Error::io("creating a /dev symlink", &path, e))?;
    }
    Ok(())
}
// ANCHOR_END: dev

/// mknod(2) a character device, mode 0666. In a user namespace the kernel refuses mknod
/// (EPERM): there the host's node is bind-mounted onto an empty file instead, as rootless
/// runtimes do.
fn make_device(path: &Path, major: u64, minor: u64) -> Result<()> {
    let mode = Mode::from_bits_truncate(0o666);
    match mknod(path, SFlag::S_IFCHR, mode, makedev(major, minor)) {
        Ok(()) => {
            // mknod applies the umask; set the mode the devices need.
            std::fs::set_permissions(
                path,
                std::os::unix::fs::PermissionsExt::from_mode(0o666),
            )
            .map_err(|e| Error::io("setting a device node's mode", path, e))
        }
        Err(nix::errno::Errno::EPERM) => {
            let host = Path::new("/dev").join(path.file_name().unwrap_or_default());
            std::fs::File::create(path)
                .map_err(|e| Error::io("creating a device mount point", path, e))?;
            mount::bind(&host, path)
        }
        Err(e) => Err(Error::sys_path("mknod", "creating a device node", path, e)),
    }
}
