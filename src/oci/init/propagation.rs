//! Mount propagation around the pivot, in runc's order (issue 21, item 8).
//!
//! A config may ask for `rootfsPropagation: rshared` (Kubernetes' "Bidirectional" volumes,
//! podman's `-v dir:/p:rshared`): the container's mounts stay peers of the host's, so a
//! mount made in such a volume appears on both sides. Two traps come with it:
//!
//! - pivot_root(2) refuses (EINVAL) a new root whose mount, or its parent, is shared. So the
//!   mount that holds the rootfs is made private (or slave) before the rootfs is bound onto
//!   itself: that bind is then a private copy, and nothing of it reaches the host.
//! - The old root, detached after the pivot, is still a peer of the host's mounts, and an
//!   unmount propagates to the peers: the detach would unmount the host's `/run/netns/…`
//!   (podman found it), and its `/proc`. [`pivot_into`] makes it a slave first.
//!
//! The config's shared propagation is applied to the new `/` only after the pivot.

use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, fchdir, pivot_root};

use crate::{Error, Result};

// ANCHOR: pivot_slave
/// Chapter 3's [`crate::rootfs::pivot_into`], with the step a shared `/` needs: the old
/// root becomes a slave (recursively) before it is detached, so that its unmount does not
/// propagate to the host's mounts. A slave still receives mount events, but sends none.
///
/// The trap: after `pivot_root(".", ".")` the old root is stacked on top of the new one,
/// and a path (`.` or `/`) names the new root beneath it; a recursive change there would
/// reach the container's volumes too. Only a handle taken before the pivot names the old
/// root (runc holds one for the same reason). Chapters 3 and 7 need none of this: they make
/// every mount private first.
pub fn pivot_into(new_root: &Path) -> Result<()> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let old_root = nix::fcntl::open("/", flags, Mode::empty())
        .map_err(|e| Error::sys_path("open", "holding the old root", Path::new("/"), e))?;
    chdir(new_root)
        .map_err(|e| Error::sys_path("chdir", "entering the new root", new_root, e))?;
    pivot_root(".", ".").map_err(|e| {
        Error::sys_path("pivot_root", "switching to the new root", new_root, e)
    })?;
    let here = Path::new(".");
    fchdir(&old_root)
        .map_err(|e| Error::sys_path("fchdir", "entering the old root", here, e))?;
    mount(
        None::<&str>,
        here,
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::sys_path("mount", "making the old root a slave", here, e))?;
    crate::mount::detach(here)?;
    chdir("/")
        .map_err(|e| Error::sys_path("chdir", "going to the new /", Path::new("/"), e))
}
// ANCHOR_END: pivot_slave

/// Makes the mount that holds `rootfs` (the rootfs itself when it is a mount point) slave
/// when the config asks for slave, private otherwise, so that it is not shared. Walks up
/// the path while the kernel answers EINVAL (not a mount point), as runc does.
pub fn unshare_rootfs_mount(rootfs: &Path, propagation: MsFlags) -> Result<()> {
    let flag = if propagation.contains(MsFlags::MS_SLAVE) {
        MsFlags::MS_SLAVE
    } else {
        MsFlags::MS_PRIVATE
    };
    let mut at = rootfs;
    loop {
        let err = match mount(None::<&str>, at, None::<&str>, flag, None::<&str>) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        match (err, at.parent()) {
            (Errno::EINVAL, Some(parent)) => at = parent,
            _ => {
                return Err(Error::sys_path(
                    "mount",
                    "making the rootfs's mount unshared for pivot_root",
                    at,
                    err,
                ))
            }
        }
    }
}

/// Whether the config's propagation must be applied again to the new `/` after the pivot:
/// shared or unbindable (private and slave already hold from before the pivot).
pub fn reapply_after_pivot(propagation: MsFlags) -> bool {
    !propagation.intersects(MsFlags::MS_PRIVATE | MsFlags::MS_SLAVE)
}
