//! Privileged: the config.json fields runc accepts that this runtime once refused (issue
//! 24 items 10 and 12), each read back from the kernel: the domain name in the container's
//! UTS namespace, /proc/PID/personality, the I/O priority (ioprio_get), the scheduling
//! policy and nice value, the clocks of a time namespace (/proc/uptime inside and out),
//! a host device moved in by `linux.netDevices`, and namespaces joined by path (a holder's
//! mount and UTS namespaces). Where the host cannot do what a field asks (no resctrl, no
//! AppArmor, no SELinux), the refusal is one sentence naming the field.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

use common::oci_bundle::{cgroup_parent, Bundle};
use common::oci_config::{add_namespace, runc_spec};

const BIN: &str = env!("CARGO_BIN_EXE_08-oci-runtime");
use common::wait_until as wait_for;
use serde_json::{json, Value};
use serial_test::serial;

/// A config close to `runc spec`'s, with the cgroupsPath of container `id`.
fn config(id: &str, args: &[&str]) -> Value {
    let mut config = runc_spec(args, &format!("/{}/{id}", cgroup_parent()));
    config["hostname"] = json!("fields");
    add_namespace(&mut config, "network");
    config
}

/// A bundle whose config runs `sleep 60` as container `id`, changed by `patch`.
fn bundle_with(id: &str, patch: impl FnOnce(&mut Value)) -> Bundle {
    let bundle = Bundle::busybox();
    let mut config = config(id, &["sleep", "60"]);
    patch(&mut config);
    bundle.write_config(&config);
    bundle
}

fn ns_inode(pid: &str, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .expect("ns file")
        .ino()
}

/// `cat FILE` run by nsenter in the namespaces `flags` (e.g. `-u`) of `pid`: what the
/// kernel shows a process there.
fn cat_in(pid: i32, flags: &str, file: &str) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), flags, "cat", file])
        .stdin(Stdio::null())
        .output()
        .expect("nsenter");
    assert!(out.status.success(), "nsenter: {}", common::stderr(&out));
    common::stdout(&out).trim().to_string()
}

/// A create that must fail: its one-line error.
/// Where resctrl is mounted (a CPU with RDT): "If closID is not set, runtimes MUST use the
/// container ID ... and create the <container-id> directory", write the pid to its `tasks`,
/// and remove it at delete. The schemata asked are the root's own L3 line, which the
/// kernel accepts on any such CPU.
fn the_container_gets_a_class_of_its_own() {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let root =
        workbook::oci::intel_rdt::resctrl_mount(&mountinfo).expect("resctrl's mount");
    let schemata =
        std::fs::read_to_string(root.join("schemata")).expect("resctrl schemata");
    let mut rdt = json!({});
    if let Some(l3) = schemata
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("L3:"))
    {
        rdt["l3CacheSchema"] = json!(l3);
    }
    let mut bundle = bundle_with("rdt", |c| c["linux"]["intelRdt"] = rdt);
    let pid = bundle.create("rdt");
    let tasks = std::fs::read_to_string(root.join("rdt/tasks")).expect("the class's tasks");
    assert!(tasks.lines().any(|t| t == pid.to_string()), "{tasks}");
    bundle.ok(&["delete", "--force", "rdt"]);
    assert!(
        !root.join("rdt").exists(),
        "delete left the container's class"
    );
}

fn refusal(bundle: &mut Bundle, id: &str) -> String {
    let err = bundle
        .try_create(id)
        .expect_err("the runtime accepted the config");
    assert_eq!(err.trim().lines().count(), 1, "not one sentence: {err}");
    assert!(
        !bundle.root().join(id).exists(),
        "a refused create left its state"
    );
    err
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_domainname_is_set_in_the_containers_own_uts_namespace() {
    if !privileged!() {
        return;
    }
    let mut bundle = bundle_with("domain", |c| c["domainname"] = json!("example.org"));
    let pid = bundle.create("domain");
    assert_eq!(
        cat_in(pid, "-u", "/proc/sys/kernel/domainname"),
        "example.org"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    assert_ne!(host.trim(), "example.org", "the host's domain name changed");
    // One bundle at a time: each removes the shared cgroup parent when dropped.
    drop(bundle);
    // Without a uts namespace of its own, the host's would change: refused, as runc does.
    let mut bundle = bundle_with("nouts", |c| {
        c["domainname"] = json!("example.org");
        c.as_object_mut().unwrap().remove("hostname");
        c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}]);
    });
    let err = refusal(&mut bundle, "nouts");
    assert!(err.contains("domainname"), "{err}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn personality_io_priority_and_scheduler_reach_the_kernel() {
    if !privileged!() {
        return;
    }
    let mut bundle = bundle_with("attrs", |c| {
        c["process"]["personality"] =
            json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]});
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
        c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    });
    let pid = bundle.create("attrs");
    bundle.ok(&["start", "attrs"]);
    // PER_LINUX32 (0x0008) | ADDR_NO_RANDOMIZE (0x0040000), from <linux/personality.h>.
    let personality = std::fs::read_to_string(format!("/proc/{pid}/personality")).unwrap();
    assert_eq!(
        u64::from_str_radix(personality.trim(), 16).unwrap(),
        0x0008 | 0x0040000
    );
    // IOPRIO_WHO_PROCESS = 1; the value is class << 13 | level (IOPRIO_CLASS_BE = 2).
    // SAFETY: a syscall with integer arguments.
    let ioprio = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, pid) };
    assert_eq!(ioprio, (2 << 13) | 6, "ioprio_get of the container's init");
    // SAFETY: as above.
    let policy = unsafe { libc::sched_getscheduler(pid) };
    assert_eq!(policy, libc::SCHED_BATCH);
    // SAFETY: as above; errno is not needed (7 is not -1).
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, pid as libc::id_t) };
    assert_eq!(nice, 7);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_scheduler_that_runc_refuses_is_refused() {
    if !privileged!() {
        return;
    }
    // runc's validator: a priority belongs to SCHED_FIFO and SCHED_RR only.
    let mut bundle = bundle_with("badsched", |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_OTHER", "priority": 5});
    });
    let err = refusal(&mut bundle, "badsched");
    assert!(err.contains("scheduler"), "{err}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn time_offsets_move_the_clocks_of_the_containers_time_namespace() {
    if !privileged!() {
        return;
    }
    let ten_days = 10 * 86400;
    let mut bundle = bundle_with("clock", |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({
            "boottime": {"secs": ten_days, "nanosecs": 0},
            "monotonic": {"secs": 86400, "nanosecs": 500}
        });
    });
    let pid = bundle.create("clock");
    assert_ne!(ns_inode(&pid.to_string(), "time"), ns_inode("self", "time"));
    let uptime =
        |text: &str| -> f64 { text.split_whitespace().next().unwrap().parse().unwrap() };
    let inside = uptime(&cat_in(pid, "-T", "/proc/uptime"));
    let outside = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let shift = inside - outside;
    assert!(
        (shift - ten_days as f64).abs() < 5.0,
        "uptime inside {inside}, outside {outside}"
    );
    let offsets = std::fs::read_to_string(format!("/proc/{pid}/timens_offsets")).unwrap();
    let words: Vec<Vec<&str>> = offsets
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        words.contains(&vec!["monotonic", "86400", "500"]),
        "{offsets}"
    );
    // The runtime's own clocks, and its later children's, stay the host's.
    assert_eq!(
        std::fs::read_to_string("/proc/self/timens_offsets").unwrap(),
        std::fs::read_to_string("/proc/1/timens_offsets").unwrap()
    );
    drop(bundle);
    // Offsets without a time namespace of its own: refused, as runc does.
    let mut bundle = bundle_with("noclock", |c| {
        c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1, "nanosecs": 0}});
    });
    let err = refusal(&mut bundle, "noclock");
    assert!(err.contains("timeOffsets"), "{err}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn exec_joins_the_containers_time_namespace() {
    if !privileged!() {
        return;
    }
    let mut bundle = bundle_with("clockexec", |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000, "nanosecs": 0}});
    });
    let pid = bundle.create("clockexec");
    let out = bundle.runtime(&["exec", "clockexec", "cat", "/proc/uptime"]);
    assert!(out.status.success(), "exec: {}", common::stderr(&out));
    let uptime =
        |text: &str| -> f64 { text.split_whitespace().next().unwrap().parse().unwrap() };
    let by_exec = uptime(&common::stdout(&out));
    let init = uptime(&cat_in(pid, "-T", "/proc/uptime"));
    assert!(
        (by_exec - init).abs() < 5.0,
        "exec's uptime {by_exec} is not the container's {init}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn what_the_host_cannot_do_is_refused_with_its_reason() {
    if !privileged!() {
        return;
    }
    let resctrl = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" - resctrl ");
    if !resctrl {
        // config-linux.md: "If no mounted resctrl pseudo-filesystem is available in the
        // runtime mount namespace, the runtime MUST generate an error."
        let mut bundle = bundle_with("rdt", |c| {
            c["linux"]["intelRdt"] = json!({"closID": "x", "l3CacheSchema": "L3:0=f"});
        });
        let err = refusal(&mut bundle, "rdt");
        assert!(err.contains("intelRdt") && err.contains("resctrl"), "{err}");
    } else {
        the_container_gets_a_class_of_its_own();
    }
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'));
    let mut bundle = bundle_with("aa", |c| {
        c["process"]["apparmorProfile"] = json!("unconfined");
    });
    if apparmor {
        bundle.create("aa");
    } else {
        let err = refusal(&mut bundle, "aa");
        assert!(
            err.contains("apparmorProfile") && err.contains("AppArmor"),
            "{err}"
        );
    }
    drop(bundle);
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    if !selinux {
        let mut bundle = bundle_with("se", |c| {
            c["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
        });
        let err = refusal(&mut bundle, "se");
        assert!(
            err.contains("selinuxLabel") && err.contains("SELinux"),
            "{err}"
        );
    }
}

/// A veth pair of the test's own on the host (the kernel here has no dummy device);
/// deleted on drop if still there (deleting either end deletes both).
struct VethPair(&'static str, &'static str);

impl Drop for VethPair {
    fn drop(&mut self) {
        for end in [self.0, self.1] {
            let _ = Command::new("ip")
                .args(["link", "del", end])
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn net_devices_move_a_host_device_into_the_container_renamed() {
    if !privileged!() {
        return;
    }
    let pair = VethPair("wb-fields0", "wb-fields1");
    let made = Command::new("ip")
        .args([
            "link", "add", pair.0, "type", "veth", "peer", "name", pair.1,
        ])
        .status()
        .expect("ip");
    assert!(made.success(), "ip link add {}", pair.0);
    let mut bundle = bundle_with("netdev", |c| {
        c["linux"]["netDevices"] = json!({"wb-fields0": {"name": "net1"}});
    });
    let pid = bundle.create("netdev");
    let links = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-n",
            "ip",
            "-o",
            "link",
            "show",
            "net1",
        ])
        .output()
        .expect("nsenter ip");
    assert!(
        links.status.success(),
        "net1 is not in the container's namespace: {}",
        common::stderr(&links)
    );
    let host = Command::new("ip")
        .args(["link", "show", pair.0])
        .stderr(Stdio::null())
        .output()
        .expect("ip");
    assert!(!host.status.success(), "the device is still on the host");
    drop(bundle);
    // A device the host does not have, and a container without a network namespace of
    // its own: refused, each with one sentence.
    let mut bundle = bundle_with("nodev", |c| {
        c["linux"]["netDevices"] = json!({"wb-none0": {"name": "eth1"}});
    });
    let err = refusal(&mut bundle, "nodev");
    assert!(
        err.contains("netDevices") && err.contains("wb-none0"),
        "{err}"
    );
    let mut bundle = bundle_with("nonet", |c| {
        c["linux"]["netDevices"] = json!({"wb-fields0": {}});
        c["linux"]["namespaces"] =
            json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]);
    });
    let err = refusal(&mut bundle, "nonet");
    assert!(err.contains("network namespace"), "{err}");
}

/// `unshare --mount --uts` holding its namespaces for the container to join; killed on
/// drop.
struct Holder(std::process::Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn mount_and_uts_namespaces_joined_by_path_hold_the_container() {
    if !privileged!() {
        return;
    }
    let holder = Holder(
        Command::new("unshare")
            .args([
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "sleep",
                "60",
            ])
            .spawn()
            .expect("unshare"),
    );
    let holder_pid = holder.0.id().to_string();
    wait_for("the holder's namespaces", || {
        ns_inode(&holder_pid, "mnt") != ns_inode("self", "mnt")
            && ns_inode(&holder_pid, "uts") != ns_inode("self", "uts")
    });
    let mut bundle = bundle_with("joined", |c| {
        c["hostname"] = json!("joined-host");
        c["domainname"] = json!("joined.example");
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "ipc"}, {"type": "network"},
            {"type": "uts", "path": format!("/proc/{holder_pid}/ns/uts")},
            {"type": "mount", "path": format!("/proc/{holder_pid}/ns/mnt")}
        ]);
    });
    let pid = bundle.create("joined").to_string();
    for kind in ["mnt", "uts"] {
        assert_eq!(ns_inode(&pid, kind), ns_inode(&holder_pid, kind), "{kind}");
    }
    let holder_pid: i32 = holder_pid.parse().unwrap();
    assert_eq!(
        cat_in(holder_pid, "-u", "/proc/sys/kernel/hostname"),
        "joined-host"
    );
    assert_eq!(
        cat_in(holder_pid, "-u", "/proc/sys/kernel/domainname"),
        "joined.example"
    );
    // The container's root is the bundle's rootfs, set up inside the joined namespace.
    assert!(std::path::Path::new(&format!("/proc/{pid}/root/bin/busybox")).exists());
    drop(bundle);
    // The host's namespace is not one to set a hostname in: refused.
    let mut bundle = bundle_with("hostuts", |c| {
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "mount"},
            {"type": "uts", "path": "/proc/self/ns/uts"}
        ]);
    });
    let err = refusal(&mut bundle, "hostuts");
    assert!(err.contains("hostname"), "{err}");
    drop(bundle);
    // Beside runc, which does the same (its 1.1 drops domainname unread, so it is left out).
    let runc = std::path::PathBuf::from("/usr/sbin/runc");
    if runc.exists() {
        assert_eq!(joined_by(Some(runc)), joined_by(None), "runc, then ours");
    }
}

/// A container made by `runtime` (ours when `None`) in a fresh holder's mount and UTS
/// namespaces: whether its two namespaces are the holder's, and the holder's hostname.
fn joined_by(runtime: Option<std::path::PathBuf>) -> (bool, bool, String) {
    let holder = Holder(
        Command::new("unshare")
            .args([
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "sleep",
                "60",
            ])
            .spawn()
            .expect("unshare"),
    );
    let holder_pid = holder.0.id().to_string();
    wait_for("the holder's namespaces", || {
        ns_inode(&holder_pid, "uts") != ns_inode("self", "uts")
    });
    let mut bundle = bundle_with("joinedby", |c| {
        c["hostname"] = json!("joined-host");
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "ipc"}, {"type": "network"},
            {"type": "uts", "path": format!("/proc/{holder_pid}/ns/uts")},
            {"type": "mount", "path": format!("/proc/{holder_pid}/ns/mnt")}
        ]);
    });
    if let Some(runtime) = runtime {
        bundle.use_runtime(runtime);
    }
    let pid = bundle.create("joinedby").to_string();
    let same = |kind| ns_inode(&pid, kind) == ns_inode(&holder_pid, kind);
    let seen = (
        same("mnt"),
        same("uts"),
        cat_in(holder.0.id() as i32, "-u", "/proc/sys/kernel/hostname"),
    );
    drop(bundle);
    seen
}

#[test]
fn features_lists_the_time_namespace_and_the_hosts_security_modules() {
    let out = common::run_bin(BIN, &["features"]);
    assert!(out.status.success());
    let features: Value = serde_json::from_slice(&out.stdout).expect("features JSON");
    let linux = &features["linux"];
    assert!(linux["namespaces"]
        .as_array()
        .unwrap()
        .contains(&json!("time")));
    // features-linux.md: what the runtime implements, "Irrelevant to the availability of
    // AppArmor [Intel RDT] on the host operating system".
    assert_eq!(linux["apparmor"]["enabled"], json!(true));
    assert_eq!(linux["selinux"]["enabled"], json!(true));
    assert_eq!(linux["netDevices"]["enabled"], json!(true));
    let rdt = json!({"enabled": true, "schemata": true, "monitoring": true});
    assert_eq!(linux["intelRdt"], rdt);
}
