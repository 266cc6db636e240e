//! `linux.resources.cpu.cpus` and `.mems`: the CPUs and memory nodes the container may
//! use (`podman run --cpuset-cpus`, the kubelet's static CPU manager).

use std::path::{Path, PathBuf};

use super::super::config::Cpu;
use super::dirs::At;
use crate::cgroup::plan::Step;

/// The writes of `cpu.cpus`/`cpu.mems` into the cpuset cgroup `at` (same file names on v1
/// and v2; the kernel refuses CPUs its parent does not have).
pub fn steps(cpu: &Cpu, at: At) -> Vec<Step> {
    let mut steps = Vec::new();
    for (name, value) in [("cpuset.cpus", &cpu.cpus), ("cpuset.mems", &cpu.mems)] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            steps.push(Step::write(at.dir.join(name), value));
        }
    }
    steps
}

/// Whether `cpu` asks for a cpuset.
pub fn asked(cpu: Option<&Cpu>) -> bool {
    cpu.is_some_and(|c| {
        c.cpus.as_deref().is_some_and(|v| !v.is_empty())
            || c.mems.as_deref().is_some_and(|v| !v.is_empty())
    })
}

/// v1 only: a new cpuset cgroup starts with empty `cpuset.cpus` and `cpuset.mems`, and
/// the kernel refuses to move a task into a cpuset with no CPU or no memory node. So each
/// level from `mount` down to `dir` that is missing or empty gets its parent's values, top
/// down, before anything joins (as runc does). The values are read now, from the nearest
/// level that has them; the writes run after the `mkdir`s of the plan.
pub fn fill_v1_levels(mount: &Path, dir: &Path) -> Vec<Step> {
    let Ok(rel) = dir.strip_prefix(mount) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    for name in ["cpuset.cpus", "cpuset.mems"] {
        let mut inherited = read(&mount.join(name));
        let mut at = PathBuf::from(mount);
        for part in rel.components() {
            at.push(part);
            match read(&at.join(name)) {
                Some(own) => inherited = Some(own),
                None => {
                    if let Some(value) = &inherited {
                        steps.push(Step::write(at.join(name), value.clone()));
                    }
                }
            }
        }
    }
    steps
}

/// A cpuset file's value, `None` when missing or empty.
fn read(file: &Path) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
