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
}

// ANCHOR: cleanup
/// Removes what runs killed with SIGKILL left behind: their state directories (with the
/// upper layers) and their cgroups. Mounts need no cleaning: each container's mounts live in
/// its own mount namespace, which the kernel destroyed with its last process.
pub fn cleanup_stale() -> Result<Cleaned> {
    let containers = state::remove_stale()?;
    let cgroups = match CgroupFs::detect() {
        Ok(fs) => cgroup::cleanup_stale(&fs)?,
        Err(_) => Vec::new(),
    };
    Ok(Cleaned {
        containers,
        cgroups,
    })
}
// ANCHOR_END: cleanup

/// The same before a run, where a failure to clean an old run must not stop a new one.
pub fn cleanup_stale_quietly() {
    if let Err(e) = cleanup_stale() {
        eprintln!("warning: could not clean up after an earlier run: {e}");
    }
}
