//! `linux.resources` and `linux.cgroupsPath`: the container's cgroup (chapter 5's limits,
//! chapter 7's device allow-list) at the path its engine chose.

use std::path::{Path, PathBuf};

use super::cgroup_path;
use super::config::{Linux, Resources};
use crate::cgroup::devices::{Access, DeviceKind, DeviceRule};
use crate::cgroup::plan::{write_control, Plan};
use crate::cgroup::{
    CgroupFs, CpuQuota, CpuWeight, DeviceAllowList, Layout, Limits, MemoryLimit,
};
use crate::{Error, Result};

/// The container's cgroup, planned.
pub struct CgroupSetup {
    pub plan: Plan,
    pub v2: bool,
    /// The directories of `plan.dirs` that this container makes (see [`cgroup_path::claim`]).
    pub made: Vec<PathBuf>,
    /// `memory.swap` (memory + swap, in the spec's v1 meaning) to write after the plan.
    swap: Option<(u64, u64)>,
}

/// Where the cgroup goes when config.json does not say: `/workbook-oci/<id>`.
pub fn default_path(id: &str) -> PathBuf {
    PathBuf::from(format!("/workbook-oci/{id}"))
}

// ANCHOR: limits
/// The limits of `resources`, in the library's types.
pub fn limits(resources: &Resources) -> Result<(Limits, Option<u64>)> {
    let bad =
        |what: &str, e: String| Error::Invalid(format!("linux.resources.{what}: {e}"));
    let mut limits = Limits::default();
    let mut swap = None;
    if let Some(memory) = &resources.memory {
        if let Some(limit) = memory.limit.filter(|l| *l > 0) {
            limits.memory = Some(
                MemoryLimit::from_bytes(limit as u64)
                    .map_err(|e| bad("memory.limit", e))?,
            );
            swap = memory.swap.filter(|s| *s > 0).map(|s| s as u64);
        }
    }
    if let Some(cpu) = &resources.cpu {
        if let Some(quota) = cpu.quota.filter(|q| *q > 0) {
            let period = cpu.period.unwrap_or(crate::cgroup::limits::CPU_PERIOD_US);
            limits.cpus = Some(
                CpuQuota::from_us(quota as u64, period).map_err(|e| bad("cpu.quota", e))?,
            );
        }
        if let Some(shares) = cpu.shares.filter(|s| *s > 0) {
            limits.cpu_weight = Some(CpuWeight::from_shares(shares));
        }
    }
    if let Some(pids) = resources.pids.as_ref().filter(|p| p.limit > 0) {
        limits.pids = Some(
            pids.limit
                .to_string()
                .parse()
                .map_err(|e| bad("pids.limit", e))?,
        );
    }
    limits.devices = Some(device_list(resources)?);
    Ok((limits, swap))
}
// ANCHOR_END: limits

// ANCHOR: devices
/// The device allow-list: Docker's default (what runc adds to every container), then the
/// config's allow rules. Engines start the list with `{"allow": false, "access": "rwm"}`
/// (deny everything), which is where an allow-list starts anyway; any other deny rule would
/// need a deny-list and is refused by name.
fn device_list(resources: &Resources) -> Result<DeviceAllowList> {
    let mut rules = DeviceAllowList::docker_default().rules().to_vec();
    for (i, rule) in resources.devices.iter().enumerate() {
        let everything = rule.kind.as_deref().map_or(true, |k| k == "a")
            && rule.major.is_none()
            && rule.minor.is_none();
        if !rule.allow {
            if everything {
                continue;
            }
            return Err(Error::Unsupported(format!(
                "linux.resources.devices[{i}] denies one device, which this runtime does not support (it keeps an allow-list)"
            )));
        }
        let kinds: &[DeviceKind] = match rule.kind.as_deref() {
            Some("c") => &[DeviceKind::Char],
            Some("b") => &[DeviceKind::Block],
            None | Some("a") => &[DeviceKind::Char, DeviceKind::Block],
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "linux.resources.devices[{i}] has type '{other}': use a, b or c"
                )))
            }
        };
        let access =
            parse_access(rule.access.as_deref().unwrap_or("rwm")).ok_or_else(|| {
                Error::Invalid(format!(
                    "linux.resources.devices[{i}] has an access other than r, w, m"
                ))
            })?;
        let number = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as u32);
        for kind in kinds {
            rules.push(DeviceRule {
                kind: *kind,
                major: number(rule.major),
                minor: number(rule.minor),
                access,
            });
        }
    }
    Ok(DeviceAllowList::new(rules))
}
// ANCHOR_END: devices

fn parse_access(text: &str) -> Option<Access> {
    let mut access = None::<Access>;
    for c in text.chars() {
        let bit = match c {
            'r' => Access::READ,
            'w' => Access::WRITE,
            'm' => Access::MKNOD,
            _ => return None,
        };
        access = Some(access.map_or(bit, |a| a.union(bit)));
    }
    access
}

/// Plans the cgroup of container `id` from config.json's `linux`, adding the config's
/// device nodes to the allow-list.
pub fn plan(fs: &CgroupFs, id: &str, linux: &Linux) -> Result<CgroupSetup> {
    let resources = linux.resources.clone().unwrap_or_default();
    let (mut limits, swap) = limits(&resources)?;
    if let Some(list) = &mut limits.devices {
        let mut rules = list.rules().to_vec();
        for device in &linux.devices {
            let kind = match device.kind.as_str() {
                "b" => DeviceKind::Block,
                _ => DeviceKind::Char,
            };
            rules.push(DeviceRule {
                kind,
                major: Some(device.major as u32),
                minor: Some(device.minor as u32),
                access: Access::ALL,
            });
        }
        *list = DeviceAllowList::new(rules);
    }
    let path = linux
        .cgroups_path
        .clone()
        .unwrap_or_else(|| default_path(id));
    if path.to_string_lossy().contains(':') {
        return Err(Error::Unsupported(format!(
            "linux.cgroupsPath '{}' is a systemd slice path, and this runtime has no systemd cgroup driver",
            path.display()
        )));
    }
    let others = cgroup_path::host_other_v1_mounts(fs)?;
    let mut plan = cgroup_path::plan_at(fs, &others, &path, &limits)?;
    let made = cgroup_path::claim(&mut plan)?;
    let v2 = fs.layout == Layout::Unified;
    Ok(CgroupSetup {
        plan,
        v2,
        made,
        swap: swap.zip(limits.memory.map(|m| m.bytes())),
    })
}

impl CgroupSetup {
    /// Makes the directories and writes the limits. `made_now` collects the container's
    /// own directories as they appear: after a failure, they are what `delete` removes.
    pub fn apply(&self, made_now: &mut Vec<PathBuf>) -> Result<()> {
        self.plan.execute(&mut |p: &Path| {
            std::fs::create_dir(p)?;
            cgroup_path::inherit_cpuset(p)?;
            if self.made.iter().any(|m| m == p) {
                made_now.push(p.to_path_buf());
            }
            Ok(())
        })?;
        if let Some((swap, memory)) = self.swap {
            // The spec's swap is memory + swap (v1's memsw); v2 counts swap alone.
            for dir in &self.plan.dirs {
                if self.v2 {
                    let value = swap.saturating_sub(memory).to_string();
                    write_control(&dir.join("memory.swap.max"), &value, false)?;
                } else {
                    write_control(
                        &dir.join("memory.memsw.limit_in_bytes"),
                        &swap.to_string(),
                        false,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Moves `pid` into every directory of the cgroup.
pub fn attach(dirs: &[PathBuf], pid: i32) -> Result<()> {
    for dir in dirs {
        write_control(&dir.join("cgroup.procs"), &pid.to_string(), true)?;
    }
    Ok(())
}

/// Kills what is left in the cgroup, waits until it is empty and removes its directories
/// (not the parents above, which other containers share). `dirs` are only those the
/// container made: a cgroup it was given is someone else's, with all that is in it.
pub fn remove(dirs: &[PathBuf], v2: bool) -> Result<()> {
    crate::cgroup::cleanup::kill_and_wait(dirs, v2)?;
    for dir in dirs {
        crate::cgroup::cleanup::rmdir(dir)?;
    }
    Ok(())
}
