//! Chapter 7's spawn: into the cgroup, and a time namespace too.
//!
//! clone(2) cannot take CLONE_NEWTIME (its bits are the exit signal's), so the parent
//! unshares the time namespace itself: that changes only the namespace its *children* are
//! born into, not its own clocks, and sets their clocks to start from zero. Without
//! CAP_SYS_ADMIN (a rootless run by a normal user) the parent may not; then clone3 makes it
//! together with the new user namespace that owns it, but too late to move its clocks (see
//! `namespace::unshare_time_from_zero`).

use std::os::fd::BorrowedFd;

use nix::errno::Errno;
use nix::sched::CloneFlags;

use super::clone3::{clone3, spawn_in_cgroup, Born};
use crate::namespace::{self, Namespace, Namespaces};
use crate::process::spawn::start;
use crate::{Error, Result};

// ANCHOR: spawn_with_time_namespace
/// [`spawn_in_cgroup`], with the time namespace when `namespaces` asks for it.
pub fn spawn_with_time_namespace<F>(
    namespaces: Namespaces,
    cgroup: Option<BorrowedFd<'_>>,
    child_main: F,
) -> Result<Born>
where
    F: FnOnce() -> Result<u8>,
{
    if !namespaces.contains(Namespace::Time) {
        return spawn_in_cgroup(namespaces, cgroup, child_main);
    }
    match namespace::unshare_time_from_zero() {
        Ok(()) => {
            let born = spawn_in_cgroup(namespaces, cgroup, child_main);
            // The parent's next children (threads, helpers) are born in its own again.
            namespace::restore_time_for_children()?;
            born
        }
        Err(Error::Sys {
            errno: Errno::EPERM,
            ..
        }) if namespaces.contains(Namespace::User) => {
            let time = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
            let clone = |flags| clone3(flags | time, cgroup);
            let child = start(namespaces, clone, child_main)?;
            Ok(Born {
                child,
                in_cgroup: cgroup.is_some(),
            })
        }
        Err(e) => Err(e),
    }
}
// ANCHOR_END: spawn_with_time_namespace
