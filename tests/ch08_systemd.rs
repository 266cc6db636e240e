//! Privileged: `--systemd-cgroup`, the driver podman and the kubelet use on a systemd
//! machine. This host runs no systemd, so the test boots one: a Debian rootfs with systemd
//! and dbus (debootstrap, built once and cached in /var/cache/workbook), run by podman
//! with runc as PID 1 of a privileged container with a cgroup namespace of its own, so
//! that its systemd manages the container's share of the cgroup tree. The runtime and a
//! busybox bundle are bind-mounted in, and the runtime is driven inside, beside runc; the
//! test reads what systemd (`systemctl show`) and the kernel (the cgroup files,
//! /proc/PID/cgroup) say.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::oci_bundle::Bundle;
use common::oci_config::runc_spec;
use common::podman::Podman;
use common::{stderr, stdout};
use serde_json::json;
use serial_test::serial;

const CACHE: &str = "/var/cache/workbook/systemd-rootfs";
const LIMIT: u64 = 64 << 20;
const HOST_CHANGING_UNITS: [&str; 4] = [
    "systemd-sysctl.service",
    "systemd-modules-load.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
];

/// The Debian rootfs with systemd, made once: debootstrap into a temp name beside the
/// cache, renamed when complete (a run killed halfway leaves no half rootfs behind).
fn systemd_rootfs() -> PathBuf {
    let done = PathBuf::from(CACHE);
    if done.join("sbin/init").exists() {
        return done;
    }
    common::engine::require(&["debootstrap"], "debootstrap");
    let partial = PathBuf::from(format!("{CACHE}.partial-{}", std::process::id()));
    std::fs::create_dir_all(done.parent().expect("parent"))
        .expect("make /var/cache/workbook");
    let out = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            "--include=systemd,systemd-sysv,dbus",
            "bookworm",
        ])
        .arg(&partial)
        .arg(debian_mirror())
        .output()
        .expect("run debootstrap");
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        panic!("debootstrap failed: {}", stderr(&out));
    }
    std::fs::rename(&partial, &done).expect("rename the finished rootfs");
    done
}

/// The first Debian mirror of this machine's apt sources (deb822 or one-line format).
fn debian_mirror() -> String {
    let deb822 = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources");
    let list = std::fs::read_to_string("/etc/apt/sources.list");
    let from_822 = deb822.ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("URIs:").map(|u| u.trim().to_string()))
    });
    let from_list = list.ok().and_then(|t| {
        t.lines()
            .find_map(|l| {
                l.strip_prefix("deb ")
                    .and_then(|r| r.split_whitespace().next())
            })
            .map(str::to_string)
    });
    from_822
        .or(from_list)
        .unwrap_or_else(|| "http://deb.debian.org/debian".into())
}

/// The booted systemd container.
struct Systemd<'a> {
    podman: &'a Podman,
    name: String,
}

impl Systemd<'_> {
    fn boot<'a>(podman: &'a Podman, rootfs: &Path, bundle: &Path) -> Systemd<'a> {
        let name = format!("wb-systemd-{}", std::process::id());
        let runtime = PathBuf::from(env!("CARGO_BIN_EXE_08-oci-runtime"));
        let mut cmd = podman.command();
        cmd.args(["run", "-d", "--name", &name])
            .arg("--cgroup-parent")
            .arg(format!("/{}", podman.cgroup.name))
            // Privileged: the cgroup hierarchies mounted read-write, for systemd and the
            // runtime inside; a cgroup namespace of its own: systemd sees its cgroup as
            // the root it manages. Not podman's --systemd=always, whose extra mount of
            // v1's name=systemd hierarchy in a private cgroup namespace is the host's
            // root (`/../..` in mountinfo): systemd would make its units there. Its other
            // parts by hand: tmpfs on /run and /tmp, `container=`, the stop signal.
            .args(["--privileged", "--cgroupns=private", "--systemd=false"])
            .args(["--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp"])
            .args(["-e", "container=podman", "--stop-signal", "SIGRTMIN+3"])
            .args(["--network", "none"])
            .arg("-v")
            .arg(format!("{}:/bundle", bundle.display()))
            .arg("-v")
            .arg(format!(
                "{}:/usr/local/bin/08-oci-runtime:ro",
                runtime.display()
            ))
            .args(["-v", "/usr/sbin/runc:/usr/local/bin/runc:ro"])
            // :O, an overlay: what systemd writes at boot stays out of the cache.
            .arg("--rootfs")
            .arg(format!("{}:O", rootfs.display()))
            .arg("/sbin/init")
            // The units that would change the host's kernel from a privileged container
            // (sysctls, binfmt handlers, modules) are masked: systemd in a container takes
            // its kernel command line options from its own arguments.
            .args(HOST_CHANGING_UNITS.map(|u| format!("systemd.mask={u}")));
        let out = cmd.output().expect("podman run");
        assert!(out.status.success(), "podman run systemd: {}", stderr(&out));
        let sd = Systemd { podman, name };
        let start = Instant::now();
        loop {
            let state = sd.sh("systemctl is-system-running");
            let state = stdout(&state).trim().to_string();
            if state == "running" || state == "degraded" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "systemd did not finish booting in the container: '{state}'"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        sd
    }

    fn sh(&self, script: &str) -> Output {
        let mut cmd = self.podman.command();
        cmd.args(["exec", &self.name, "sh", "-c", script]);
        cmd.output().expect("podman exec")
    }

    /// Runs `script` and returns its stdout, failing the test when it fails.
    fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "in the systemd container, `{script}` failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }
}

impl Drop for Systemd<'_> {
    fn drop(&mut self) {
        let _ = self.podman.cmd(&["rm", "-f", "-t", "0", &self.name]);
    }
}

fn config(cgroups_path: &str) -> serde_json::Value {
    let mut config = runc_spec(&["sleep", "1000"], cgroups_path);
    config["linux"]["resources"] = json!({"memory": {"limit": LIMIT}});
    config
}

/// `systemctl show UNIT -p …` as `key=value` lines, sorted.
fn show(sd: &Systemd, unit: &str, props: &str) -> Vec<String> {
    let text = sd.ok(&format!("systemctl show {unit} -p {props}"));
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The limit the kernel holds for the cgroup `rel` (v1 memory hierarchy or v2).
fn kernel_limit(sd: &Systemd, rel: &str) -> String {
    sd.ok(&format!(
        "cat /sys/fs/cgroup/memory{rel}/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup{rel}/memory.max"
    ))
    .trim()
    .to_string()
}

/// The init's pid (inside the systemd container) from `state`.
fn init_pid(sd: &Systemd, runtime: &str, id: &str) -> i64 {
    let state = sd.ok(&format!("{runtime} --root /run/wb-state state {id}"));
    let state: serde_json::Value = serde_json::from_str(&state).expect("state json");
    state["pid"].as_i64().expect("a pid in state")
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn systemd_cgroup_makes_a_scope_with_the_limit_and_delete_stops_it() {
    if !privileged!() {
        return;
    }
    let rootfs = systemd_rootfs();
    let bundle = Bundle::busybox();
    let podman = Podman::with_runtime(PathBuf::from("/usr/sbin/runc"));
    let sd = Systemd::boot(&podman, &rootfs, bundle.bundle());

    for (runtime, name) in [("08-oci-runtime", "ctr"), ("runc", "runc")] {
        let unit = format!("workbook-{name}.scope");
        let rel = format!("/system.slice/{unit}");
        bundle.write_config(&config(&format!("system.slice:workbook:{name}")));
        let base = format!("{runtime} --root /run/wb-state --systemd-cgroup");
        sd.ok(&format!("{base} create --bundle /bundle {name}"));
        let props = show(&sd, &unit, "ControlGroup,ActiveState,Delegate,Slice");
        assert_eq!(
            props,
            [
                "ActiveState=active".to_string(),
                format!("ControlGroup={rel}"),
                "Delegate=yes".into(),
                "Slice=system.slice".into(),
            ],
            "{runtime}: systemd's view of the scope"
        );
        // runc gives v1's MemoryLimit= on cgroup v1 and MemoryMax= on v2; this runtime
        // gives MemoryMax= on both (systemd applies it on v1 when MemoryLimit= is unset).
        let memory = show(&sd, &unit, "MemoryMax,MemoryLimit");
        let limit = LIMIT.to_string();
        let has = |key: &str| memory.contains(&format!("{key}={limit}"));
        assert!(
            has("MemoryMax") || has("MemoryLimit"),
            "{runtime}: {memory:?}"
        );
        if runtime == "08-oci-runtime" {
            assert!(has("MemoryMax"), "{runtime}: {memory:?}");
        }
        let pid = init_pid(&sd, runtime, name);
        let cgroups = sd.ok(&format!("cat /proc/{pid}/cgroup"));
        // The memory hierarchy's line on v1, the one line of v2.
        let memory = (cgroups.lines().find(|l| l.contains(":memory:")))
            .or_else(|| cgroups.lines().find(|l| l.starts_with("0::")))
            .expect("a memory line in /proc/PID/cgroup");
        assert!(
            memory.ends_with(&rel),
            "{runtime}: the init is not in the scope: {cgroups}"
        );
        assert_eq!(
            kernel_limit(&sd, &rel),
            LIMIT.to_string(),
            "{runtime}: the kernel's limit"
        );
        // update: systemd is told the new limit too. A reload makes systemd write every
        // unit's properties into its cgroup again; without them the old limit came back.
        let raised = (LIMIT * 2).to_string();
        sd.ok(&format!("{base} update --memory {raised} {name}"));
        sd.ok("systemctl daemon-reload");
        assert_eq!(
            kernel_limit(&sd, &rel),
            raised,
            "{runtime}: the kernel's limit after update and a reload"
        );
        let memory = show(&sd, &unit, "MemoryMax,MemoryLimit");
        let has = |key: &str| memory.contains(&format!("{key}={raised}"));
        assert!(
            has("MemoryMax") || has("MemoryLimit"),
            "{runtime}: {memory:?}"
        );
        sd.ok(&format!("{base} start {name}"));
        sd.ok(&format!("{base} delete --force {name}"));
        let after = show(&sd, &unit, "LoadState,ActiveState");
        assert_eq!(
            after,
            ["ActiveState=inactive", "LoadState=not-found"],
            "{runtime}: after delete the unit should be gone"
        );
        let left = sd.sh(&format!(
            "ls -d /sys/fs/cgroup/*{rel} /sys/fs/cgroup{rel} 2>/dev/null"
        ));
        assert_eq!(
            stdout(&left),
            "",
            "{runtime}: cgroup directories left after delete"
        );
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn without_a_slice_path_or_a_system_bus_the_flag_is_refused_and_nothing_is_made() {
    if !privileged!() {
        return;
    }
    let bundle = Bundle::busybox();
    bundle.write_config(&config("/not/a/slice"));
    let root = bundle.root();
    let out = Command::new(bundle.runtime_path())
        .arg("--root")
        .arg(&root)
        .args(["--systemd-cgroup", "create", "--bundle"])
        .arg(bundle.bundle())
        .arg("bad")
        .output()
        .expect("run the runtime");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not of the form slice:prefix:name"),
        "{}",
        stderr(&out)
    );
    // Without a system bus (this host, the VM): refused before any cgroup is made.
    if !Path::new("/run/dbus/system_bus_socket").exists() {
        bundle.write_config(&config("wb-nobus.slice:workbook:nobus"));
        let out = Command::new(bundle.runtime_path())
            .arg("--root")
            .arg(&root)
            .args(["--systemd-cgroup", "create", "--bundle"])
            .arg(bundle.bundle())
            .arg("nobus")
            .output()
            .expect("run the runtime");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("D-Bus system bus"),
            "{}",
            stderr(&out)
        );
        let made = std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten();
        for hierarchy in made
            .map(|e| e.path())
            .chain([PathBuf::from("/sys/fs/cgroup")])
        {
            let slice = hierarchy.join("wb-nobus.slice");
            assert!(!slice.exists(), "{} was made", slice.display());
        }
    }
}
