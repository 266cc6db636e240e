//! Giving a container's address back once the kernel has deleted its veth.
//!
//! Deleting a network device makes the process that asks wait for RCU grace periods
//! (`netdev_run_todo` ends in `rcu_barrier`): 10–30 ms on a busy 2-CPU machine, several
//! times a whole container run. The kernel deletes a veth pair anyway when the network
//! namespace of one end dies, in a work queue (`cleanup_net`), moments after the container's
//! last process is gone. So the runtime leaves the pair to it and reports the command's
//! status at once.
//!
//! The lease must outlive the device: while `wbv…` exists, its address and its name are
//! not free. When the runtime is done with everything else and the device is already gone,
//! it gives the lease back itself. If not, a small process forked for it waits until the
//! kernel has deleted the device (bounded; after that it deletes it itself) and then gives
//! the lease back. It holds none of the runtime's descriptors, so whoever reads the
//! runtime's output sees the end at once. Should it be killed, the lease's owner (the
//! runtime) is dead, and the next run on the bridge reclaims the lease once the device is
//! gone.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::unistd::{fork, ForkResult};

use super::attach::veth_gone;
use super::lease::Lease;
use super::link;
use super::netlink::Netlink;

/// How long the kernel may take to delete the pair before we delete it ourselves (something
/// else holds the namespace).
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Gives `lease` back now if the host has no device `veth` any more, else once it is gone.
pub(super) fn release_when_gone(lease: Lease, veth: &str) {
    let Ok(mut host) = Netlink::open() else {
        // Cannot ask the kernel: keep the lease for the next run to reclaim.
        return lease.keep();
    };
    if veth_gone(&mut host, veth) {
        return drop(lease);
    }
    drop(host);
    // SAFETY: the child only makes system calls and allocates (glibc's fork leaves the
    // allocator usable), then leaves with _exit, running none of the parent's destructors.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => lease.keep(),
        Ok(ForkResult::Child) => {
            detach();
            wait_until_gone(veth);
            drop(lease);
            // SAFETY: ends the helper without running the runtime's other guards.
            unsafe { libc::_exit(0) }
        }
        Err(_) => {
            wait_until_gone(veth);
            drop(lease);
        }
    }
}

/// Lets go of the caller's terminal, pipes and every other descriptor.
fn detach() {
    let _ = nix::unistd::setsid();
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors of this process.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    // SAFETY: closes descriptors this process no longer uses (the Rust objects that own
    // some of them are never dropped: the process ends in _exit).
    unsafe { libc::close_range(3, u32::MAX, 0) };
}

/// Polls until the host has no device `veth` (1 ms, doubling to 64 ms), at most
/// [`TEARDOWN_TIMEOUT`]; then deletes it.
fn wait_until_gone(veth: &str) {
    let Ok(mut host) = Netlink::open() else {
        return;
    };
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    while !veth_gone(&mut host, veth) {
        if start.elapsed() > TEARDOWN_TIMEOUT {
            let _ = link::delete(&mut host, veth);
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(64));
    }
}
