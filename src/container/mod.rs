//! The container: every building block of the earlier chapters, joined in the order the kernel
//! requires.

pub mod image;
pub mod run;
pub mod spec;
pub mod state;

use crate::cgroup::{self, CgroupFs};
use crate::Result;

/// What `cleanup` removed.
#[derive(Debug, Default, Clone)]
pub struct Cleaned {
    pub containers: Vec<String>,
    pub cgroups: Vec<String>,
    /// Address leases of killed runs, given back with their veths and NAT rules.
    pub leases: Vec<String>,
}

// ANCHOR: cleanup
/// Removes what runs killed with SIGKILL left behind: their state directories (with the
/// upper layers), their cgroups and their network leases (with the veth, if the kernel has not
/// deleted it with the namespace yet, and the NAT rule). Mounts need no cleaning: each
/// container's mounts live in its own mount namespace, which the kernel destroyed with its
/// last process. The bridge stays (see `net::bridge`).
pub fn cleanup_stale() -> Result<Cleaned> {
    let containers = state::remove_stale()?;
    let cgroups = match CgroupFs::detect() {
        Ok(fs) => cgroup::cleanup_stale(&fs)?,
        Err(_) => Vec::new(),
    };
    let leases = crate::net::reclaim_stale()?
        .into_iter()
        .map(|e| format!("{} of {}", e.ip, e.name))
        .collect();
    Ok(Cleaned {
        containers,
        cgroups,
        leases,
    })
}
// ANCHOR_END: cleanup

/// The same before a run, where a failure to clean an old run must not stop a new one.
pub fn cleanup_stale_quietly() {
    if let Err(e) = cleanup_stale() {
        eprintln!("warning: could not clean up after an earlier run: {e}");
    }
}
