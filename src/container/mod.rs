//! The container: every building block of the earlier chapters, joined in the order the
//! kernel requires.

pub mod cgroup_join;
pub mod cgroupfs;
mod clone3;
pub mod host_files;
pub mod image;
pub mod init;
pub mod network;
pub mod root;
pub mod run;
pub mod spec;
mod timens;
pub mod tty;

pub use clone3::{spawn_in_cgroup, Born};
pub use timens::spawn_with_time_namespace;

use crate::cgroup::{self, CgroupFs};
use crate::Result;

/// What `cleanup` removed.
#[derive(Debug, Default, Clone)]
pub struct Cleaned {
    pub containers: Vec<String>,
    pub cgroups: Vec<String>,
    /// Address leases of killed runs, given back with their veths and NAT rules.
    pub leases: Vec<String>,
    /// Scratch dirs of killed image imports (half-unpacked layers) in the image store.
    pub imports: Vec<String>,
}

/// Removes what runs killed with SIGKILL left behind: their state directories and writable
/// layers, their cgroups, their network leases (with the veth, if the kernel has not
/// deleted it with the namespace yet, and the NAT rule) and their half-done image imports.
/// Mounts need no cleaning: each container's mounts live in its own mount namespace, which
/// the kernel destroyed with its last process. The bridge stays (see `net::bridge`).
pub fn cleanup_stale() -> Result<Cleaned> {
    let containers = host_files::remove_stale()?;
    let cgroups = match CgroupFs::detect() {
        Ok(fs) => cgroup::cleanup_stale(&fs)?,
        Err(_) => Vec::new(),
    };
    let leases = network::reclaim_stale()?
        .into_iter()
        .map(|e| format!("{} of {}", e.ip, e.name))
        .collect();
    let imports = match crate::image::ImageStore::default_dir() {
        Ok(store) => crate::image::ImageStore::remove_stale_imports(&store)?,
        Err(_) => Vec::new(), // no store can be named, so none was used
    };
    Ok(Cleaned {
        containers,
        cgroups,
        leases,
        imports,
    })
}

/// The same before a run, where a failure to clean an old run must not stop a new one;
/// but not the leases: a bridged run reclaims its bridge's own under their lock (and only
/// those whose veth the kernel has deleted), and a run without one need not lock them.
/// `cgroupfs` is the layout the run found already, if it made a cgroup (read once: reading
/// `/proc/self/mountinfo` waits for every mount and unmount on the machine meanwhile).
pub fn cleanup_stale_quietly(cgroupfs: Option<&CgroupFs>) {
    let detected = match cgroupfs {
        Some(fs) => Ok(fs.clone()),
        None => CgroupFs::detect(),
    };
    let result = host_files::remove_stale().and_then(|_| match detected {
        Ok(fs) => cgroup::cleanup_stale(&fs).map(drop),
        Err(_) => Ok(()),
    });
    let result = result.and_then(|()| match crate::image::ImageStore::default_dir() {
        Ok(store) => crate::image::ImageStore::remove_stale_imports(&store).map(drop),
        Err(_) => Ok(()),
    });
    if let Err(e) = result {
        eprintln!("warning: could not clean up after an earlier run: {e}");
    }
}
