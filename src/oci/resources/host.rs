//! What of the machine a container's cgroup plan depends on beyond chapter 5's
//! [`CgroupFs`](crate::cgroup::CgroupFs).

use super::{blkio, dirs, hugetlb};
use crate::cgroup::layout::CgroupMount;
use crate::Result;

/// What of the machine the plan depends on beyond `CgroupFs`, read once; the
/// fake-cgroupfs tests make their own.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// The cgroup lines of /proc/self/mountinfo: where cpuset, blkio and hugetlb are.
    pub mounts: Vec<CgroupMount>,
    /// The huge page sizes, as the hugetlb files name them (`2MB`).
    pub page_sizes: Vec<String>,
    /// Whether the BFQ I/O scheduler is there (the only one with cgroup weights).
    pub bfq: bool,
}

impl Host {
    pub fn detect() -> Result<Host> {
        Ok(Host {
            mounts: dirs::cgroup_mounts()?,
            page_sizes: hugetlb::page_sizes(),
            bfq: blkio::bfq_available(),
        })
    }
}
