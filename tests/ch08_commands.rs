//! Privileged: the commands engines call on a running container, beyond its life cycle:
//! `pause`/`resume` (the freezer), `update` (the limit files rewritten), `ps` (the pids of
//! the cgroup), `events --stats` (what the cgroup counted), and the v1 hierarchies the
//! container joins. Each scenario runs with the runtime under test and with runc, side by
//! side, and the test reads what the kernel shows: the freezer's state, a counter the
//! container's process writes, the cgroup's files, /proc/PID/cgroup.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::oci_bundle::{cgroup_parent, Bundle};
use common::oci_config::runc_spec;
use common::wait_until;
use serde_json::{json, Value};
use serial_test::serial;

const RUNC: &str = "/usr/sbin/runc";

/// A shell loop that writes a growing count to /tmp/count every 10 ms.
const COUNTING: &str =
    "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; usleep 10000; done";

/// A bundle for the runtime under test (`runc: false`) or runc, with the config of
/// `runc spec` trimmed to the test's needs and a cgroupsPath of the test's own.
fn bundle(runc: bool, id: &str, args: &[&str]) -> Bundle {
    let mut bundle = Bundle::busybox();
    if runc {
        assert!(
            Path::new(RUNC).exists(),
            "runc is not installed: apt-get install runc"
        );
        bundle.use_runtime(PathBuf::from(RUNC));
    }
    let mut config = runc_spec(args, &format!("/{}/{id}", cgroup_parent()));
    config["linux"]["resources"] = json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 67108864},
        "cpu": {"quota": 50000, "period": 100000},
        "pids": {"limit": 32}
    });
    bundle.write_config(&config);
    bundle
}

/// Creates and starts `id`; returns its init's pid.
fn started(bundle: &mut Bundle, id: &str) -> i32 {
    let pid = bundle.create(id);
    bundle.ok(&["start", id]);
    pid
}

fn which(runc: bool) -> &'static str {
    if runc {
        "runc"
    } else {
        "08-oci-runtime"
    }
}

/// The file of process `pid`'s cgroup: `v1_file` in the hierarchy that carries
/// `controller`, or `v2_file` on a unified host.
fn cgroup_file(pid: i32, controller: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let unified = !Path::new("/sys/fs/cgroup/memory").exists();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, names, path) = (parts.next(), parts.next(), parts.next());
        let (Some(names), Some(path)) = (names, path) else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if !unified && names.split(',').any(|c| c == controller) {
            return Path::new("/sys/fs/cgroup")
                .join(names)
                .join(path)
                .join(v1_file);
        }
        if unified && names.is_empty() {
            return Path::new("/sys/fs/cgroup").join(path).join(v2_file);
        }
    }
    panic!("process {pid} has no {controller} cgroup:\n{text}");
}

fn read(file: &Path) -> String {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()))
        .trim()
        .to_string()
}

/// What the container's counting loop wrote last.
fn count(bundle: &Bundle) -> u64 {
    std::fs::read_to_string(bundle.rootfs().join("tmp/count"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// The freezer's word for the cgroup of `pid`: v1's `freezer.state`, or v2's
/// `cgroup.freeze` and the `frozen` line of `cgroup.events`.
fn freezer(pid: i32) -> String {
    let file = cgroup_file(pid, "freezer", "freezer.state", "cgroup.freeze");
    let value = read(&file);
    if file.ends_with("cgroup.freeze") {
        let events = read(&file.with_file_name("cgroup.events"));
        let frozen = events
            .lines()
            .find(|l| l.starts_with("frozen "))
            .unwrap_or("");
        return format!("cgroup.freeze {value}, {frozen}");
    }
    value
}

fn frozen_word() -> &'static str {
    if Path::new("/sys/fs/cgroup/memory").exists() {
        "FROZEN"
    } else {
        "cgroup.freeze 1, frozen 1"
    }
}

fn status(bundle: &Bundle, id: &str) -> String {
    bundle.state(id)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn pause_freezes_the_cgroup_and_resume_thaws_it_as_with_runc() {
    if !privileged!() {
        return;
    }
    for runc in [true, false] {
        let who = which(runc);
        let mut b = bundle(runc, "frozen", &["sh", "-c", COUNTING]);
        let pid = started(&mut b, "frozen");
        wait_until("the loop to count", || count(&b) > 2);
        b.ok(&["pause", "frozen"]);
        assert_eq!(
            freezer(pid),
            frozen_word(),
            "{who}: the freezer after pause"
        );
        assert_eq!(status(&b, "frozen"), "paused", "{who}");
        let before = count(&b);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(count(&b), before, "{who}: the count advanced while paused");
        let again = b.runtime(&["pause", "frozen"]);
        assert!(
            !again.status.success(),
            "{who}: pause of a paused container"
        );

        b.ok(&["resume", "frozen"]);
        assert_eq!(status(&b, "frozen"), "running", "{who}");
        wait_until("the count to advance", || count(&b) > before);
        let out = b.runtime(&["resume", "frozen"]);
        assert!(
            !out.status.success(),
            "{who}: resume of a running container"
        );
        let err = common::stderr(&out);
        assert!(err.contains("not paused"), "{who}: {err}");
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_paused_container_is_killed_and_deleted_as_with_runc() {
    if !privileged!() {
        return;
    }
    for runc in [true, false] {
        let who = which(runc);
        let mut b = bundle(runc, "pk", &["sh", "-c", "sleep 1000 & sleep 1000"]);
        let pid = started(&mut b, "pk");
        let file = cgroup_file(pid, "pids", "pids.max", "pids.max");
        b.ok(&["pause", "pk"]);
        let out = b.runtime(&["delete", "pk"]);
        assert!(!out.status.success(), "{who}: delete of a paused container");
        assert!(
            common::stderr(&out).contains("paused"),
            "{who}: {}",
            common::stderr(&out)
        );
        // SIGKILL thaws the cgroup so that the kill is delivered (runc 1.1).
        b.ok(&["kill", "pk", "KILL"]);
        common::wait_until_dead(pid);
        assert_eq!(status(&b, "pk"), "stopped", "{who}");
        b.ok(&["delete", "pk"]);
        assert!(!file.parent().unwrap().exists(), "{who}: the cgroup stayed");

        // delete --force of a paused one: everything goes, within runc's time.
        let pid = started(&mut b, "pk");
        b.ok(&["pause", "pk"]);
        let start = std::time::Instant::now();
        b.ok(&["delete", "--force", "pk"]);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{who}: delete took {:?}",
            start.elapsed()
        );
        common::wait_until_dead(pid);
        assert!(!file.parent().unwrap().exists(), "{who}: the cgroup stayed");
        assert!(!b.root().join("pk").exists(), "{who}: the state stayed");
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn ps_lists_the_pids_of_the_cgroup_as_runc_does() {
    if !privileged!() {
        return;
    }
    for runc in [true, false] {
        let who = which(runc);
        let mut b = bundle(
            runc,
            "pids",
            &["sh", "-c", "sleep 1000 & sleep 1000 & wait"],
        );
        let pid = started(&mut b, "pids");
        let procs = cgroup_file(pid, "pids", "cgroup.procs", "cgroup.procs");
        wait_until("three processes", || read(&procs).lines().count() == 3);
        let kernel: BTreeSet<i64> =
            read(&procs).lines().map(|l| l.parse().unwrap()).collect();
        let out = b.runtime(&["ps", "--format", "json", "pids"]);
        assert!(out.status.success(), "{who}: {}", common::stderr(&out));
        let listed: Vec<i64> = serde_json::from_slice(&out.stdout).expect("a JSON array");
        assert_eq!(
            listed.iter().copied().collect::<BTreeSet<_>>(),
            kernel,
            "{who}"
        );
        // The table: `ps -ef`'s header and the lines of those pids only.
        let out = b.runtime(&["ps", "pids"]);
        let table = common::stdout(&out);
        assert!(out.status.success(), "{who}: {}", common::stderr(&out));
        let mut lines = table.lines();
        assert!(lines.next().unwrap_or("").contains("PID"), "{who}: {table}");
        let rows: BTreeSet<i64> = lines
            .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(rows, kernel, "{who}: {table}");
        let out = b.runtime(&["ps", "--format", "json", "nope"]);
        assert!(!out.status.success(), "{who}: ps of an unknown id");
    }
}

/// The keys of a JSON object, and of the objects in it, as `a`, `a.b`, … (depth 2).
fn shape(v: &Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if let (Some(map), true) = (v.as_object(), depth > 0) {
        for (k, v) in map {
            let name = format!("{prefix}{k}");
            out.insert(name.clone());
            shape(v, &format!("{name}."), depth - 1, out);
        }
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn events_stats_prints_one_object_of_runcs_shape_from_the_cgroup() {
    if !privileged!() {
        return;
    }
    let mut shapes = Vec::new();
    for runc in [true, false] {
        let who = which(runc);
        let mut b = bundle(runc, "ev", &["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
        let pid = started(&mut b, "ev");
        // The shell forks its two sleeps after the start returns: wait until the cgroup
        // holds all three, so that the stats and the read below see the same count.
        let procs = cgroup_file(pid, "pids", "cgroup.procs", "cgroup.procs");
        wait_until("three processes", || read(&procs).lines().count() == 3);
        let out = b.runtime(&["events", "--stats", "ev"]);
        assert!(out.status.success(), "{who}: {}", common::stderr(&out));
        let text = common::stdout(&out);
        assert_eq!(text.lines().count(), 1, "{who}: one line: {text}");
        let event: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(event["type"], "stats", "{who}");
        assert_eq!(event["id"], "ev", "{who}");
        let data = &event["data"];
        let pids = read(&cgroup_file(pid, "pids", "pids.current", "pids.current"));
        assert_eq!(
            data["pids"]["current"],
            json!(pids.parse::<u64>().unwrap()),
            "{who}"
        );
        assert_eq!(data["pids"]["limit"], 32, "{who}");
        assert_eq!(data["memory"]["usage"]["limit"], 67108864, "{who}");
        assert!(
            data["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
            "{who}"
        );
        assert!(
            data["cpu"]["usage"]["total"].as_u64().is_some(),
            "{who}: {data}"
        );
        let mut keys = BTreeSet::new();
        shape(data, "", 2, &mut keys);
        shapes.push(keys);
        // A stopped container has no stats (runc: "is not running").
        b.ok(&["kill", "ev", "KILL"]);
        common::wait_until_dead(pid);
        let out = b.runtime(&["events", "--stats", "ev"]);
        assert!(!out.status.success(), "{who}: stats of a stopped container");
        assert!(
            common::stderr(&out).contains("not running"),
            "{who}: {}",
            common::stderr(&out)
        );
    }
    // Every key runc prints for cpu, memory and pids, ours prints too.
    let (runc, ours) = (&shapes[0], &shapes[1]);
    let wanted = ["cpu", "cpuset", "memory", "pids"];
    let missing: Vec<&String> = runc
        .iter()
        .filter(|k| {
            let of = |w: &&str| k.as_str() == *w || k.starts_with(&format!("{w}."));
            wanted.iter().any(of) && !ours.contains(*k)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "keys runc prints and we do not: {missing:?}"
    );
    let top: Vec<&String> = runc
        .iter()
        .filter(|k| !k.contains('.') && !ours.contains(*k))
        .collect();
    assert!(
        top.is_empty(),
        "top-level keys runc prints and we do not: {top:?}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn events_with_an_interval_prints_stats_until_the_container_stops() {
    if !privileged!() {
        return;
    }
    let mut b = bundle(false, "tick", &["sleep", "1"]);
    let pid = started(&mut b, "tick");
    let out = b.runtime(&["events", "--interval", "200ms", "tick"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    common::wait_until_dead(pid);
    let text = common::stdout(&out);
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(
        events.len() >= 2,
        "a stats line every 200 ms for 1 s: {text}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["type"] == "stats" && e["id"] == "tick"),
        "{text}"
    );
    let out = b.runtime(&["events", "--interval", "0s", "tick"]);
    assert!(!out.status.success());
}

/// The limit files of `pid`'s cgroup: memory, cpu quota and period, pids.
fn limits(pid: i32) -> (String, String, String) {
    let memory = read(&cgroup_file(
        pid,
        "memory",
        "memory.limit_in_bytes",
        "memory.max",
    ));
    let cpu = if Path::new("/sys/fs/cgroup/memory").exists() {
        let quota = cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "");
        let period = read(&quota.with_file_name("cpu.cfs_period_us"));
        format!("{} {period}", read(&quota))
    } else {
        read(&cgroup_file(pid, "cpu", "", "cpu.max"))
    };
    let pids = read(&cgroup_file(pid, "pids", "pids.max", "pids.max"));
    (memory, cpu, pids)
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn update_rewrites_the_limit_files_as_runc_does() {
    if !privileged!() {
        return;
    }
    let mut results = Vec::new();
    for runc in [true, false] {
        let who = which(runc);
        let mut b = bundle(runc, "up", &["sleep", "1000"]);
        let pid = started(&mut b, "up");
        b.ok(&[
            "update",
            "--memory",
            "134217728",
            "--cpu-quota",
            "25000",
            "--pids-limit",
            "64",
            "up",
        ]);
        let flags = limits(pid);
        // Only the period: the quota stays.
        b.ok(&["update", "--cpu-period", "200000", "up"]);
        let period = limits(pid);
        // The resources JSON an engine sends (containerd: Kubernetes' resize), from a file.
        let file = b.path().join("resources.json");
        let resources = json!({"memory": {"limit": 100663296}, "cpu": {"quota": 150000, "period": 100000}, "pids": {"limit": 40}});
        std::fs::write(&file, resources.to_string()).unwrap();
        b.ok(&["update", "--resources", file.to_str().unwrap(), "up"]);
        let json = limits(pid);
        println!("{who}: flags {flags:?}, period {period:?}, json {json:?}");
        b.ok(&["kill", "up", "KILL"]);
        common::wait_until_dead(pid);
        let out = b.runtime(&["update", "--memory", "134217728", "up"]);
        assert!(
            !out.status.success(),
            "{who}: update of a stopped container"
        );
        assert!(
            common::stderr(&out).contains("not running"),
            "{who}: {}",
            common::stderr(&out)
        );
        results.push((flags, period, json));
    }
    let ours = &results[1];
    assert_eq!(ours.0 .0, "134217728");
    assert_eq!(ours.0 .2, "64");
    assert_eq!(ours.2 .0, "100663296");
    assert_eq!(ours.2 .2, "40");
    assert_eq!(results[0], results[1], "runc's files, then ours");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn update_reads_the_resources_from_stdin() {
    if !privileged!() {
        return;
    }
    let mut b = bundle(false, "stdin", &["sleep", "1000"]);
    let pid = started(&mut b, "stdin");
    let mut child = std::process::Command::new(b.runtime_path())
        .arg("--root")
        .arg(b.root())
        .args(["update", "-r", "-", "stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"pids": {"limit": 20}, "memory": {"limit": 83886080}}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (memory, _, pids) = limits(pid);
    assert_eq!((memory.as_str(), pids.as_str()), ("83886080", "20"));
    let out = b.runtime(&["update", "--pids-limit", "10", "nope"]);
    assert!(
        common::stderr(&out).contains("does not exist"),
        "{}",
        common::stderr(&out)
    );
}

/// The lines of /proc/PID/cgroup a container's runtime decides, as (hierarchy, path):
/// the v1 ones on a v1 or hybrid host (runc also moves the container into the hybrid
/// layout's cgroup2 mount, which carries no controller there; this runtime leaves it),
/// the one v2 line on a unified host.
fn cgroup_lines(pid: i32) -> BTreeSet<(String, String)> {
    let unified = !Path::new("/sys/fs/cgroup/memory").exists();
    read(Path::new(&format!("/proc/{pid}/cgroup")))
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, names, path) = (parts.next()?, parts.next()?, parts.next()?);
            (names.is_empty() == unified).then(|| (names.to_string(), path.to_string()))
        })
        .collect()
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_container_joins_every_hierarchy_the_host_mounts_as_runc_does() {
    if !privileged!() {
        return;
    }
    let mut seen = Vec::new();
    for runc in [true, false] {
        let who = which(runc);
        let mut b = bundle(runc, "all", &["sleep", "1000"]);
        let pid = started(&mut b, "all");
        let lines = cgroup_lines(pid);
        let path = format!("/{}/all", cgroup_parent());
        let dirs: Vec<PathBuf> = lines
            .iter()
            .map(|(names, p)| {
                assert_eq!(p, &path, "{who}: {names} is not the container's");
                let mount = names.strip_prefix("name=").unwrap_or(names);
                Path::new("/sys/fs/cgroup")
                    .join(mount)
                    .join(p.trim_start_matches('/'))
            })
            .collect();
        assert!(!dirs.is_empty(), "{who}: no cgroup line");
        // A cpuset cgroup takes no process until it has cpus and mems.
        let cpuset = Path::new("/sys/fs/cgroup/cpuset").join(path.trim_start_matches('/'));
        if cpuset.exists() {
            assert!(!read(&cpuset.join("cpuset.cpus")).is_empty(), "{who}");
            assert!(!read(&cpuset.join("cpuset.mems")).is_empty(), "{who}");
        }
        b.ok(&["delete", "--force", "all"]);
        common::wait_until_dead(pid);
        for dir in &dirs {
            assert!(
                !dir.exists(),
                "{who}: {} stayed after delete",
                dir.display()
            );
        }
        seen.push(lines.into_iter().map(|(n, _)| n).collect::<BTreeSet<_>>());
    }
    assert_eq!(seen[1], seen[0], "the hierarchies: ours, then runc's");
}

/// What the counting loop of process `pid` wrote last, read through its root.
fn count_of(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/root/tmp/count"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// The runtime under test, then runc: an engine scenario run with each.
fn runtimes() -> [(&'static str, PathBuf); 2] {
    [
        ("08-oci-runtime", common::engine::runtime()),
        ("runc", PathBuf::from(RUNC)),
    ]
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_pause_and_unpause_freeze_the_container_as_with_runc() {
    if !privileged!() {
        return;
    }
    use common::engine::assert_ok;
    for (who, runtime) in runtimes() {
        let podman = common::podman::Podman::with_runtime(runtime);
        let (id, pid) = podman.detached(&[], &["sh", "-c", COUNTING]);
        wait_until("the loop to count", || count_of(pid) > 2);
        assert_ok(&podman.cmd(&["pause", &id]), "podman pause");
        assert_eq!(
            freezer(pid),
            frozen_word(),
            "{who}: the freezer after podman pause"
        );
        let status = podman.cmd(&["inspect", "--format", "{{.State.Status}}", &id]);
        assert_eq!(common::stdout(&status).trim(), "paused", "{who}");
        let before = count_of(pid);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            count_of(pid),
            before,
            "{who}: the count advanced while paused"
        );
        assert_ok(&podman.cmd(&["unpause", &id]), "podman unpause");
        wait_until("the count to advance", || count_of(pid) > before);
        // rm -f of a paused container: podman kills it through the runtime.
        assert_ok(&podman.cmd(&["pause", &id]), "podman pause");
        assert_ok(&podman.cmd(&["rm", "-f", "-t", "0", &id]), "podman rm -f");
        common::wait_until_dead(pid);
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_update_cpus_rewrites_the_cpu_quota_as_with_runc() {
    if !privileged!() {
        return;
    }
    use common::engine::assert_ok;
    let mut seen = Vec::new();
    for (who, runtime) in runtimes() {
        let podman = common::podman::Podman::with_runtime(runtime);
        let (id, pid) =
            podman.detached(&["--cpus", "0.5", "--memory", "64m"], &["sleep", "1000"]);
        assert_ok(
            &podman.cmd(&["update", "--cpus", "1.5", &id]),
            "podman update --cpus",
        );
        let cpu = limits(pid).1;
        assert_ok(
            &podman.cmd(&["update", "--memory", "128m", &id]),
            "podman update --memory",
        );
        let memory = limits(pid).0;
        println!("{who}: cpu {cpu}, memory {memory}");
        seen.push((cpu, memory));
    }
    assert_eq!(seen[0].1, (128u64 << 20).to_string());
    assert_eq!(seen[0], seen[1], "ours, then runc's");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn ctr_task_pause_resume_and_ps_go_through_the_shim_as_with_runc() {
    if !privileged!() {
        return;
    }
    use common::engine::assert_ok;
    for (who, runtime) in runtimes() {
        let ctr = common::containerd::Containerd::with_runtime(runtime);
        // ps: processes that stay, compared with what the kernel lists.
        let out = ctr.run(
            &["-d"],
            "wb-ps",
            &["sh", "-c", "sleep 1000 & sleep 1000 & wait"],
        );
        assert_ok(&out, "ctr run -d");
        let ps = |ctr: &common::containerd::Containerd| -> BTreeSet<i32> {
            let out = assert_ok(&ctr.ctr(&["tasks", "ps", "wb-ps"]), "ctr tasks ps");
            out.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().next()?.parse().ok())
                .collect()
        };
        wait_until("three processes", || ps(&ctr).len() == 3);
        let pids = ps(&ctr);
        let pid = *pids.iter().next().unwrap();
        let procs = cgroup_file(pid, "pids", "cgroup.procs", "cgroup.procs");
        let kernel: BTreeSet<i32> =
            read(&procs).lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(pids, kernel, "{who}: ctr tasks ps against cgroup.procs");
        let kill = ["tasks", "kill", "--signal", "SIGKILL"];
        assert_ok(
            &ctr.ctr(&[&kill[..], &["wb-ps"]].concat()),
            "ctr tasks kill",
        );
        ctr.delete_stopped("wb-ps");

        // pause and resume: a loop that counts.
        let out = ctr.run(&["-d"], "wb-count", &["sh", "-c", COUNTING]);
        assert_ok(&out, "ctr run -d");
        let list = assert_ok(&ctr.ctr(&["tasks", "list"]), "ctr tasks list");
        let pid: i32 = list
            .lines()
            .find(|l| l.starts_with("wb-count"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or_else(|| panic!("{who}: no pid in {list}"));
        wait_until("the loop to count", || count_of(pid) > 2);
        assert_ok(&ctr.ctr(&["tasks", "pause", "wb-count"]), "ctr tasks pause");
        assert_eq!(
            freezer(pid),
            frozen_word(),
            "{who}: the freezer after ctr tasks pause"
        );
        let list = assert_ok(&ctr.ctr(&["tasks", "list"]), "ctr tasks list");
        assert!(list.contains("PAUSED"), "{who}: {list}");
        let before = count_of(pid);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            count_of(pid),
            before,
            "{who}: the count advanced while paused"
        );
        assert_ok(
            &ctr.ctr(&["tasks", "resume", "wb-count"]),
            "ctr tasks resume",
        );
        wait_until("the count to advance", || count_of(pid) > before);
        assert_ok(
            &ctr.ctr(&[&kill[..], &["wb-count"]].concat()),
            "ctr tasks kill",
        );
        ctr.delete_stopped("wb-count");
    }
}
