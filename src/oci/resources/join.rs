//! v1: the hierarchies a container joins beyond chapter 5's.
//!
//! [`cgroup_path::plan_at`](super::cgroup_path::plan_at) makes the container's directory
//! in every v1 hierarchy the host mounts, as runc does. What it cannot give is a
//! controller no v1 hierarchy carries: hugetlb, on some hybrid hosts, is offered only by
//! the cgroup2 mount, and the container then gets a directory there too (below).

use std::path::{Path, PathBuf};

use super::super::config::Resources;
use super::dirs::{self, Dirs};
use super::host::Host;
use super::{blkio, cpuset};
use crate::cgroup::plan::{Plan, Step};
use crate::cgroup::CgroupFs;
use crate::Result;

/// Adds to `plan` the directories of the other hierarchies `r` needs, at the same path
/// below each mount. A controller that no v1 hierarchy carries may be on the cgroup2
/// mount of a hybrid layout (hugetlb, on some hosts): the container then gets a directory
/// there too, with the controllers handed down to it.
pub fn other_v1_hierarchies(
    plan: &mut Plan,
    fs: &CgroupFs,
    host: &Host,
    r: &Resources,
) -> Result<()> {
    let Some(first) = plan.dirs.first().cloned() else {
        return Ok(());
    };
    let rel = dirs::relative_in(&first, &host.mounts)?;
    // (v1 name, v2 name, asked)
    let wanted = [
        ("cpuset", "cpuset", cpuset::asked(r.cpu.as_ref())),
        ("blkio", "io", blkio::asked(r.block_io.as_ref())),
        ("hugetlb", "hugetlb", !r.hugepage_limits.is_empty()),
    ];
    let mut on_unified = Vec::new();
    for (v1_name, v2_name, _) in wanted.iter().filter(|w| w.2) {
        // Already joined (an engine's path may hold them all).
        if Dirs::of(&plan.dirs, &host.mounts)?.v1(v1_name).is_some() {
            continue;
        }
        match dirs::v1_mount(&host.mounts, v1_name) {
            Some(mount) => {
                let mut at = mount.mount_point.clone();
                for part in rel.components() {
                    at.push(part);
                    plan.steps.push(Step::mkdir(at.clone(), true));
                }
                plan.dirs.push(at);
            }
            None => on_unified.push(*v2_name),
        }
    }
    if let Some(dir) = unified_dir_with(plan, fs, &rel, &on_unified) {
        plan.dirs.push(dir);
    }
    // However it was joined, a v1 cpuset directory must be filled before a task can enter.
    if let Some(mount) = dirs::v1_mount(&host.mounts, "cpuset") {
        if let Some(dir) = plan.dirs.iter().find(|d| d.starts_with(&mount.mount_point)) {
            plan.steps
                .extend(cpuset::fill_v1_levels(&mount.mount_point, dir));
        }
    }
    Ok(())
}

/// Hybrid layout: the steps that make `rel` on the cgroup2 mount with those of
/// `controllers` it offers handed down level by level (top-down, as v2 requires); `None`
/// when it offers none of them. A controller it lacks is refused later, by name, when its
/// limit finds no directory.
fn unified_dir_with(
    plan: &mut Plan,
    fs: &CgroupFs,
    rel: &Path,
    controllers: &[&str],
) -> Option<PathBuf> {
    let (mount, _) = fs.unified.as_ref()?;
    let offered =
        std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
    let enable: Vec<String> = controllers
        .iter()
        .filter(|c| offered.split_whitespace().any(|o| o == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if enable.is_empty() {
        return None;
    }
    let mut at = mount.clone();
    for part in rel.components() {
        plan.steps.push(Step::write(
            at.join("cgroup.subtree_control"),
            enable.join(" "),
        ));
        at.push(part);
        plan.steps.push(Step::mkdir(at.clone(), true));
    }
    Some(at)
}
