//! `update ID`: new limits for a running container, written into the files of its cgroup
//! (`podman update --cpus`, Kubernetes' in-place resize through containerd). The kernel
//! applies a limit file the moment it is written, to the processes already inside.
//!
//! The new values arrive as `linux.resources` JSON (`--resources FILE`, or `-` for stdin:
//! what engines send) or as runc's flags. They go through the same parsing, refusals and
//! translation as config.json's at `create`; a field that is absent or 0 keeps its value,
//! as with runc, and the device list is never touched. With `--systemd-cgroup`, systemd is
//! told first (its unit's properties), as runc does.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::cgroup::plan::{Plan, Step};
use crate::cgroup::{v1, v2, CgroupFs, Controller};
use crate::oci::config::{Resources, Spec};
use crate::oci::resources::dirs::Dirs;
use crate::oci::resources::Host;
use crate::oci::state::{StateDir, Status};
use crate::{Error, Result};

/// `update ID`: `resources` applied to the container's cgroup.
pub fn update(state: &StateDir, resources: &Resources) -> Result<()> {
    let record = state.load()?;
    if matches!(record.status(state), Status::Stopped | Status::Creating) {
        return Err(Error::Invalid(format!(
            "container '{}' is not running: there is no cgroup to update",
            record.id
        )));
    }
    let fs = CgroupFs::detect()?;
    if let Some(unit) = &record.systemd_unit {
        let v2 = fs.layout == crate::cgroup::Layout::Unified;
        crate::oci::systemd::set_limits(unit, resources, v2)?;
    }
    apply(resources, &record.cgroup_dirs, &fs, &Host::detect()?)
}

/// Writes `resources` into the cgroup `dirs` (one on v2, one per hierarchy on v1), through
/// the translation `create` uses ([`crate::oci::resources::limits`]), minus what an update
/// handles differently: the device list (left alone), the CPU quota and period (each
/// written alone, the other kept), `-1` (no limit), and the order of v1's memory files.
/// `host` says where the controllers beyond chapter 5 are (cpuset, blkio, hugetlb).
pub fn apply(
    resources: &Resources,
    dirs: &[PathBuf],
    fs: &CgroupFs,
    host: &Host,
) -> Result<()> {
    let v2 = fs.layout == crate::cgroup::Layout::Unified;
    let mut rest = resources.clone();
    let cpu = rest.cpu.as_mut().map(|c| (c.quota.take(), c.period.take()));
    let mut limits = crate::oci::resources::limits(&rest)?;
    limits.devices = None;
    // The spec's swap is memory + swap, in bytes; -1 (unlimited) is handled below.
    let swap = rest.memory.as_ref().and_then(|m| m.swap).filter(|s| *s > 0);
    let swap = swap.map(|s| s as u64);
    let dir_of = |c: Controller| -> Option<PathBuf> {
        if v2 {
            return dirs.first().cloned();
        }
        let h = fs.v1_hierarchy(c)?;
        dirs.iter().find(|d| d.starts_with(&h.mount)).cloned()
    };
    let mut steps = if v2 {
        dirs.first()
            .map(|d| v2::limit_files(d, &limits))
            .unwrap_or_default()
    } else {
        v1::limit_files(dir_of, &limits)
    };
    let memory = dir_of(Controller::Memory);
    let wants = |field: Option<i64>| field == Some(-1);
    if let Some(dir) = &memory {
        if wants(resources.memory.as_ref().and_then(|m| m.limit)) {
            steps.extend(unlimited_memory(dir, v2));
        }
        if let (Some(swap), Some(limit)) = (swap, limits.memory) {
            with_swap(&mut steps, swap, limit.bytes());
        }
        if wants(resources.memory.as_ref().and_then(|m| m.swap)) {
            unlimited_swap(&mut steps, dir, v2);
        }
        if !v2 {
            order_v1_memory(&mut steps, dir);
        }
    }
    if wants(resources.pids.as_ref().map(|p| p.limit)) {
        if let Some(dir) = dir_of(Controller::Pids) {
            steps.push(Step::write(dir.join("pids.max"), "max"));
        }
    }
    if let (Some((quota, period)), Some(dir)) = (cpu, dir_of(Controller::Cpu)) {
        steps.extend(cpu_max(
            &dir,
            v2,
            quota.filter(|q| *q != 0),
            period.filter(|p| *p != 0),
        )?);
    }
    // cpuset, blkio, hugetlb, and memory's reservation, swappiness and OOM killer: as at
    // create, in the hierarchies the container joined for them.
    let mut beyond = rest.clone();
    if let Some(m) = beyond.memory.as_mut() {
        // The limit and the swap are written above, as an update keeps them.
        (m.limit, m.swap) = (None, None);
    }
    if asks_beyond_chapter_5(&beyond) {
        let at = Dirs::of(dirs, &host.mounts)?;
        steps.extend(crate::oci::resources::other_steps(&beyond, &at, host)?);
    }
    let plan = Plan {
        dirs: Vec::new(),
        parents: Vec::new(),
        steps,
    };
    plan.execute(&mut |_| Ok(()))
}

/// Whether `r` asks for a controller or a memory knob beyond chapter 5's limits.
fn asks_beyond_chapter_5(r: &Resources) -> bool {
    let memory = r.memory.as_ref().is_some_and(|m| {
        m.reservation.is_some() || m.swappiness.is_some() || m.disable_oom_killer.is_some()
    });
    let cpuset = r
        .cpu
        .as_ref()
        .is_some_and(|c| c.cpus.is_some() || c.mems.is_some());
    memory || cpuset || r.block_io.is_some() || !r.hugepage_limits.is_empty()
}

/// `memory.limit = -1`: no limit (and on v1 no memory + swap limit either, written first:
/// memsw may never be below the memory limit).
fn unlimited_memory(dir: &Path, v2: bool) -> Vec<Step> {
    if v2 {
        return vec![Step::write(dir.join("memory.max"), "max")];
    }
    vec![
        Step::write_if_present(dir.join("memory.memsw.limit_in_bytes"), "-1"),
        Step::write(dir.join("memory.limit_in_bytes"), "-1"),
    ]
}

/// The spec's swap is memory + swap (v1's memsw); v2 counts swap alone.
fn with_swap(steps: &mut [Step], swap: u64, memory: u64) {
    for step in steps {
        if let Step::Write { file, value, .. } = step {
            if file.ends_with("memory.memsw.limit_in_bytes") {
                *value = swap.to_string();
            } else if file.ends_with("memory.swap.max") {
                *value = swap.saturating_sub(memory).to_string();
            }
        }
    }
}

/// `memory.swap = -1`: swap without limit (v1: no memory + swap limit).
fn unlimited_swap(steps: &mut Vec<Step>, dir: &Path, v2: bool) {
    let (file, value) = if v2 {
        ("memory.swap.max", "max")
    } else {
        ("memory.memsw.limit_in_bytes", "-1")
    };
    let file = dir.join(file);
    let mut found = false;
    for step in steps.iter_mut() {
        if let Step::Write {
            file: f, value: v, ..
        } = step
        {
            if *f == file {
                *v = value.to_string();
                found = true;
            }
        }
    }
    if !found {
        steps.push(Step::write_if_present(file, value));
    }
}

/// On v1 the kernel keeps `memory.limit_in_bytes <= memory.memsw.limit_in_bytes` at every
/// write (EINVAL otherwise): a memsw limit that grows is written before the memory limit,
/// one that shrinks after it.
fn order_v1_memory(steps: &mut [Step], dir: &Path) {
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    let current: u64 = std::fs::read_to_string(&memsw)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(u64::MAX);
    let at = |file: &Path| {
        steps
            .iter()
            .position(|s| matches!(s, Step::Write { file: f, .. } if f == file))
    };
    let (Some(sw), Some(mem)) = (at(&memsw), at(&dir.join("memory.limit_in_bytes"))) else {
        return;
    };
    let new = match &steps[sw] {
        Step::Write { value, .. } => value
            .parse::<i64>()
            .map_or(u64::MAX, |v| u64::try_from(v).unwrap_or(u64::MAX)),
        _ => return,
    };
    let grows = new > current;
    if grows != (sw < mem) {
        steps.swap(sw, mem);
    }
}

/// The CPU quota and period, each written only when given, as runc does. On v1 they are
/// two files; v2's `cpu.max` holds both, so the one not given is read back and kept (runc
/// 1.1 writes the default period, or no quota, instead).
fn cpu_max(
    dir: &Path,
    v2: bool,
    quota: Option<i64>,
    period: Option<u64>,
) -> Result<Vec<Step>> {
    if quota.is_none() && period.is_none() {
        return Ok(Vec::new());
    }
    if !v2 {
        let mut steps = Vec::new();
        // The period first, so that the quota is read against it.
        if let Some(p) = period {
            steps.push(Step::write(dir.join("cpu.cfs_period_us"), p.to_string()));
        }
        if let Some(q) = quota {
            steps.push(Step::write(dir.join("cpu.cfs_quota_us"), q.to_string()));
        }
        return Ok(steps);
    }
    let file = dir.join("cpu.max");
    let current = std::fs::read_to_string(&file)
        .map_err(|e| Error::io("reading the CPU limit", &file, e))?;
    let mut parts = current.split_whitespace();
    let (old_quota, old_period) = (
        parts.next().unwrap_or("max").to_string(),
        parts.next().unwrap_or("100000").to_string(),
    );
    let quota = match quota {
        Some(q) if q < 0 => "max".to_string(),
        Some(q) => q.to_string(),
        None => old_quota,
    };
    let period = period.map_or(old_period, |p| p.to_string());
    Ok(vec![Step::write(file, format!("{quota} {period}"))])
}

/// `linux.resources` JSON (an engine's `--resources`), checked as config.json's are.
pub fn parse_resources(text: &str) -> Result<Resources> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Error::Invalid(format!("the resources to update are not JSON: {e}"))
    })?;
    resources_from_value(value)
}

/// Reads the resources JSON from `path`, or from stdin for `-`.
pub fn read_resources(path: &Path) -> Result<Resources> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::io_no_path("reading the resources from stdin", e))?;
    } else {
        text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the resources to update", path, e))?;
    }
    parse_resources(&text)
}

/// Parses `value` as config.json's `linux.resources` and refuses what `create` refuses.
pub fn resources_from_value(value: Value) -> Result<Resources> {
    let spec = json!({"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "linux": {"resources": value}});
    let spec: Spec = serde_json::from_value(spec).map_err(|e| {
        Error::Unsupported(format!(
            "the resources to update: {e}; this runtime refuses what it would otherwise ignore"
        ))
    })?;
    spec.check().map_err(|e| match e {
        Error::Unsupported(msg) => Error::Unsupported(msg.replacen(
            "config.json asks for",
            "the update asks for",
            1,
        )),
        other => other,
    })?;
    Ok(spec.linux.and_then(|l| l.resources).unwrap_or_default())
}

/// A size as runc's flags take it (go-units' RAMInBytes): `134217728`, `128m`, `1g`,
/// `512MiB`; powers of 1024. `-1` is "no limit".
pub fn parse_bytes(text: &str) -> Result<i64> {
    if text.trim() == "-1" {
        return Ok(-1);
    }
    let bad = || {
        Error::Invalid(format!(
            "'{text}' is not a size: write bytes, or a number with k, m, g or t"
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let number: f64 = lower[..digits].parse().map_err(|_| bad())?;
    let unit = lower[digits..].trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(bad()),
    };
    Ok((number * 1024f64.powi(power)) as i64)
}

/// Collects runc's update flags into `linux.resources` JSON: only those given.
#[derive(Debug, Default)]
pub struct Flags {
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpu_rt_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub blkio_weight: Option<u16>,
    pub pids_limit: Option<i64>,
}

impl Flags {
    /// The flags as resources, refused as config.json's would be.
    pub fn resources(&self) -> Result<Resources> {
        let mut memory = serde_json::Map::new();
        for (key, value) in [
            ("limit", &self.memory),
            ("reservation", &self.memory_reservation),
            ("swap", &self.memory_swap),
        ] {
            if let Some(v) = value {
                memory.insert(key.into(), parse_bytes(v)?.into());
            }
        }
        let mut cpu = serde_json::Map::new();
        let mut put = |key: &str, v: Option<Value>| {
            if let Some(v) = v {
                cpu.insert(key.into(), v);
            }
        };
        put("shares", self.cpu_shares.map(Value::from));
        put("quota", self.cpu_quota.map(Value::from));
        put("period", self.cpu_period.map(Value::from));
        put("realtimeRuntime", self.cpu_rt_runtime.map(Value::from));
        put("realtimePeriod", self.cpu_rt_period.map(Value::from));
        put("cpus", self.cpuset_cpus.clone().map(Value::from));
        put("mems", self.cpuset_mems.clone().map(Value::from));
        let mut resources = serde_json::Map::new();
        if !memory.is_empty() {
            resources.insert("memory".into(), memory.into());
        }
        if !cpu.is_empty() {
            resources.insert("cpu".into(), cpu.into());
        }
        if let Some(w) = self.blkio_weight {
            resources.insert("blockIO".into(), json!({ "weight": w }));
        }
        if let Some(limit) = self.pids_limit {
            resources.insert("pids".into(), json!({ "limit": limit }));
        }
        resources_from_value(resources.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::layout::{Layout, V1Hierarchy};
    use crate::cgroup::Limits;

    /// A host with nothing beyond chapter 5's controllers: these updates need none.
    fn no_more() -> Host {
        Host {
            mounts: Vec::new(),
            page_sizes: Vec::new(),
            bfq: false,
        }
    }

    #[test]
    fn sizes_as_runc_takes_them() {
        assert_eq!(parse_bytes("134217728").unwrap(), 134_217_728);
        assert_eq!(parse_bytes("128m").unwrap(), 128 << 20);
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn what_create_refuses_update_refuses_by_name() {
        let err = parse_resources(r#"{"cpu": {"realtimeRuntime": 5}}"#).unwrap_err();
        assert!(err.to_string().contains("the update asks for"), "{err}");
        let err = parse_resources(r#"{"nonsense": 1}"#).unwrap_err();
        assert!(err.to_string().contains("nonsense"), "{err}");
        let r = parse_resources(r#"{"pids": {"limit": 5}}"#).unwrap();
        assert_eq!(r.pids.map(|p| p.limit), Some(5));
    }

    fn fake(layout: Layout) -> (tempfile::TempDir, CgroupFs, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        let mut v1 = Vec::new();
        for c in [Controller::Memory, Controller::Cpu, Controller::Pids] {
            let mount = dir.path().join(c.name());
            let d = mount.join("ctr");
            std::fs::create_dir_all(&d).unwrap();
            v1.push(V1Hierarchy {
                controllers: vec![c],
                mount,
                own: PathBuf::from("/"),
            });
            dirs.push(d);
        }
        let fs = CgroupFs {
            layout,
            unified: None,
            v1,
        };
        (dir, fs, dirs)
    }

    #[test]
    fn v1_raising_memory_writes_memsw_first_and_cpu_writes_only_what_is_given() {
        let (_dir, fs, dirs) = fake(Layout::Hybrid);
        let mem = &dirs[0];
        let files = [
            ("memory.limit_in_bytes", "67108864"),
            ("memory.memsw.limit_in_bytes", "67108864"),
        ];
        for (f, v) in files {
            std::fs::write(mem.join(f), v).unwrap();
        }
        for f in ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares"] {
            std::fs::write(dirs[1].join(f), "").unwrap();
        }
        std::fs::write(dirs[2].join("pids.max"), "").unwrap();
        let r = parse_resources(r#"{"memory": {"limit": 134217728}, "cpu": {"quota": 25000}, "pids": {"limit": -1}}"#)
            .unwrap();
        // The fake files take any order; the plan's order is what the kernel would judge.
        let rest = Resources {
            cpu: None,
            ..r.clone()
        };
        let limits: Limits = crate::oci::resources::limits(&rest).unwrap();
        let mut steps = v1::limit_files(|_| Some(mem.clone()), &limits);
        order_v1_memory(&mut steps, mem);
        let first = steps.iter().find_map(|s| match s {
            Step::Write { file, .. } => file.file_name().map(|n| n.to_os_string()),
            _ => None,
        });
        assert_eq!(first.unwrap(), "memory.memsw.limit_in_bytes");
        apply(&r, &dirs, &fs, &no_more()).unwrap();
        let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read(mem, "memory.limit_in_bytes"), "134217728");
        assert_eq!(read(&dirs[1], "cpu.cfs_quota_us"), "25000");
        assert_eq!(read(&dirs[1], "cpu.cfs_period_us"), "");
        assert_eq!(read(&dirs[2], "pids.max"), "max");
    }

    #[test]
    fn v2_writes_one_directory_and_minus_one_means_max() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("ctr");
        std::fs::create_dir(&d).unwrap();
        for (f, v) in [
            ("memory.max", "67108864\n"),
            ("memory.swap.max", "0\n"),
            ("pids.max", "32\n"),
            ("cpu.max", "50000 100000\n"),
        ] {
            std::fs::write(d.join(f), v).unwrap();
        }
        let fs = CgroupFs {
            layout: Layout::Unified,
            unified: Some((dir.path().to_path_buf(), PathBuf::from("/"))),
            v1: Vec::new(),
        };
        let r = parse_resources(
            r#"{"memory": {"limit": 134217728, "swap": -1}, "cpu": {"quota": 150000}, "pids": {"limit": -1}}"#,
        )
        .unwrap();
        apply(&r, std::slice::from_ref(&d), &fs, &no_more()).unwrap();
        // The fake files keep what followed the new bytes; the kernel's would not.
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert!(read("memory.max").starts_with("134217728"));
        assert!(read("memory.swap.max").starts_with("max"));
        assert!(read("pids.max").starts_with("max"));
        assert!(read("cpu.max").starts_with("150000 100000"));
    }

    #[test]
    fn v2_cpu_max_keeps_the_part_not_given() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("cpu.max"), "50000 100000\n").unwrap();
        let steps = cpu_max(d, true, None, Some(200000)).unwrap();
        assert_eq!(steps, vec![Step::write(d.join("cpu.max"), "50000 200000")]);
        let steps = cpu_max(d, true, Some(-1), None).unwrap();
        assert_eq!(steps, vec![Step::write(d.join("cpu.max"), "max 100000")]);
    }
}
