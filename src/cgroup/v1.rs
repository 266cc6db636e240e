//! cgroup v1: one tree per controller (or per group of controllers mounted together).
//!
//! A workload's "cgroup" on v1 is really one directory in each hierarchy, with the same
//! name, and the process must be written into the `cgroup.procs` of every one of them. v1
//! has no "no internal processes" rule, so we nest below the cgroup the tool itself runs
//! in: the caller's own limits keep applying to the workload (a CI runner or a systemd
//! service with `MemoryMax=` runs in a memory cgroup of its own, which `/proc/self/cgroup`
//! shows).

use std::path::{Path, PathBuf};

use super::devices::DeviceAllowList;
use super::layout::{CgroupFs, Controller, PARENT_NAME};
use super::limits::Limits;
use super::plan::{Plan, Step};
use super::usage::{read_flat_keyed, read_single, Usage};
use crate::{Error, Result};

/// The steps that make `<own>/workbook/<leaf>` in each v1 hierarchy we use.
pub fn plan(fs: &CgroupFs, leaf: &str, limits: &Limits) -> Result<Plan> {
    for (asked, controller) in super::v2::needed(limits) {
        if fs.v1_hierarchy(controller).is_none() {
            return Err(Error::Unsupported(format!(
                "{asked} needs the cgroup v1 '{}' controller, which is not mounted on this machine \
                 (no cgroup filesystem with that option in /proc/self/mountinfo)",
                controller.name()
            )));
        }
    }
    let mut plan = Plan {
        dirs: Vec::new(),
        parents: Vec::new(),
        steps: Vec::new(),
    };
    // ANCHOR: plan_steps
    let dir_of = |c: Controller| -> Option<PathBuf> {
        let h = fs.v1_hierarchy(c)?;
        Some(h.mount.join(rel(&h.own)).join(PARENT_NAME).join(leaf))
    };
    if limits.devices.is_some() && fs.v1_hierarchy(Controller::Devices).is_none() {
        return Err(Error::Unsupported(
            "the device allow-list needs the cgroup v1 'devices' controller, which is not \
             mounted on this machine: a container without it could open every device \
             of the host"
                .to_string(),
        ));
    }
    for h in &fs.v1 {
        // The devices hierarchy only when there is a list to write (chapter 5 has none).
        if h.controllers == [Controller::Devices] && limits.devices.is_none() {
            continue;
        }
        let parent = h.mount.join(rel(&h.own)).join(PARENT_NAME);
        plan.steps.push(Step::mkdir(parent.clone(), true));
        plan.steps.push(Step::mkdir(parent.join(leaf), false));
        plan.dirs.push(parent.join(leaf));
        plan.parents.push(parent);
    }
    if let (Some(list), Some(dir)) = (&limits.devices, dir_of(Controller::Devices)) {
        plan.steps.extend(device_steps(list, &dir));
    }
    plan.steps.extend(limit_files(dir_of, limits));
    // ANCHOR_END: plan_steps
    Ok(plan)
}

/// The limit files of a workload, each in the hierarchy of its controller (`at`).
pub fn limit_files(
    at: impl Fn(Controller) -> Option<PathBuf>,
    limits: &Limits,
) -> Vec<Step> {
    // exercise 05.2: write the limits of a cgroup v1, each in its controller's hierarchy
    let mut steps = Vec::new();
    if let (Some(memory), Some(dir)) = (limits.memory, at(Controller::Memory)) {
        let bytes = memory.bytes().to_string();
        steps.push(Step::write(dir.join("memory.limit_in_bytes"), &bytes));
        // memsw is memory + swap. Setting it equal to the memory limit forbids swapping;
        // it must never be below limit_in_bytes, so it is written second. It exists only
        // when the kernel accounts swap (CONFIG_MEMCG_SWAP, swapaccount=1).
        steps.push(Step::write_if_present(
            dir.join("memory.memsw.limit_in_bytes"),
            &bytes,
        ));
    }
    if let (Some(cpu), Some(dir)) = (limits.cpus, at(Controller::Cpu)) {
        // Two files where v2 has one; the period first, so the quota is read against it.
        let period = cpu.period_us().to_string();
        steps.push(Step::write(dir.join("cpu.cfs_period_us"), period));
        let quota = cpu.quota_us().to_string();
        steps.push(Step::write(dir.join("cpu.cfs_quota_us"), quota));
    }
    if let (Some(weight), Some(dir)) = (limits.cpu_weight, at(Controller::Cpu)) {
        let shares = weight.shares().to_string();
        steps.push(Step::write(dir.join("cpu.shares"), shares));
    }
    if let (Some(pids), Some(dir)) = (limits.pids, at(Controller::Pids)) {
        steps.push(Step::write(dir.join("pids.max"), pids.get().to_string()));
    }
    steps
    // end of exercise 05.2
}

/// The v1 `devices` controller's writes for the cgroup at `dir`: first `a` (all devices,
/// every access) to `devices.deny`, which empties the list the new cgroup inherited from
/// its parent (on the host: `a *:* rwm`, everything), then one write per rule to
/// `devices.allow`. The kernel takes one rule per write(2).
pub fn device_steps(list: &DeviceAllowList, dir: &Path) -> Vec<Step> {
    let mut steps = vec![Step::write(dir.join("devices.deny"), "a")];
    for rule in list.rules() {
        steps.push(Step::write(dir.join("devices.allow"), rule.to_string()));
    }
    steps
}

fn rel(own: &Path) -> &Path {
    own.strip_prefix("/").unwrap_or(own)
}

/// The directory of `c` among a workload's v1 directories.
fn dir_for<'a>(fs: &CgroupFs, dirs: &'a [PathBuf], c: Controller) -> Option<&'a Path> {
    let h = fs.v1_hierarchy(c)?;
    dirs.iter()
        .find(|d| d.starts_with(&h.mount))
        .map(PathBuf::as_path)
}

/// The directory in the memory hierarchy among a workload's v1 directories.
pub fn memory_dir<'a>(fs: &CgroupFs, dirs: &'a [PathBuf]) -> Option<&'a Path> {
    dir_for(fs, dirs, Controller::Memory)
}

/// Reads what the kernel counted, each figure from its controller's hierarchy.
pub fn usage(fs: &CgroupFs, dirs: &[PathBuf]) -> Usage {
    let mut u = Usage::default();
    if let Some(mem) = dir_for(fs, dirs, Controller::Memory) {
        u.memory_limit = read_single(&mem.join("memory.limit_in_bytes"));
        u.memory_current = read_single(&mem.join("memory.usage_in_bytes"));
        u.memory_peak = read_single(&mem.join("memory.max_usage_in_bytes"));
        // failcnt counts the times a charge hit the limit (reclaim followed, or an OOM
        // kill).
        u.memory_limit_hits = read_single(&mem.join("memory.failcnt"));
        // oom_control grew an oom_kill counter in Linux 4.13.
        u.oom_kills = read_flat_keyed(&mem.join("memory.oom_control"), "oom_kill");
    }
    if let Some(cpu) = dir_for(fs, dirs, Controller::Cpu) {
        let stat = cpu.join("cpu.stat");
        u.cpu_periods = read_flat_keyed(&stat, "nr_periods");
        u.cpu_throttled = read_flat_keyed(&stat, "nr_throttled");
        u.cpu_throttled_us = read_flat_keyed(&stat, "throttled_time").map(|ns| ns / 1000);
    }
    if let Some(acct) = dir_for(fs, dirs, Controller::Cpuacct) {
        // v1 keeps CPU time in its own controller, in nanoseconds.
        u.cpu_usage_us = read_single(&acct.join("cpuacct.usage")).map(|ns| ns / 1000);
    }
    if let Some(pids) = dir_for(fs, dirs, Controller::Pids) {
        u.pids_current = read_single(&pids.join("pids.current"));
        u.pids_peak = read_single(&pids.join("pids.peak"));
        u.pids_limit = read_single(&pids.join("pids.max"));
        u.pids_refused = read_flat_keyed(&pids.join("pids.events"), "max");
    }
    u
}
