//! Giving a container's address back once the kernel has deleted its veth.
//!
//! Deleting a network device makes the process that asks wait for RCU grace periods
//! (`netdev_run_todo` ends in `rcu_barrier`), several times as long as a whole container
//! run (bench/README.md). The kernel deletes a veth pair anyway when the network namespace
//! of one end dies, in a work queue (`cleanup_net`), moments after the container's last
//! process is gone. So the runtime leaves the pair to it and reports the command's
//! status at once.
//!
//! The lease must outlive the device: while `wbv…` exists, its address and its name are
//! not free. When the runtime is done with everything else and the device is already gone,
//! it gives the lease back itself. If not, a process of its own ([`crate::background`])
//! waits until the kernel has deleted the device (bounded; after that it deletes it
//! itself) and then gives the lease back. Should it be killed, the lease's owner (the
//! runtime) is dead, and the next run on the bridge reclaims the lease once the device is
//! gone.

use std::time::{Duration, Instant};

use super::lease::Lease;
use crate::net::link;
use crate::net::netlink::Netlink;

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
    let veth = veth.to_string();
    crate::background::finish_later(move || {
        wait_until_gone(&veth);
        drop(lease);
    });
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

/// Whether the host has no device named `name` (a failed lookup counts as "still there").
pub(super) fn veth_gone(host: &mut Netlink, name: &str) -> bool {
    matches!(link::find(host, name), Ok(None))
}
