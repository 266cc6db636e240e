//! A spawn into a cgroup: the child born inside it.
//!
//! [`crate::process::spawn()`] clones with clone(2), and chapter 5's parent then moves the child into
//! its cgroup before releasing it (a write to `cgroup.procs`). clone3(2) (Linux 5.3) takes a
//! struct instead of registers, with room for more: `CLONE_INTO_CGROUP` (5.7) and an fd of a
//! cgroup v2 directory, and the child is born there. It also takes `CLONE_NEWTIME`, which
//! clone(2) cannot (chapter 7, [`super::spawn_with_time_namespace`]).

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::error::syscall_result;
use crate::namespace::Namespaces;
use crate::process::spawn::{clone_like_fork, start, Child};
use crate::Result;

/// A child and where it was born.
pub struct Born {
    pub child: Child,
    /// Whether it was born inside the cgroup it was given; if not (an older kernel, or no
    /// cgroup v2), the caller moves it there itself before releasing it.
    pub in_cgroup: bool,
}

/// [`crate::process::spawn()`], with the child born inside the cgroup v2 directory `cgroup`
/// (an open fd) when the kernel can; with no cgroup, or a kernel without clone3, a plain
/// spawn.
pub fn spawn_in_cgroup(
    namespaces: Namespaces,
    cgroup: Option<BorrowedFd<'_>>,
    child_main: impl FnOnce() -> Result<u8>,
) -> Result<Born> {
    let mut in_cgroup = false;
    let clone = |flags| match cgroup.map(|fd| clone3(flags, Some(fd))) {
        Some(Ok(pid)) => {
            in_cgroup = true;
            Ok(pid)
        }
        // An older kernel (or no cgroup v2): the classic clone, and the caller attaches.
        Some(Err(Errno::ENOSYS | Errno::E2BIG)) | None => clone_like_fork(flags),
        Some(Err(errno)) => Err(errno),
    };
    let child = start(namespaces, clone, child_main)?;
    Ok(Born { child, in_cgroup })
}

/// From the kernel's `<linux/sched.h>`: a flag of clone3 only (it does not fit clone's
/// int).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of clone3(2), version 2 (with the `cgroup` field).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3(2), with CLONE_INTO_CGROUP when a cgroup is given: the child is born in the
/// cgroup, so it never has to be moved. A move (a write to cgroup.procs) makes the kernel
/// wait for an RCU grace period; being born there costs nothing extra.
/// Unlike clone(2), clone3 also takes CLONE_NEWTIME. Like [`clone_like_fork`], no stack is
/// given, so the child continues on a copy of ours.
pub(super) fn clone3(
    flags: CloneFlags,
    cgroup: Option<BorrowedFd<'_>>,
) -> std::result::Result<Option<Pid>, Errno> {
    let mut args = CloneArgs {
        flags: flags.bits() as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: as for clone_like_fork; `args` outlives the call and has the kernel's layout.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match syscall_result(ret)? {
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}
