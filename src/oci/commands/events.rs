//! `events ID`: what the container's cgroup counted, as runc prints it: one JSON object a
//! line, `{"type":"stats","id":…,"data":{"cpu":…,"memory":…,"pids":…,…}}`, once with
//! `--stats`, otherwise every `--interval` until the container stops, with an
//! `{"type":"oom","id":…}` line when the kernel's OOM killer struck in the cgroup.
//!
//! Every figure comes from a cgroup file; v1 spreads them over its hierarchies (cpuacct,
//! cpu, memory, pids, blkio, cpuset, hugetlb), v2 keeps them in one directory. A file the
//! kernel does not offer leaves its figure out, as runc does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::cgroup::usage::read_flat_keyed;
use crate::oci::state::{Record, StateDir, Status};
use crate::{Error, Result};

/// The one line of `events --stats`.
pub fn stats_event(state: &StateDir) -> Result<Value> {
    let record = running(state)?;
    Ok(event("stats", &record.id, Some(stats(&record))))
}

/// `events` without `--stats`: a stats line every `interval` (and an oom line when the
/// OOM killer's count grows), written by `emit`, until the container stops.
pub fn watch(
    state: &StateDir,
    interval: Duration,
    emit: &mut dyn FnMut(&Value) -> Result<()>,
) -> Result<()> {
    let record = running(state)?;
    let mut ooms = oom_kills(&record);
    // Stopped or paused checks and the OOM count are read this often; the stats at
    // `interval`.
    let tick = interval.min(Duration::from_millis(100));
    let mut waited = Duration::ZERO;
    loop {
        if !record.init_alive() || !state.dir.exists() {
            return Ok(());
        }
        let now = oom_kills(&record);
        if now > ooms {
            ooms = now;
            emit(&event("oom", &record.id, None))?;
        }
        if waited >= interval {
            waited = Duration::ZERO;
            emit(&event("stats", &record.id, Some(stats(&record))))?;
        }
        std::thread::sleep(tick);
        waited += tick;
    }
}

/// The record of a container that has not stopped (runc's words otherwise).
fn running(state: &StateDir) -> Result<Record> {
    let record = state.load()?;
    if matches!(record.status(state), Status::Stopped | Status::Creating) {
        return Err(Error::Invalid(format!(
            "container with id {} is not running",
            record.id
        )));
    }
    Ok(record)
}

fn event(kind: &str, id: &str, data: Option<Value>) -> Value {
    let mut v = json!({"type": kind, "id": id});
    if let Some(data) = data {
        v["data"] = data;
    }
    v
}

fn oom_kills(record: &Record) -> u64 {
    let file = if record.cgroup_v2 {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    find(record, file)
        .and_then(|f| read_flat_keyed(&f, "oom_kill"))
        .unwrap_or(0)
}

/// The directory among the container's that has `file`: on v1, the hierarchy of the
/// controller the file belongs to.
fn find(record: &Record, file: &str) -> Option<PathBuf> {
    record
        .cgroup_dirs
        .iter()
        .map(|d| d.join(file))
        .find(|f| f.exists())
}

fn read(file: &Path) -> Option<String> {
    std::fs::read_to_string(file).ok()
}

/// A number file; `max` (or v1's page-counter maximum) is runc's `u64::MAX`-ish figure as
/// the kernel writes it, kept as is on v1 and `u64::MAX` on v2.
fn number(file: &Path) -> Option<u64> {
    let text = read(file)?;
    let text = text.trim();
    if text == "max" {
        return Some(u64::MAX);
    }
    text.parse().ok()
}

/// Inserts `value` under `key` unless it is zero, as Go's `omitempty` does.
fn put_nonzero(map: &mut Map<String, Value>, key: &str, value: Option<u64>) {
    if let Some(v) = value.filter(|v| *v != 0) {
        map.insert(key.into(), v.into());
    }
}

/// The `data` object of a stats event.
pub fn stats(record: &Record) -> Value {
    let at = |file: &str| find(record, file);
    json!({
        "cpu": cpu(record, &at),
        "cpuset": cpuset(&at),
        "memory": memory(record, &at),
        "pids": pids(&at),
        "blkio": blkio(record, &at),
        "hugetlb": hugetlb(record),
        "intel_rdt": {},
        "network_interfaces": null,
    })
}

fn cpu(record: &Record, at: &dyn Fn(&str) -> Option<PathBuf>) -> Value {
    let mut usage = Map::new();
    let mut throttling = Map::new();
    let stat = |key: &str| at("cpu.stat").and_then(|f| read_flat_keyed(&f, key));
    if record.cgroup_v2 {
        // v2 counts in microseconds; runc reports nanoseconds.
        let ns = |key: &str| stat(key).map(|us| us * 1000);
        put_nonzero(&mut usage, "total", ns("usage_usec"));
        usage.insert("kernel".into(), ns("system_usec").unwrap_or(0).into());
        usage.insert("user".into(), ns("user_usec").unwrap_or(0).into());
        put_nonzero(&mut throttling, "throttledTime", ns("throttled_usec"));
    } else {
        put_nonzero(
            &mut usage,
            "total",
            at("cpuacct.usage").and_then(|f| number(&f)),
        );
        if let Some(text) = at("cpuacct.usage_percpu").and_then(|f| read(&f)) {
            let per: Vec<u64> = text
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            usage.insert("percpu".into(), per.into());
        }
        if let Some(text) = at("cpuacct.usage_all").and_then(|f| read(&f)) {
            // "cpu user system" then one line per CPU, in nanoseconds.
            let rows: Vec<Vec<u64>> = text
                .lines()
                .skip(1)
                .map(|l| {
                    l.split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect()
                })
                .filter(|r: &Vec<u64>| r.len() == 3)
                .collect();
            let column = |i: usize| rows.iter().map(|r| r[i]).collect::<Vec<u64>>();
            usage.insert("percpu_kernel".into(), column(2).into());
            usage.insert("percpu_user".into(), column(1).into());
        }
        // cpuacct.stat counts in clock ticks (USER_HZ).
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|h| *h > 0)
            .unwrap_or(100) as u64;
        let ticks = |key: &str| {
            at("cpuacct.stat")
                .and_then(|f| read_flat_keyed(&f, key))
                .map(|t| t * 1_000_000_000 / hz)
                .unwrap_or(0)
        };
        usage.insert("kernel".into(), ticks("system").into());
        usage.insert("user".into(), ticks("user").into());
        put_nonzero(&mut throttling, "throttledTime", stat("throttled_time"));
    }
    put_nonzero(&mut throttling, "periods", stat("nr_periods"));
    put_nonzero(&mut throttling, "throttledPeriods", stat("nr_throttled"));
    json!({"usage": usage, "throttling": throttling})
}

/// A cpuset list (`0-2,4`) as numbers.
fn cpu_list(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>()) {
            out.extend(a..=b);
        }
    }
    out
}

fn cpuset(at: &dyn Fn(&str) -> Option<PathBuf>) -> Value {
    let mut map = Map::new();
    for (key, file) in [("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")] {
        if let Some(text) = at(file).and_then(|f| read(&f)) {
            map.insert(key.into(), cpu_list(&text).into());
        }
    }
    // v1's flags, one number a file; runc prints them (as 0) where there are none.
    for flag in [
        "cpu_exclusive",
        "mem_hardwall",
        "mem_exclusive",
        "memory_migrate",
        "memory_spread_page",
        "memory_spread_slab",
        "memory_pressure",
        "sched_load_balance",
        "sched_relax_domain_level",
    ] {
        let value = at(&format!("cpuset.{flag}"))
            .and_then(|f| read(&f))
            .and_then(|t| t.trim().parse::<i64>().ok());
        map.insert(flag.into(), value.unwrap_or(0).into());
    }
    Value::Object(map)
}

/// runc's memory entry: `limit`, `usage`, `max`, `failcnt` of one v1 prefix
/// (`memory`, `memory.memsw`, `memory.kmem`, `memory.kmem.tcp`).
fn v1_entry(at: &dyn Fn(&str) -> Option<PathBuf>, prefix: &str) -> Value {
    let n = |name: &str| at(&format!("{prefix}.{name}")).and_then(|f| number(&f));
    let mut map = Map::new();
    map.insert("limit".into(), n("limit_in_bytes").unwrap_or(0).into());
    put_nonzero(&mut map, "usage", n("usage_in_bytes"));
    put_nonzero(&mut map, "max", n("max_usage_in_bytes"));
    map.insert("failcnt".into(), n("failcnt").unwrap_or(0).into());
    Value::Object(map)
}

fn memory(record: &Record, at: &dyn Fn(&str) -> Option<PathBuf>) -> Value {
    let raw: Map<String, Value> = at("memory.stat")
        .and_then(|f| read(&f))
        .map(|text| {
            text.lines()
                .filter_map(|l| l.split_once(' '))
                .filter_map(|(k, v)| {
                    Some((k.to_string(), v.trim().parse::<u64>().ok()?.into()))
                })
                .collect()
        })
        .unwrap_or_default();
    let stat = |key: &str| raw.get(key).and_then(Value::as_u64).unwrap_or(0);
    if record.cgroup_v2 {
        let n = |file: &str| at(file).and_then(|f| number(&f));
        let limit = n("memory.max").unwrap_or(0);
        let usage = n("memory.current").unwrap_or(0);
        // v1 counted swap as memory + swap; runc reports v2's the same way.
        let swap_limit = n("memory.swap.max").map_or(0, |s| s.saturating_add(limit));
        let swap_usage = n("memory.swap.current").unwrap_or(0) + usage;
        let failcnt = at("memory.events").and_then(|f| read_flat_keyed(&f, "max"));
        json!({
            "cache": stat("file"),
            "usage": {"limit": limit, "usage": usage, "max": n("memory.peak").unwrap_or(0), "failcnt": failcnt.unwrap_or(0)},
            "swap": {"limit": swap_limit, "usage": swap_usage, "failcnt": 0},
            "kernel": {"limit": 0, "usage": stat("kernel"), "failcnt": 0},
            "kernelTCP": {"limit": 0, "usage": stat("sock"), "failcnt": 0},
            "raw": raw,
        })
    } else {
        json!({
            "cache": stat("cache"),
            "usage": v1_entry(at, "memory"),
            "swap": v1_entry(at, "memory.memsw"),
            "kernel": v1_entry(at, "memory.kmem"),
            "kernelTCP": v1_entry(at, "memory.kmem.tcp"),
            "raw": raw,
        })
    }
}

fn pids(at: &dyn Fn(&str) -> Option<PathBuf>) -> Value {
    let mut map = Map::new();
    put_nonzero(
        &mut map,
        "current",
        at("pids.current").and_then(|f| number(&f)),
    );
    // "max" (no limit) is runc's 0, left out.
    let limit = at("pids.max")
        .and_then(|f| number(&f))
        .filter(|l| *l != u64::MAX);
    put_nonzero(&mut map, "limit", limit);
    Value::Object(map)
}

/// One blkio entry per device and operation.
fn blkio_entry(device: &str, op: &str, value: u64) -> Option<Value> {
    let (major, minor) = device.split_once(':')?;
    Some(json!({
        "major": major.parse::<u64>().ok()?,
        "minor": minor.parse::<u64>().ok()?,
        "op": op,
        "value": value,
    }))
}

fn blkio(record: &Record, at: &dyn Fn(&str) -> Option<PathBuf>) -> Value {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    if record.cgroup_v2 {
        // io.stat: "8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…".
        for line in at("io.stat")
            .and_then(|f| read(&f))
            .unwrap_or_default()
            .lines()
        {
            let mut fields = line.split_whitespace();
            let Some(device) = fields.next() else {
                continue;
            };
            for field in fields {
                let Some((key, value)) = field.split_once('=') else {
                    continue;
                };
                let value = value.parse().unwrap_or(0);
                let (list, op) = match key {
                    "rbytes" => (&mut bytes, "Read"),
                    "wbytes" => (&mut bytes, "Write"),
                    "rios" => (&mut ios, "Read"),
                    "wios" => (&mut ios, "Write"),
                    _ => continue,
                };
                list.extend(blkio_entry(device, op, value));
            }
        }
    } else {
        for (list, file) in [
            (&mut bytes, "blkio.throttle.io_service_bytes_recursive"),
            (&mut ios, "blkio.throttle.io_serviced_recursive"),
        ] {
            // "8:0 Read 4096" lines, then "Total N".
            for line in at(file).and_then(|f| read(&f)).unwrap_or_default().lines() {
                let parts: Vec<&str> = line.split_whitespace().collect();
                if let [device, op, value] = parts[..] {
                    list.extend(blkio_entry(device, op, value.parse().unwrap_or(0)));
                }
            }
        }
    }
    let mut map = Map::new();
    if !bytes.is_empty() {
        map.insert("ioServiceBytesRecursive".into(), bytes.into());
    }
    if !ios.is_empty() {
        map.insert("ioServicedRecursive".into(), ios.into());
    }
    Value::Object(map)
}

/// Per huge page size (`2MB`, `1GB`): usage, the most used, and how often the limit
/// refused a page.
fn hugetlb(record: &Record) -> Value {
    let mut map = Map::new();
    let (usage, max, fail) = if record.cgroup_v2 {
        ("current", None, "events")
    } else {
        ("usage_in_bytes", Some("max_usage_in_bytes"), "failcnt")
    };
    for dir in &record.cgroup_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(size) = name
                .strip_prefix("hugetlb.")
                .and_then(|r| r.strip_suffix(&format!(".{usage}")))
                .filter(|s| !s.contains('.'))
            else {
                continue;
            };
            let file = |f: &str| dir.join(format!("hugetlb.{size}.{f}"));
            let failcnt = if record.cgroup_v2 {
                read_flat_keyed(&file(fail), "max")
            } else {
                number(&file(fail))
            };
            let mut e = Map::new();
            put_nonzero(&mut e, "usage", number(&entry.path()));
            put_nonzero(&mut e, "max", max.and_then(|m| number(&file(m))));
            e.insert("failcnt".into(), failcnt.unwrap_or(0).into());
            map.insert(size.to_string(), Value::Object(e));
        }
    }
    Value::Object(map)
}

/// A Go duration, as runc's `--interval` takes it: `5s`, `200ms`, `1m30s`, `1.5s`.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::Invalid(format!(
            "--interval '{text}' is not a duration: write a number and a unit, such as 5s or 200ms"
        ))
    };
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * seconds;
        rest = &rest[unit_len..];
    }
    if total <= 0.0 {
        return Err(Error::Invalid(
            "duration interval must be greater than 0".into(),
        ));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list("0-2,5\n"), vec![0, 1, 2, 5]);
        assert_eq!(cpu_list("\n"), Vec::<u64>::new());
    }

    fn record(dirs: Vec<PathBuf>, v2: bool) -> Record {
        serde_json::from_value(json!({
            "id": "c", "bundle": "/b", "rootfs": "/b/rootfs", "pid": null, "pid_start": null,
            "created": "", "creating": false, "cgroup_dirs": dirs, "cgroup_v2": v2
        }))
        .unwrap()
    }

    #[test]
    fn v2_stats_come_from_one_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let files = [
            ("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n"),
            ("memory.max", "67108864\n"),
            ("memory.current", "4096\n"),
            ("memory.stat", "anon 4096\nfile 0\n"),
            ("pids.current", "2\n"),
            ("pids.max", "max\n"),
            ("io.stat", "8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"),
        ];
        for (name, text) in files {
            std::fs::write(d.join(name), text).unwrap();
        }
        let s = stats(&record(vec![d.to_path_buf()], true));
        assert_eq!(s["cpu"]["usage"]["total"], 1_500_000);
        assert_eq!(s["cpu"]["usage"]["kernel"], 500_000);
        assert_eq!(s["cpu"]["throttling"]["throttledPeriods"], 1);
        assert_eq!(s["memory"]["usage"]["limit"], 67108864);
        assert_eq!(s["memory"]["raw"]["anon"], 4096);
        assert_eq!(s["pids"], json!({"current": 2}));
        assert_eq!(s["blkio"]["ioServiceBytesRecursive"][0]["value"], 512);
        assert_eq!(s["blkio"]["ioServicedRecursive"][0]["op"], "Read");
    }
}
