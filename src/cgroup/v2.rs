//! cgroup v2: one tree, every controller in it.
//!
//! Two rules of the v2 interface shape this file (Documentation/admin-guide/cgroup-v2.rst):
//!
//! * a controller is usable in a cgroup only when its parent lists it in
//!   `cgroup.subtree_control`, and it can be listed there only if the parent's own parent
//!   did the same ("top-down constraint");
//! * a cgroup that hands controllers to its children must hold no processes itself ("no
//!   internal processes"; the root is exempt). So the tool cannot put its workloads below
//!   the cgroup it runs in, which holds the tool: it uses `<root>/workbook/`, as the
//!   cgroupfs drivers of container runtimes do, unless its own cgroup is a delegated, empty
//!   one.

use std::path::{Path, PathBuf};

use super::layout::{Controller, PARENT_NAME};
use super::limits::Limits;
use super::plan::{Plan, Step};
use super::usage::{read_flat_keyed, read_single, Usage};
use crate::{Error, Result};

/// The v2 controllers a workload cgroup gets, when the machine has them.
const WANTED: [Controller; 3] = [Controller::Memory, Controller::Cpu, Controller::Pids];

/// Where `workbook/` goes: below the tool's own cgroup only when that is the root, or when
/// it is delegated to us and empty; otherwise at the root of the hierarchy.
pub fn parent_base(mount: &Path, own: &Path) -> PathBuf {
    let own_dir = mount.join(own.strip_prefix("/").unwrap_or(own));
    if own_dir == mount {
        return own_dir;
    }
    let delegated = nix::unistd::access(
        &own_dir.join("cgroup.subtree_control"),
        nix::unistd::AccessFlags::W_OK,
    )
    .is_ok();
    let empty = std::fs::read_to_string(own_dir.join("cgroup.procs"))
        .map(|procs| procs.trim().is_empty())
        .unwrap_or(false);
    if delegated && empty {
        own_dir
    } else {
        mount.to_path_buf()
    }
}

/// The steps that make `<base>/workbook/<leaf>` with `limits` on a cgroup2 mount.
pub fn plan(mount: &Path, own: &Path, leaf: &str, limits: &Limits) -> Result<Plan> {
    // Which controllers the hierarchy offers at all (the root lists them).
    let offered = std::fs::read_to_string(mount.join("cgroup.controllers"))
        .map_err(|e| Error::io("reading", &mount.join("cgroup.controllers"), e))?;
    let offered: Vec<&str> = offered.split_whitespace().collect();
    for (asked, controller) in needed(limits) {
        if !offered.contains(&controller.name()) {
            return Err(Error::Unsupported(format!(
                "{asked} needs the cgroup v2 '{}' controller, which this kernel does not offer \
                 ({}/cgroup.controllers lists: {})",
                controller.name(),
                mount.display(),
                if offered.is_empty() {
                    "none".to_string()
                } else {
                    offered.join(" ")
                }
            )));
        }
    }
    let enable: Vec<String> = WANTED
        .iter()
        .filter(|c| offered.contains(&c.name()))
        .map(|c| format!("+{}", c.name()))
        .collect();
    let enable = enable.join(" ");

    // ANCHOR: plan_steps
    let base = parent_base(mount, own);
    let parent = base.join(PARENT_NAME);
    let dir = parent.join(leaf);
    let mut steps = Vec::new();
    if !enable.is_empty() {
        // Top-down: the base hands the controllers to workbook/, workbook/ to our leaf.
        steps.push(Step::write(base.join("cgroup.subtree_control"), &enable));
    }
    steps.push(Step::mkdir(parent.clone(), true));
    if !enable.is_empty() {
        steps.push(Step::write(parent.join("cgroup.subtree_control"), &enable));
    }
    steps.push(Step::mkdir(dir.clone(), false));
    if let Some(list) = &limits.devices {
        // Before any process is inside: the program is in force from the first exec.
        steps.push(Step::AttachDevices {
            dir: dir.clone(),
            list: list.clone(),
        });
    }
    steps.extend(limit_files(&dir, limits));
    // ANCHOR_END: plan_steps
    Ok(Plan {
        dirs: vec![dir],
        parents: vec![parent],
        steps,
    })
}

/// The limit files of one v2 cgroup: one file per limit.
pub fn limit_files(dir: &Path, limits: &Limits) -> Vec<Step> {
    // exercise 05.1: write the limits of a cgroup v2: one file per limit
    let mut steps = Vec::new();
    if let Some(memory) = limits.memory {
        steps.push(Step::write(
            dir.join("memory.max"),
            memory.bytes().to_string(),
        ));
        // Without this a workload over memory.max is pushed into swap instead of being
        // stopped. The file exists only with swap accounting compiled in.
        steps.push(Step::write_if_present(dir.join("memory.swap.max"), "0"));
    }
    if let Some(cpu) = limits.cpus {
        // One file, two numbers: "$QUOTA $PERIOD" in microseconds.
        let value = format!("{} {}", cpu.quota_us(), cpu.period_us());
        steps.push(Step::write(dir.join("cpu.max"), value));
    }
    if let Some(weight) = limits.cpu_weight {
        steps.push(Step::write(
            dir.join("cpu.weight"),
            weight.weight().to_string(),
        ));
    }
    if let Some(pids) = limits.pids {
        steps.push(Step::write(dir.join("pids.max"), pids.get().to_string()));
    }
    steps
    // end of exercise 05.1
}

/// Which controller each requested limit needs, with the option's name for messages.
pub(crate) fn needed(limits: &Limits) -> Vec<(&'static str, Controller)> {
    let mut out = Vec::new();
    if limits.memory.is_some() {
        out.push(("--memory", Controller::Memory));
    }
    if limits.cpus.is_some() {
        out.push(("--cpus", Controller::Cpu));
    }
    if limits.cpu_weight.is_some() {
        out.push(("--cpu-weight", Controller::Cpu));
    }
    if limits.pids.is_some() {
        out.push(("--pids", Controller::Pids));
    }
    out
}

/// Reads what the kernel counted for the cgroup at `dir`.
pub fn usage(dir: &Path) -> Usage {
    let events = dir.join("memory.events");
    let cpu = dir.join("cpu.stat");
    Usage {
        memory_limit: read_single(&dir.join("memory.max")),
        memory_current: read_single(&dir.join("memory.current")),
        // memory.peak exists since Linux 5.19.
        memory_peak: read_single(&dir.join("memory.peak")),
        memory_limit_hits: read_flat_keyed(&events, "max"),
        oom_kills: read_flat_keyed(&events, "oom_kill"),
        // cpu.stat has usage_usec even without the cpu controller; nr_throttled only with
        // it.
        cpu_usage_us: read_flat_keyed(&cpu, "usage_usec"),
        cpu_periods: read_flat_keyed(&cpu, "nr_periods"),
        cpu_throttled: read_flat_keyed(&cpu, "nr_throttled"),
        cpu_throttled_us: read_flat_keyed(&cpu, "throttled_usec"),
        pids_current: read_single(&dir.join("pids.current")),
        pids_peak: read_single(&dir.join("pids.peak")),
        pids_limit: read_single(&dir.join("pids.max")),
        pids_refused: read_flat_keyed(&dir.join("pids.events"), "max"),
    }
}

/// Kills every process in the cgroup at once: writing `1` to `cgroup.kill` (Linux 5.14+)
/// makes the kernel SIGKILL the whole subtree, racing no fork. Returns false when the file
/// is absent, and the caller falls back to signalling each pid as on v1.
// ANCHOR: kill_all
pub fn kill_all(dir: &Path) -> Result<bool> {
    super::plan::write_control(&dir.join("cgroup.kill"), "1", false)
}
// ANCHOR_END: kill_all

/// Whether any process is left in the subtree: `populated 1` in `cgroup.events`.
pub fn populated(dir: &Path) -> bool {
    read_flat_keyed(&dir.join("cgroup.events"), "populated").is_some_and(|p| p != 0)
}
