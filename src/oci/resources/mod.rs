//! `linux.resources` and `linux.cgroupsPath`: the container's cgroup (chapter 5's limits,
//! chapter 7's device allow-list) at the path its engine chose, and the controllers that
//! engines use beyond chapter 5's: swap, soft limits and the OOM killer (`memory`),
//! cpusets (`cpuset`), I/O weights and throttles (`blkio`) and huge pages
//! (`hugetlb`).

mod blkio;
pub mod cpuset;
mod device_rules;
pub mod dirs;
mod host;
mod hugetlb;
mod join;
mod memory;

use std::path::{Path, PathBuf};

use super::cgroup_path;
use super::config::{Linux, Resources};
use crate::cgroup::plan::{write_control, Plan, Step};
use crate::cgroup::{v1, v2, CgroupFs, CpuQuota, CpuWeight, Layout, Limits, MemoryLimit};
use crate::{Error, Result};
use dirs::{At, Dirs};
pub use host::Host;

/// The container's cgroup, planned.
pub struct CgroupSetup {
    pub plan: Plan,
    pub v2: bool,
    /// The directories of `plan.dirs` that this container makes (see [`cgroup_path::claim`]).
    pub made: Vec<PathBuf>,
    /// With `--systemd-cgroup`: the systemd scope the cgroup belongs to.
    pub scope: Option<super::systemd::Scope>,
    /// The container's `linux.resources`, which the scope's unit properties carry too.
    pub resources: Resources,
}

/// Where the cgroup goes when config.json does not say: `/workbook-oci/<id>`.
pub fn default_path(id: &str) -> PathBuf {
    PathBuf::from(format!("/workbook-oci/{id}"))
}

/// The limits of `resources` that chapter 5's types hold (memory, cpu, pids) and the
/// device allow-list.
pub fn limits(resources: &Resources) -> Result<Limits> {
    let bad =
        |what: &str, e: String| Error::Invalid(format!("linux.resources.{what}: {e}"));
    let mut limits = Limits::default();
    if let Some(memory) = &resources.memory {
        if let Some(limit) = memory.limit.filter(|l| *l > 0) {
            limits.memory = Some(
                MemoryLimit::from_bytes(limit as u64)
                    .map_err(|e| bad("memory.limit", e))?,
            );
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
    limits.devices = Some(device_rules::device_list(resources)?);
    Ok(limits)
}

/// The writes that give the existing cgroup `dirs` (one per v1 hierarchy, or one v2
/// directory) the limits of `resources`, all but the device list: chapter 5's limits,
/// then the other controllers'. What `create` writes after making the directories, and
/// what `update` writes into a running container's.
pub fn resource_steps(
    resources: &Resources,
    dirs: &[PathBuf],
    host: &Host,
) -> Result<Vec<Step>> {
    let at = Dirs::of(dirs, &host.mounts)?;
    let mut limits = limits(resources)?;
    limits.devices = None;
    let mut steps = Vec::new();
    if let (Some(_), Some(dir), None) = (limits.memory, at.v1("memory"), at.v2_only()) {
        // v1 keeps memsw ≥ the limit at every write: a running container's limit can only
        // rise above its old memsw once memsw is lifted. The writes below set it again.
        steps.push(Step::write_if_present(
            dir.join("memory.memsw.limit_in_bytes"),
            "-1",
        ));
    }
    steps.extend(match at.v2_only() {
        Some(dir) => v2::limit_files(dir, &limits),
        None => v1::limit_files(|c| at.v1(c.name()).map(Path::to_path_buf), &limits),
    });
    steps.extend(other_steps(resources, &at, host)?);
    Ok(steps)
}

/// The writes of the controllers beyond chapter 5's.
pub fn other_steps(r: &Resources, at: &Dirs, host: &Host) -> Result<Vec<Step>> {
    let need = |v1_name: &str, what: &str| -> Result<At> {
        at.at(v1_name).ok_or_else(|| {
            Error::Unsupported(format!(
                "linux.resources.{what} needs the cgroup '{v1_name}' controller, which is not mounted on this machine"
            ))
        })
    };
    let mut steps = Vec::new();
    if let Some(m) = &r.memory {
        let asked = memory::Swap::of(m).is_some()
            || m.reservation.is_some_and(|v| v > 0)
            || m.swappiness.is_some_and(|v| v != -1)
            || m.disable_oom_killer == Some(true);
        if asked {
            steps.extend(memory::steps(m, need("memory", "memory")?)?);
        }
    }
    if cpuset::asked(r.cpu.as_ref()) {
        let cpu = r.cpu.as_ref().expect("asked() saw it");
        steps.extend(cpuset::steps(cpu, need("cpuset", "cpu.cpus/mems")?));
    }
    if let Some(io) = r.block_io.as_ref().filter(|io| blkio::asked(Some(io))) {
        let place = need("blkio", "blockIO")?;
        let mount = dirs::v1_mount(&host.mounts, "blkio").map(|m| m.mount_point.as_path());
        steps.extend(blkio::steps(io, place, mount, host.bfq)?);
    }
    if !r.hugepage_limits.is_empty() {
        let place = need("hugetlb", "hugepageLimits")?;
        steps.extend(hugetlb::steps(&r.hugepage_limits, place, &host.page_sizes)?);
    }
    Ok(steps)
}

/// Plans the cgroup of container `id` from config.json's `linux`, adding the config's
/// device nodes to the allow-list.
pub fn plan(fs: &CgroupFs, id: &str, linux: &Linux) -> Result<CgroupSetup> {
    plan_on(fs, &Host::detect()?, id, linux)
}

/// [`plan`], or with `systemd` (`--systemd-cgroup`) the cgroup of the systemd scope that
/// `linux.cgroupsPath` (`slice:prefix:name`) names: the same directories and writes, at
/// the path systemd gives the scope, which [`CgroupSetup::start_scope`] then starts.
pub fn plan_for(systemd: bool, id: &str, linux: &Linux) -> Result<CgroupSetup> {
    let fs = &CgroupFs::detect()?;
    if !systemd {
        return plan(fs, id, linux);
    }
    let asked = (linux.cgroups_path.as_ref()).map(|p| p.to_string_lossy().into_owned());
    let scope = super::systemd::scope_of(&super::systemd::cgroups_path(asked, id))?;
    // Before anything is made: without systemd on the bus there is no scope to make.
    super::systemd::dbus::Bus::system(super::systemd::dbus::SYSTEM_BUS)?;
    let mut at_scope = linux.clone();
    at_scope.cgroups_path = Some(scope.path.clone());
    let mut setup = plan(fs, id, &at_scope)?;
    setup.scope = Some(scope);
    Ok(setup)
}

/// [`plan`] on the machine described by `fs` and `host`.
pub fn plan_on(fs: &CgroupFs, host: &Host, id: &str, linux: &Linux) -> Result<CgroupSetup> {
    let resources = linux.resources.clone().unwrap_or_default();
    let mut limits = limits(&resources)?;
    if let Some(list) = &mut limits.devices {
        *list = device_rules::with_nodes(list, &linux.devices);
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
    let others = cgroup_path::other_v1_mounts(fs, &host.mounts);
    let mut plan = cgroup_path::plan_at(fs, &others, &path, &limits)?;
    let v2 = fs.layout == Layout::Unified;
    if !v2 {
        join::other_v1_hierarchies(&mut plan, fs, host, &resources)?;
    }
    let dirs = Dirs::of(&plan.dirs, &host.mounts)?;
    plan.steps.extend(other_steps(&resources, &dirs, host)?);
    let made = cgroup_path::claim(&mut plan)?;
    Ok(CgroupSetup {
        plan,
        v2,
        made,
        scope: None,
        resources,
    })
}

impl CgroupSetup {
    /// Makes the directories and writes the limits. `made_now` collects the container's
    /// own directories as they appear: after a failure, they are what `delete` removes.
    pub fn apply(&self, made_now: &mut Vec<PathBuf>) -> Result<()> {
        self.plan.execute(&mut |p: &Path| {
            std::fs::create_dir(p)?;
            // Only v1 needs the copy: on v2 an empty cpuset.cpus means the parent's CPUs,
            // and the root there has no cpuset.cpus to copy from (ENOENT).
            if !self.v2 {
                cgroup_path::inherit_cpuset(p)?;
            }
            if self.made.iter().any(|m| m == p) {
                made_now.push(p.to_path_buf());
            }
            Ok(())
        })
    }
}

impl CgroupSetup {
    /// With `--systemd-cgroup`: starts the scope holding the init `pid`, then writes the
    /// limits again (runc does both): systemd, realizing the delegated scope, writes the
    /// controllers' files from its own properties, which hold no device list and not all
    /// of OCI's fields. A v2 device program stays attached beside any of systemd's.
    pub fn start_scope(&self, pid: nix::unistd::Pid) -> Result<()> {
        let Some(scope) = &self.scope else {
            return Ok(());
        };
        super::systemd::start(scope, pid.as_raw(), &self.resources, self.v2)?;
        let writes = Plan {
            dirs: self.plan.dirs.clone(),
            parents: Vec::new(),
            steps: (self.plan.steps.iter())
                .filter(|s| matches!(s, Step::Write { .. }))
                .cloned()
                .collect(),
        };
        writes.execute(&mut |_| Ok(()))
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
