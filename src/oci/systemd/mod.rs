//! `--systemd-cgroup`: the container's cgroup as a systemd scope, as runc's systemd driver
//! makes it.
//!
//! On a systemd machine, systemd owns the cgroup tree: a directory that another made
//! below a slice is, to systemd, nobody's, and a later `daemon-reload` may move or limit
//! what is in it. So the engine asks systemd to make the cgroup: `linux.cgroupsPath` is
//! `slice:prefix:name`, and the runtime starts the transient unit `prefix-name.scope` in
//! `slice` holding the container's init (D-Bus `StartTransientUnit`), with `Delegate=yes`
//! (the cgroup below is the container's own) and the limits as unit properties. Then it
//! writes the cgroup files itself too, as with the cgroupfs driver: systemd's properties
//! do not cover every OCI field, and on cgroup v1 systemd opens the device list of a scope
//! that has none of its own. `delete` stops the unit.

pub mod dbus;

use std::path::PathBuf;

use super::config::Resources;
use crate::{Error, Result};
use dbus::{Bus, Call, Value};

/// The scope of one container: its unit name, its slice and what systemd is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub unit: String,
    pub slice: String,
    /// The cgroup path systemd gives the scope, from the root of each hierarchy.
    pub path: PathBuf,
}

/// The `slice:prefix:name` of container `id`: config.json's, or when it gives none (or an
/// empty one) the scope runc would make, with this runtime's prefix.
pub fn cgroups_path(asked: Option<String>, id: &str) -> String {
    asked
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| format!("system.slice:workbook:{id}"))
}

/// Parses `slice:prefix:name` (runc's format; an empty slice is `system.slice`).
pub fn scope_of(cgroups_path: &str) -> Result<Scope> {
    let parts: Vec<&str> = cgroups_path.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(Error::Invalid(format!(
            "linux.cgroupsPath '{cgroups_path}' is not of the form slice:prefix:name that --systemd-cgroup needs (e.g. system.slice:podman:ID)"
        )));
    };
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let unit = if name.ends_with(".slice") || prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    };
    if name.is_empty() || name.contains('/') || unit.ends_with(".slice") {
        return Err(Error::Unsupported(format!(
            "linux.cgroupsPath '{cgroups_path}': only a scope (slice:prefix:name, a name that is no slice) is supported"
        )));
    }
    let path = slice_path(slice)?.join(&unit);
    Ok(Scope {
        unit,
        slice: slice.to_string(),
        path,
    })
}

/// The cgroup path of a slice: each dash opens a level, so `a-b-c.slice` lives in
/// `/a.slice/a-b.slice/a-b-c.slice` (systemd.slice(5)); `-.slice` is the root.
pub fn slice_path(slice: &str) -> Result<PathBuf> {
    let bad = || {
        Error::Invalid(format!(
            "'{slice}' is not a systemd slice name (NAME.slice, no '/', no empty part between dashes)"
        ))
    };
    if slice == "-.slice" {
        return Ok(PathBuf::from("/"));
    }
    let stem = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if stem.is_empty() || stem.contains('/') {
        return Err(bad());
    }
    let mut path = PathBuf::from("/");
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(bad());
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

fn prop(name: &str, v: Value) -> Value {
    Value::Struct(vec![Value::Str(name.into()), Value::Variant(Box::new(v))])
}

/// The unit properties of the scope holding `pid` with `resources`, as runc sends them
/// (v1 names where the machine has cgroup v1: MemoryLimit, CPUShares).
pub fn properties(scope: &Scope, pid: u32, r: &Resources, v2: bool) -> Vec<Value> {
    let mut p = vec![
        prop(
            "Description",
            Value::Str(format!("workbook container {}", scope.unit)),
        ),
        prop("Slice", Value::Str(scope.slice.clone())),
        prop("Delegate", Value::Bool(true)),
        prop("PIDs", Value::Array("u".into(), vec![Value::U32(pid)])),
        // Without it the scope would be ordered after basic.target and stopped at shutdown
        // before the engine could stop the container itself.
        prop("DefaultDependencies", Value::Bool(false)),
        prop("MemoryAccounting", Value::Bool(true)),
        prop("CPUAccounting", Value::Bool(true)),
        prop("TasksAccounting", Value::Bool(true)),
    ];
    p.extend(limits(r, v2));
    p
}

/// systemd's "infinity" for a limit: what the spec's -1 (no limit) becomes.
const INFINITY: u64 = u64::MAX;

/// The unit properties of the limits in `r` (what `update` sends, alone).
fn limits(r: &Resources, v2: bool) -> Vec<Value> {
    let mut p = Vec::new();
    let limit = |l: i64| {
        (l == -1)
            .then_some(INFINITY)
            .or((l > 0).then_some(l as u64))
    };
    if let Some(limit) = r.memory.as_ref().and_then(|m| m.limit).and_then(limit) {
        let name = if v2 { "MemoryMax" } else { "MemoryLimit" };
        p.push(prop(name, Value::U64(limit)));
        if !v2 {
            // systemd shows MemoryMax= on v1 too, and applies it when MemoryLimit= is unset.
            p.push(prop("MemoryMax", Value::U64(limit)));
        }
    }
    if let Some(cpu) = &r.cpu {
        if let Some(shares) = cpu.shares.filter(|s| *s > 0) {
            if v2 {
                let weight = crate::cgroup::CpuWeight::from_shares(shares);
                p.push(prop("CPUWeight", Value::U64(u64::from(weight.weight()))));
            } else {
                p.push(prop("CPUShares", Value::U64(shares)));
            }
        }
        if let Some(quota) = cpu.quota.filter(|q| *q > 0) {
            let period = cpu.period.unwrap_or(crate::cgroup::limits::CPU_PERIOD_US);
            // systemd keeps the quota per second in steps of 10ms: rounded up, as runc
            // does, so that the container gets at least what it asked for.
            let per_sec = quota as u64 * 1_000_000 / period;
            let per_sec = per_sec.div_ceil(10_000) * 10_000;
            p.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
            p.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
        }
    }
    if let Some(tasks) = r.pids.as_ref().and_then(|p| limit(p.limit)) {
        p.push(prop("TasksMax", Value::U64(tasks)));
    }
    p
}

const SYSTEMD: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

fn manager_call(member: &'static str, args: Vec<Value>) -> Call<'static> {
    Call {
        destination: SYSTEMD,
        path: MANAGER_PATH,
        interface: MANAGER,
        member,
        args,
    }
}

/// Runs a job-returning manager call (`StartTransientUnit`, `StopUnit`) and waits for its
/// `JobRemoved` signal: the call returns when the job is queued, the cgroup exists only
/// once it is done. Returns the job's result (`done`, `failed`…).
fn run_job(bus: &mut Bus, call: &Call) -> Result<String> {
    // systemd sends its signals only to clients that subscribed, and the bus delivers a
    // signal only to those whose match rule asks for it.
    bus.call(&manager_call("Subscribe", vec![]))?;
    bus.call(&Call {
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "AddMatch",
        args: vec![Value::Str(format!(
            "type='signal',sender='{SYSTEMD}',interface='{MANAGER}',member='JobRemoved'"
        ))],
    })?;
    let mut signals = Vec::new();
    let reply = bus.call_keeping(call, &mut signals)?;
    let job = reply.body().string()?;
    loop {
        for s in signals.drain(..) {
            if s.member.as_deref() == Some("JobRemoved") && s.signature == "uoss" {
                let mut r = s.body();
                let _id = r.u32()?;
                let path = r.string()?;
                let _unit = r.string()?;
                let result = r.string()?;
                if path == job {
                    return Ok(result);
                }
            }
        }
        let m = bus.read()?;
        if m.kind == 4 {
            signals.push(m);
        }
    }
}

/// Starts the scope holding `pid` and waits until systemd has made it.
pub fn start(scope: &Scope, pid: i32, resources: &Resources, v2: bool) -> Result<()> {
    let mut bus = Bus::system(dbus::SYSTEM_BUS)?;
    let pid = u32::try_from(pid).map_err(|_| Error::Invalid(format!("bad pid {pid}")))?;
    let call = manager_call(
        "StartTransientUnit",
        vec![
            Value::Str(scope.unit.clone()),
            Value::Str("replace".into()),
            Value::Array("(sv)".into(), properties(scope, pid, resources, v2)),
            Value::Array("(sa(sv))".into(), vec![]),
        ],
    );
    let result = run_job(&mut bus, &call)?;
    if result != "done" {
        return Err(Error::Invalid(format!(
            "systemd did not start the unit {}: its job ended '{result}' (journalctl -u {} says why)",
            scope.unit, scope.unit
        )));
    }
    Ok(())
}

/// Tells systemd the new limits of `unit` (`update`), as runc does before it writes the
/// cgroup files: systemd writes a unit's properties into its cgroup again whenever it
/// reloads, and would put the old limits back.
pub fn set_limits(unit: &str, resources: &Resources, v2: bool) -> Result<()> {
    let limits = limits(resources, v2);
    if limits.is_empty() {
        return Ok(());
    }
    let mut bus = Bus::system(dbus::SYSTEM_BUS)?;
    let call = manager_call(
        "SetUnitProperties",
        vec![
            Value::Str(unit.into()),
            // runtime: the change lasts until the unit goes, as the transient unit itself.
            Value::Bool(true),
            Value::Array("(sv)".into(), limits),
        ],
    );
    bus.call(&call).map(drop)
}

/// Stops the unit `unit` and waits until it is gone; a unit already gone is no error
/// (a scope stops by itself once its cgroup is empty).
pub fn stop(unit: &str) -> Result<()> {
    let mut bus = Bus::system(dbus::SYSTEM_BUS)?;
    let call = manager_call(
        "StopUnit",
        vec![Value::Str(unit.into()), Value::Str("replace".into())],
    );
    match run_job(&mut bus, &call) {
        Ok(_) => Ok(()),
        Err(Error::Invalid(text)) if text.contains("NoSuchUnit") => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_to_their_parents() {
        assert_eq!(
            slice_path("system.slice").unwrap(),
            PathBuf::from("/system.slice")
        );
        assert_eq!(
            slice_path("kubepods-burstable-pod12.slice").unwrap(),
            PathBuf::from(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice"
            )
        );
        assert_eq!(slice_path("-.slice").unwrap(), PathBuf::from("/"));
        assert!(slice_path("a--b.slice").is_err());
        assert!(slice_path("system").is_err());
    }

    #[test]
    fn limits_become_unit_properties() {
        let r: Resources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1048576},
            "cpu": {"quota": 12345, "period": 100000, "shares": 2048},
            "pids": {"limit": 50}
        }))
        .unwrap();
        let scope = scope_of("system.slice:wb:c").unwrap();
        let find = |p: &[Value], name: &str| {
            p.iter().find_map(|v| match v {
                Value::Struct(f) if f[0] == Value::Str(name.into()) => Some(f[1].clone()),
                _ => None,
            })
        };
        let t = |n: u64| Some(Value::Variant(Box::new(Value::U64(n))));
        let v2 = properties(&scope, 7, &r, true);
        assert_eq!(find(&v2, "MemoryMax"), t(1048576));
        assert_eq!(find(&v2, "MemoryLimit"), None);
        // 12345/100000 of a CPU is 123450us per second, kept by systemd as 130ms.
        assert_eq!(find(&v2, "CPUQuotaPerSecUSec"), t(130_000));
        assert_eq!(find(&v2, "CPUWeight"), t(200));
        assert_eq!(find(&v2, "TasksMax"), t(50));
        let v1 = properties(&scope, 7, &r, false);
        assert_eq!(find(&v1, "MemoryLimit"), t(1048576));
        assert_eq!(find(&v1, "CPUShares"), t(2048));
        let pids = Value::Array("u".into(), vec![Value::U32(7)]);
        assert_eq!(find(&v1, "PIDs"), Some(Value::Variant(Box::new(pids))));
        // -1 is no limit: systemd's infinity. An update sends the limits alone.
        let r: Resources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": -1}, "pids": {"limit": -1}
        }))
        .unwrap();
        let sent = limits(&r, true);
        assert_eq!(find(&sent, "MemoryMax"), t(u64::MAX));
        assert_eq!(find(&sent, "TasksMax"), t(u64::MAX));
        assert_eq!(find(&sent, "Delegate"), None);
    }

    #[test]
    fn scope_from_cgroups_path() {
        let s = scope_of("system.slice:workbook:ctr").unwrap();
        assert_eq!(s.unit, "workbook-ctr.scope");
        assert_eq!(s.path, PathBuf::from("/system.slice/workbook-ctr.scope"));
        let default = scope_of(&cgroups_path(None, "c1")).unwrap();
        assert_eq!(default.unit, "workbook-c1.scope");
        let s = scope_of(":libpod:abc").unwrap();
        assert_eq!(s.slice, "system.slice");
        assert!(scope_of("/a/b").is_err());
        assert!(scope_of("system.slice:x:y.slice").is_err());
    }
}
