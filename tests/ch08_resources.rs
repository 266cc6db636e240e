//! The resources podman and the kubelet send beyond chapter 5's limits (issue 24, items 5
//! and 6): cpusets, the soft limit, swappiness, the OOM killer, unlimited swap, I/O
//! weights and throttles, huge page limits.
//!
//! Privileged tests send each case the way its engine does (podman's options; a
//! hand-written config.json for `hugepageLimits`, as the kubelet's CRI runtime writes it)
//! and read the container's cgroup files from the kernel, side by side with what runc
//! leaves there for the same podman command. The unprivileged tests read the plans on a
//! fake cgroupfs, for the layout this machine does not have.

mod common;

use std::path::{Path, PathBuf};

use common::engine::cgroup_file;
use common::oci_bundle::{cgroup_parent, Bundle};
use common::oci_config::runc_spec;
use common::podman::Podman;
use common::stderr;
use serde_json::{json, Value};
use serial_test::serial;
use workbook::cgroup::layout::{parse_mountinfo, CgroupFs, Layout, V1Hierarchy};
use workbook::cgroup::plan::Step;
use workbook::cgroup::Controller;
use workbook::oci::config::Linux;
use workbook::oci::resources::{plan_on, resource_steps, Host};

const RUNC: &str = "/usr/sbin/runc";

/// A cgroup file as (controller, v1 file, v2 file); `None` where the layout has no such
/// knob.
type Knob = (&'static str, Option<&'static str>, Option<&'static str>);

fn v2() -> bool {
    !Path::new("/sys/fs/cgroup/memory").exists()
}

/// `podman run -d OPTIONS sleep` under `runtime`: the kernel's value of each knob in the
/// container's cgroup (`None` where this layout or kernel has none), or podman's error.
fn kernel_values(
    runtime: PathBuf,
    options: &[&str],
    knobs: &[Knob],
) -> Result<Vec<Option<String>>, String> {
    let podman = Podman::with_runtime(runtime);
    let out = podman.run(&[&["-d"], options].concat(), &["sleep", "1000"]);
    if !out.status.success() {
        return Err(common::verdict::first_line(&stderr(&out)));
    }
    let id = common::stdout(&out).trim().to_string();
    let pid = podman.cmd(&["inspect", "--format", "{{.State.Pid}}", &id]);
    let pid: i32 = common::stdout(&pid)
        .trim()
        .parse()
        .expect("a PID from inspect");
    let dirs: Vec<PathBuf> = knobs
        .iter()
        .map(|(controller, _, _)| cgroup_file(pid, controller, "", ""))
        .collect();
    let values = knobs
        .iter()
        .map(|(controller, v1_file, v2_file)| {
            let name = if v2() { (*v2_file)? } else { (*v1_file)? };
            // A file the kernel lacks (no BFQ, no swap accounting) reads as None.
            let file = cgroup_file(pid, controller, name, name);
            std::fs::read_to_string(file)
                .ok()
                .map(|t| t.trim().to_string())
        })
        .collect();
    // The runtime's delete removes every directory it made for the container (podman's
    // path names it), those of the hierarchies joined for these limits too.
    let rm = podman.cmd(&["rm", "-f", "-t", "0", &id]);
    assert!(rm.status.success(), "podman rm: {}", stderr(&rm));
    for dir in dirs.iter().filter(|d| d.to_string_lossy().contains(&id)) {
        assert!(!dir.exists(), "{} is left after podman rm", dir.display());
    }
    Ok(values)
}

/// [`kernel_values`] under chapter 8's runtime and under runc, asserted equal; returns
/// ours.
fn same_as_runc(options: &[&str], knobs: &[Knob]) -> Result<Vec<Option<String>>, String> {
    let ours = kernel_values(common::engine::runtime(), options, knobs);
    let runc = kernel_values(PathBuf::from(RUNC), options, knobs);
    assert_eq!(
        ours.is_ok(),
        runc.is_ok(),
        "podman run {options:?}: ours gave {ours:?}, runc gave {runc:?}"
    );
    if let (Ok(o), Ok(r)) = (&ours, &runc) {
        assert_eq!(
            o, r,
            "podman run {options:?}: the kernel's files under ours, then runc's"
        );
    }
    ours
}

fn status_line(pid: &str, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_cpuset_cpus_0_confines_the_container_to_cpu_0() {
    if !privileged!() {
        return;
    }
    let values = same_as_runc(
        &["--cpuset-cpus", "0"],
        &[
            ("cpuset", Some("cpuset.cpus"), Some("cpuset.cpus")),
            ("cpuset", Some("cpuset.mems"), Some("cpuset.mems.effective")),
        ],
    )
    .expect("podman run --cpuset-cpus 0");
    assert_eq!(values[0].as_deref(), Some("0"), "cpuset.cpus");
    // The memory nodes the container did not choose are its parents': all of them.
    assert_eq!(
        values[1].as_deref(),
        Some(status_line("self", "Mems_allowed_list").as_str()),
        "cpuset.mems"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_reservation_swappiness_and_oom_kill_disable_reach_the_memory_cgroup() {
    if !privileged!() {
        return;
    }
    let values = same_as_runc(
        &[
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--memory-swappiness",
            "10",
            "--oom-kill-disable",
        ],
        &[
            (
                "memory",
                Some("memory.soft_limit_in_bytes"),
                Some("memory.low"),
            ),
            ("memory", Some("memory.swappiness"), None),
            ("memory", Some("memory.oom_control"), None),
        ],
    )
    .expect("podman run with the memory options");
    assert_eq!(
        values[0].as_deref(),
        Some((32u64 << 20).to_string().as_str())
    );
    if !v2() {
        assert_eq!(values[1].as_deref(), Some("10"), "memory.swappiness");
        let oom = values[2].clone().unwrap_or_default();
        assert!(
            oom.lines().any(|l| l == "oom_kill_disable 1"),
            "memory.oom_control:\n{oom}"
        );
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_memory_swap_minus_one_leaves_swap_unlimited() {
    if !privileged!() {
        return;
    }
    let values = same_as_runc(
        &["--memory", "64m", "--memory-swap", "-1"],
        &[(
            "memory",
            Some("memory.memsw.limit_in_bytes"),
            Some("memory.swap.max"),
        )],
    )
    .expect("podman run --memory-swap -1");
    // Unlimited reads as the root's value (v1: the page counter's maximum), v2 as max.
    let unlimited = if v2() {
        "max".to_string()
    } else {
        std::fs::read_to_string("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
            .expect("the root's memsw limit")
            .trim()
            .to_string()
    };
    assert_eq!(values[0].as_deref(), Some(unlimited.as_str()), "swap limit");
}

/// A disk to throttle: one of this machine's, or else (the VM's root is 9p: it has none) a
/// loop device over a small file of the test's own, detached on drop.
struct Disk {
    dev: String,
    numbers: String,
    _backing: Option<(tempfile::NamedTempFile, LoopDevice)>,
}

/// A loop device this test attached, detached on every path.
struct LoopDevice(String);

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["--detach", &self.0])
            .status();
    }
}

fn a_disk() -> Disk {
    let disks = std::fs::read_dir("/sys/block").expect("/sys/block");
    for disk in disks.flatten() {
        let name = disk.file_name().to_string_lossy().into_owned();
        let dev = Path::new("/dev").join(&name);
        let size = std::fs::read_to_string(disk.path().join("size")).unwrap_or_default();
        if name.starts_with("loop") || size.trim() == "0" || !dev.exists() {
            continue;
        }
        let numbers = std::fs::read_to_string(disk.path().join("dev")).expect("dev");
        return Disk {
            dev: dev.display().to_string(),
            numbers: numbers.trim().to_string(),
            _backing: None,
        };
    }
    let file = tempfile::NamedTempFile::new_in("/var/tmp").expect("a backing file");
    file.as_file().set_len(1 << 20).expect("1 MiB");
    let out = std::process::Command::new("losetup")
        .args(["--find", "--show"])
        .arg(file.path())
        .output()
        .expect("losetup");
    assert!(
        out.status.success(),
        "losetup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let guard = LoopDevice(dev.clone());
    let name = dev.trim_start_matches("/dev/");
    let numbers = std::fs::read_to_string(format!("/sys/block/{name}/dev")).expect("dev");
    Disk {
        dev,
        numbers: numbers.trim().to_string(),
        _backing: Some((file, guard)),
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_device_read_bps_and_write_iops_throttle_the_disk() {
    if !privileged!() {
        return;
    }
    let disk = a_disk();
    let (dev, numbers) = (&disk.dev, &disk.numbers);
    let values = same_as_runc(
        &[
            "--device-read-bps",
            &format!("{dev}:1mb"),
            "--device-write-iops",
            &format!("{dev}:100"),
        ],
        &[
            (
                "blkio",
                Some("blkio.throttle.read_bps_device"),
                Some("io.max"),
            ),
            ("blkio", Some("blkio.throttle.write_iops_device"), None),
        ],
    )
    .expect("podman run with I/O throttles");
    let mib = 1u64 << 20;
    if v2() {
        let line = format!("{numbers} rbps={mib} wbps=max riops=max wiops=100");
        assert_eq!(values[0].as_deref(), Some(line.as_str()), "io.max");
    } else {
        assert_eq!(
            values[0],
            Some(format!("{numbers} {mib}")),
            "read_bps_device"
        );
        assert_eq!(
            values[1],
            Some(format!("{numbers} 100")),
            "write_iops_device"
        );
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podman_blkio_weight_does_what_runc_does_with_this_kernels_scheduler() {
    if !privileged!() {
        return;
    }
    // With BFQ the weight lands in its file; without it podman drops the weight (warning
    // that the kernel cannot keep it) or the runtime refuses it, the same way for both.
    let outcome = same_as_runc(
        &["--blkio-weight", "300"],
        &[("blkio", Some("blkio.bfq.weight"), Some("io.bfq.weight"))],
    );
    if let Ok([Some(weight)]) = outcome.as_deref() {
        assert!(weight.contains("300"), "{weight}");
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_empty_block_io_is_taken_as_no_io_limit() {
    if !privileged!() {
        return;
    }
    let mut bundle = bundle();
    bundle.write_config(&config(json!({"blockIO": {}})));
    let pid = bundle
        .try_create("pod")
        .unwrap_or_else(|e| panic!("create: {e}"));
    // podman sends `{}` for `--blkio-weight` on a kernel without BFQ: nothing to write.
    let table = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    assert!(
        table.lines().any(|l| l.contains(&cgroup_parent())),
        "{table}"
    );
}

/// A bundle run by the engines' runtime (`WORKBOOK_ENGINE_RUNTIME` names another, runc
/// say, to compare).
fn bundle() -> Bundle {
    let mut bundle = Bundle::busybox();
    bundle.use_runtime(common::engine::runtime());
    bundle
}

/// A config for `sleep` in a cgroup below the test's parent, as a CRI runtime writes it.
fn config(resources: Value) -> Value {
    let mut config = runc_spec(&["sleep", "1000"], &format!("/{}/pod", cgroup_parent()));
    config["linux"]["resources"] = resources;
    config
}

/// The huge page sizes of this machine, as the kubelet names them (`2MB`).
fn page_sizes() -> Vec<String> {
    let mut kb: Vec<u64> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_prefix("hugepages-")?
                        .strip_suffix("kB")?
                        .parse()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default();
    kb.sort_unstable();
    kb.into_iter()
        .map(|k| match k {
            k if k >= 1 << 20 && k % (1 << 20) == 0 => format!("{}GB", k >> 20),
            k if k >= 1 << 10 && k % (1 << 10) == 0 => format!("{}MB", k >> 10),
            k => format!("{k}KB"),
        })
        .collect()
}

/// The directory of `pid`'s hugetlb cgroup and whether it is a v2 one: a v1 hierarchy of
/// its own, or the cgroup2 mount (pure v2, or hybrid where no v1 hierarchy took hugetlb).
fn hugetlb_dir(pid: i32) -> (PathBuf, bool) {
    let table = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mounts = parse_mountinfo(&mountinfo);
    for line in table.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) =
            (parts.next(), parts.next().unwrap_or(""), parts.next());
        let path = path.unwrap_or("/").trim_start_matches('/');
        if controllers.split(',').any(|c| c == "hugetlb") {
            let m = mounts
                .iter()
                .find(|m| m.options.iter().any(|o| o == "hugetlb"));
            return (m.expect("hugetlb mount").mount_point.join(path), false);
        }
    }
    let line = table
        .lines()
        .find(|l| l.starts_with("0::"))
        .expect("a 0:: line");
    let m = mounts
        .iter()
        .find(|m| m.fstype == "cgroup2")
        .expect("a cgroup2 mount");
    (m.mount_point.join(line.trim_start_matches("0::/")), true)
}

/// Where hugetlb is on the cgroup2 mount (pure v2, or hybrid with no v1 hugetlb), the
/// runtime hands it down from the root, as runc does on v2; on drop (after the test's
/// cgroups are gone) the root's `cgroup.subtree_control` gets it back as it was.
struct HugetlbAtTheRoot(Option<PathBuf>);

impl HugetlbAtTheRoot {
    fn as_found() -> HugetlbAtTheRoot {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let file = parse_mountinfo(&mountinfo)
            .into_iter()
            .find(|m| m.fstype == "cgroup2")
            .map(|m| m.mount_point.join("cgroup.subtree_control"));
        let had = |f: &PathBuf| {
            std::fs::read_to_string(f)
                .is_ok_and(|t| t.split_whitespace().any(|c| c == "hugetlb"))
        };
        HugetlbAtTheRoot(file.filter(|f| !had(f)))
    }
}

impl Drop for HugetlbAtTheRoot {
    fn drop(&mut self) {
        if let Some(file) = &self.0 {
            let _ = std::fs::write(file, "-hugetlb");
        }
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn kubelets_hugepage_limits_of_zero_reach_the_hugetlb_cgroup() {
    if !privileged!() {
        return;
    }
    let sizes = page_sizes();
    assert!(!sizes.is_empty(), "this machine lists no huge page size");
    let limits: Vec<Value> = sizes
        .iter()
        .map(|s| json!({"pageSize": s, "limit": 0}))
        .collect();
    let _root = HugetlbAtTheRoot::as_found();
    let mut bundle = bundle();
    bundle.write_config(&config(json!({"hugepageLimits": limits})));
    let pid = bundle.create("pod");
    let (dir, v2) = hugetlb_dir(pid);
    for size in &sizes {
        for rsvd in ["", ".rsvd"] {
            let name = format!(
                "hugetlb.{size}{rsvd}.{}",
                if v2 { "max" } else { "limit_in_bytes" }
            );
            let file = dir.join(&name);
            if rsvd.is_empty() || file.exists() {
                let value = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
                assert_eq!(value.trim(), "0", "{name} of the container");
            }
        }
    }
    bundle.delete_containers();
    assert!(!dir.exists(), "delete left {}", dir.display());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_page_size_the_host_lacks_is_refused_naming_the_sizes_it_has() {
    if !privileged!() {
        return;
    }
    let mut bundle = bundle();
    bundle.write_config(&config(
        json!({"hugepageLimits": [{"pageSize": "3MB", "limit": 0}]}),
    ));
    let err = bundle
        .try_create("pod")
        .expect_err("a 3MB page size was accepted");
    assert_eq!(err.trim().lines().count(), 1, "not one sentence: {err}");
    assert!(err.contains("3MB"), "{err}");
    for size in page_sizes() {
        assert!(
            err.contains(&size),
            "the refusal does not name {size}: {err}"
        );
    }
    assert!(
        !bundle.root().join("pod").exists(),
        "a refused create left its state"
    );
}

// Unprivileged: the plans on a fake cgroupfs.

/// A fake machine: cgroup mounts in a temp dir, as mountinfo would list them.
struct FakeMachine {
    dir: tempfile::TempDir,
    mountinfo: String,
}

impl FakeMachine {
    /// `mounts`: (directory name, fstype, super options).
    fn new(mounts: &[(&str, &str, &str)]) -> FakeMachine {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut mountinfo = String::new();
        for (i, (name, fstype, options)) in mounts.iter().enumerate() {
            let at = dir.path().join(name);
            std::fs::create_dir_all(&at).expect("mount dir");
            mountinfo.push_str(&format!(
                "{} 1 0:{i} / {} rw - {fstype} cgroup {options}\n",
                30 + i,
                at.display()
            ));
        }
        FakeMachine { dir, mountinfo }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn host(&self) -> Host {
        Host {
            mounts: parse_mountinfo(&self.mountinfo),
            page_sizes: vec!["2MB".into(), "1GB".into()],
            bfq: false,
        }
    }
}

fn linux(resources: Value) -> Linux {
    serde_json::from_value(json!({"resources": resources, "cgroupsPath": "/engine/ctr"}))
        .expect("linux")
}

fn all_resources() -> Value {
    json!({
        "memory": {"limit": 67108864, "swap": -1, "reservation": 33554432, "swappiness": 10, "disableOOMKiller": true},
        "cpu": {"cpus": "0", "mems": "0"},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
    })
}

fn writes(steps: &[Step]) -> Vec<(String, String)> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Write { file, value, .. } => {
                Some((file.display().to_string(), value.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn v2_hands_down_cpuset_io_and_hugetlb_and_writes_their_files() {
    let machine = FakeMachine::new(&[("cg", "cgroup2", "rw")]);
    let mount = machine.path("cg");
    std::fs::write(
        mount.join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids",
    )
    .expect("controllers");
    let fs = CgroupFs {
        layout: Layout::Unified,
        unified: Some((mount.clone(), PathBuf::from("/"))),
        v1: Vec::new(),
    };
    let setup =
        plan_on(&fs, &machine.host(), "ctr", &linux(all_resources())).expect("plan");
    let ctr = |f: &str| mount.join("engine/ctr").join(f).display().to_string();
    let got = writes(&setup.plan.steps);
    let enable = "+memory +cpu +pids +cpuset +io +hugetlb".to_string();
    assert!(
        got.contains(&(
            mount.join("cgroup.subtree_control").display().to_string(),
            enable.clone()
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&(
            mount
                .join("engine/cgroup.subtree_control")
                .display()
                .to_string(),
            enable
        )),
        "{got:#?}"
    );
    for (file, value) in [
        ("memory.max", "67108864"),
        ("memory.swap.max", "max"),
        ("memory.low", "33554432"),
        ("cpuset.cpus", "0"),
        ("cpuset.mems", "0"),
        // Without BFQ, runc's mapping of 10..1000 onto io.weight's 1..10000:
        // 1 + (500 - 10) * 9999 / 990.
        ("io.weight", "4950"),
        ("io.max", "8:0 rbps=1048576"),
        ("hugetlb.2MB.max", "0"),
        ("hugetlb.2MB.rsvd.max", "0"),
    ] {
        assert!(
            got.contains(&(ctr(file), value.to_string())),
            "no {file} = {value}: {got:#?}"
        );
    }
    // v2 has no per-cgroup swappiness and no OOM-killer switch: runc writes neither.
    assert!(
        !got.iter()
            .any(|(f, _)| f.contains("swappiness") || f.contains("oom")),
        "{got:#?}"
    );
    let swap = got
        .iter()
        .position(|(f, v)| *f == ctr("memory.swap.max") && v == "max");
    let zero = got
        .iter()
        .position(|(f, v)| *f == ctr("memory.swap.max") && v == "0");
    assert!(
        zero < swap,
        "chapter 5's swap of 0 must come first: {got:#?}"
    );
}

#[test]
fn v1_joins_the_cpuset_blkio_and_hugetlb_hierarchies_and_fills_the_new_cpusets() {
    let machine = FakeMachine::new(&[
        ("memory", "cgroup", "rw,memory"),
        ("cpuset", "cgroup", "rw,cpuset"),
        ("blkio", "cgroup", "rw,blkio"),
        ("hugetlb", "cgroup", "rw,hugetlb"),
    ]);
    std::fs::write(machine.path("cpuset/cpuset.cpus"), "0-3\n").expect("cpus");
    std::fs::write(machine.path("cpuset/cpuset.mems"), "0\n").expect("mems");
    std::fs::write(machine.path("blkio/blkio.weight"), "500\n").expect("a CFQ kernel");
    let fs = CgroupFs {
        layout: Layout::Legacy,
        unified: None,
        v1: vec![V1Hierarchy {
            controllers: vec![Controller::Memory],
            mount: machine.path("memory"),
            own: PathBuf::from("/"),
        }],
    };
    let mut resources = all_resources();
    resources["cpu"] = json!({"cpus": "1"});
    let setup = plan_on(&fs, &machine.host(), "ctr", &linux(resources)).expect("plan");
    let dirs: Vec<PathBuf> = ["memory", "cpuset", "blkio", "hugetlb"]
        .iter()
        .map(|h| machine.path(h).join("engine/ctr"))
        .collect();
    assert_eq!(setup.plan.dirs, dirs);
    let got = writes(&setup.plan.steps);
    let at = |h: &str, f: &str| machine.path(h).join(f).display().to_string();
    let expected = [
        (at("cpuset", "engine/cpuset.cpus"), "0-3"),
        (at("cpuset", "engine/ctr/cpuset.cpus"), "0-3"),
        (at("cpuset", "engine/cpuset.mems"), "0"),
        (at("cpuset", "engine/ctr/cpuset.mems"), "0"),
        (at("cpuset", "engine/ctr/cpuset.cpus"), "1"),
        (at("memory", "engine/ctr/memory.memsw.limit_in_bytes"), "-1"),
        (
            at("memory", "engine/ctr/memory.soft_limit_in_bytes"),
            "33554432",
        ),
        (at("memory", "engine/ctr/memory.swappiness"), "10"),
        (at("memory", "engine/ctr/memory.oom_control"), "1"),
        (at("blkio", "engine/ctr/blkio.weight"), "500"),
        (
            at("blkio", "engine/ctr/blkio.throttle.read_bps_device"),
            "8:0 1048576",
        ),
        (at("hugetlb", "engine/ctr/hugetlb.2MB.limit_in_bytes"), "0"),
        (
            at("hugetlb", "engine/ctr/hugetlb.2MB.rsvd.limit_in_bytes"),
            "0",
        ),
    ];
    let mut last = 0;
    for (file, value) in expected {
        let i = got
            .iter()
            .position(|(f, v)| *f == file && v == value)
            .unwrap_or_else(|| panic!("no {file} = {value}: {got:#?}"));
        // The copies come before the container's own values.
        if file.contains("cpuset") {
            assert!(i >= last, "{file} = {value} out of order: {got:#?}");
            last = i;
        }
    }
}

#[test]
fn hybrid_without_a_v1_hugetlb_uses_the_cgroup2_mount_and_a_missing_weight_is_refused() {
    let machine = FakeMachine::new(&[
        ("memory", "cgroup", "rw,memory"),
        ("unified", "cgroup2", "rw"),
    ]);
    std::fs::write(machine.path("unified/cgroup.controllers"), "hugetlb\n")
        .expect("controllers");
    let fs = CgroupFs {
        layout: Layout::Hybrid,
        unified: Some((machine.path("unified"), PathBuf::from("/"))),
        v1: vec![V1Hierarchy {
            controllers: vec![Controller::Memory],
            mount: machine.path("memory"),
            own: PathBuf::from("/"),
        }],
    };
    let hugepages = json!({"hugepageLimits": [{"pageSize": "1GB", "limit": 0}]});
    let setup = plan_on(&fs, &machine.host(), "ctr", &linux(hugepages)).expect("plan");
    assert_eq!(setup.plan.dirs[1], machine.path("unified/engine/ctr"));
    let got = writes(&setup.plan.steps);
    let at = |f: &str| machine.path("unified").join(f).display().to_string();
    for (file, value) in [
        (at("cgroup.subtree_control"), "+hugetlb"),
        (at("engine/cgroup.subtree_control"), "+hugetlb"),
        (at("engine/ctr/hugetlb.1GB.max"), "0"),
    ] {
        assert!(
            got.contains(&(file.clone(), value.to_string())),
            "no {file} = {value}: {got:#?}"
        );
    }
    // Two controllers there: one directory, both handed down together.
    std::fs::write(machine.path("unified/cgroup.controllers"), "io hugetlb\n")
        .expect("controllers");
    let both = json!({
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        "blockIO": {"throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 4096}]}
    });
    let setup = plan_on(&fs, &machine.host(), "ctr", &linux(both)).expect("plan");
    assert_eq!(setup.plan.dirs.len(), 2, "{:?}", setup.plan.dirs);
    let got = writes(&setup.plan.steps);
    for (file, value) in [
        (at("cgroup.subtree_control"), "+io +hugetlb"),
        (at("engine/ctr/io.max"), "8:0 wbps=4096"),
    ] {
        assert!(
            got.contains(&(file.clone(), value.to_string())),
            "no {file} = {value}: {got:#?}"
        );
    }
    // No blkio hierarchy, so no I/O weight; a weight without a kernel file is refused.
    std::fs::write(machine.path("unified/cgroup.controllers"), "hugetlb\n")
        .expect("controllers");
    let weight = json!({"blockIO": {"weight": 500}});
    let err = plan_on(&fs, &machine.host(), "ctr", &linux(weight))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("blockIO"), "{err}");
}

#[test]
fn update_gets_the_writes_of_the_resources_for_existing_directories() {
    let machine = FakeMachine::new(&[
        ("memory", "cgroup", "rw,memory"),
        ("cpuset", "cgroup", "rw,cpuset"),
    ]);
    let dirs = [
        machine.path("memory/engine/ctr"),
        machine.path("cpuset/engine/ctr"),
    ];
    let resources =
        json!({"memory": {"limit": 134217728, "swap": -1}, "cpu": {"cpus": "0-1"}});
    let resources = serde_json::from_value(resources).expect("resources");
    let got = writes(&resource_steps(&resources, &dirs, &machine.host()).expect("steps"));
    let at = |f: &str| machine.path(f).display().to_string();
    assert_eq!(
        got,
        vec![
            (
                at("memory/engine/ctr/memory.memsw.limit_in_bytes"),
                "-1".to_string()
            ),
            (
                at("memory/engine/ctr/memory.limit_in_bytes"),
                "134217728".to_string()
            ),
            (
                at("memory/engine/ctr/memory.memsw.limit_in_bytes"),
                "134217728".to_string()
            ),
            (
                at("memory/engine/ctr/memory.memsw.limit_in_bytes"),
                "-1".to_string()
            ),
            (at("cpuset/engine/ctr/cpuset.cpus"), "0-1".to_string()),
        ]
    );
}
