//! Reaching into another process's network namespace.
//!
//! Addresses and routes are set through a netlink socket *of the namespace they belong to*.
//! A socket belongs to the namespace its creating thread was in, and stays there. So the
//! runtime steps into the container's namespace with setns(2), opens a socket, and steps
//! back at once: from then on that socket configures the container's `eth0` from outside,
//! while the container is still held before its setup (the same window the uid maps and the
//! cgroup attach use). The child needs no network code of its own but bringing `lo` up.
//!
//! setns(2) changes the calling *thread* only; the runtime calls this while it has one
//! thread (before the proxy's threads start), and `Return` steps back on every path.

use std::fs::File;
use std::os::fd::AsFd;

use nix::sched::{setns, CloneFlags};
use nix::unistd::Pid;

use super::netlink::Netlink;
use crate::{Error, Result};

/// Opens an rtnetlink socket in the network namespace of process `pid`.
pub fn socket_in(pid: Pid) -> Result<Netlink> {
    let theirs = open_ns(&format!("/proc/{pid}/ns/net"))?;
    let ours = open_ns("/proc/thread-self/ns/net")?;
    setns(theirs.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
        Error::sys(
            "setns",
            format!("entering the network namespace of process {pid}"),
            e,
        )
    })?;
    let back = Return(ours);
    let socket = Netlink::open();
    drop(back);
    socket
}

fn open_ns(path: &str) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::io("opening a network namespace", std::path::Path::new(path), e)
    })
}

/// Steps the thread back into its own network namespace when dropped.
struct Return(File);

impl Drop for Return {
    fn drop(&mut self) {
        if let Err(e) = setns(self.0.as_fd(), CloneFlags::CLONE_NEWNET) {
            // Staying in the container's namespace would make every later host-side step
            // act on the wrong network: stop here rather than go on.
            eprintln!("fatal: could not return to the host's network namespace: {e}");
            std::process::abort();
        }
    }
}
