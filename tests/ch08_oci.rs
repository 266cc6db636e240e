//! Privileged: the OCI runtime driven as an engine drives it, with hand-made bundles (a copy
//! of the busybox rootfs and a config.json), checked against what the kernel shows: the
//! init's namespaces and cgroup files, its capabilities, its command line before and after
//! `start`, the pty that arrives over the console socket.

mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::oci_bundle::{cgroup_parent, Bundle};
use common::wait_until as wait_for;
use serde_json::{json, Value};
use serial_test::serial;

const BIN: &str = env!("CARGO_BIN_EXE_08-oci-runtime");

/// This file's bundles: the shared one (tests/common/oci_bundle.rs) with [`base_config`].
impl Bundle {
    fn new(args: &[&str]) -> Bundle {
        let bundle = Bundle::busybox();
        bundle.write_config(&base_config(args));
        bundle
    }
}

/// A config close to `runc spec`'s, with limits and a cgroupsPath of the test's own.
fn base_config(args: &[&str]) -> Value {
    let caps = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
        "CAP_SETGID",
    ];
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {
                "devices": [{"allow": false, "access": "rwm"}],
                "memory": {"limit": 67108864},
                "pids": {"limit": 32}
            },
            "cgroupsPath": format!("/{}/CONTAINER", cgroup_parent()),
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// The config with cgroupsPath naming container `id`.
fn for_id(mut config: Value, id: &str) -> Value {
    config["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", cgroup_parent()));
    config
}

fn ns_inode(pid: Option<i32>, kind: &str) -> u64 {
    let who = pid.map_or("self".to_string(), |p| p.to_string());
    std::fs::metadata(format!("/proc/{who}/ns/{kind}"))
        .expect("ns file")
        .ino()
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn status_hex(pid: i32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    workbook::privilege::status_field_hex(&text, field).expect("field")
}

/// The file `v1_file` (on a v1 hierarchy of `controller`) or `v2_file` of process `pid`'s
/// cgroup, as the kernel shows it.
fn cgroup_file(
    pid: i32,
    controller: &str,
    v1_file: &str,
    v2_file: &str,
) -> (PathBuf, String) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) =
            (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == controller) {
            let file = Path::new("/sys/fs/cgroup")
                .join(controllers)
                .join(path)
                .join(v1_file);
            let value = std::fs::read_to_string(&file).expect("v1 cgroup file");
            return (file, value.trim().to_string());
        }
    }
    let line = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .expect("a v2 line");
    let file = Path::new("/sys/fs/cgroup")
        .join(line[3..].trim_start_matches('/'))
        .join(v2_file);
    let value = std::fs::read_to_string(&file).expect("v2 cgroup file");
    (file, value.trim().to_string())
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn create_waits_on_the_fifo_then_start_runs_the_program() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sh", "-c", "echo started > /marker; exec sleep 60"]);
    bundle.write_config(&for_id(bundle.config(), "life"));
    let pid = bundle.create("life");

    // Created: the init exists in its own namespaces but has not run the program.
    let state = bundle.state("life");
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["pid"], pid);
    assert_eq!(state["id"], "life");
    assert!(
        !bundle.rootfs().join("marker").exists(),
        "the program ran before start"
    );
    assert!(
        !cmdline(pid).contains("sleep"),
        "the init already is the program: {}",
        cmdline(pid)
    );
    for kind in ["pid", "net", "ipc", "uts", "mnt"] {
        assert_ne!(
            ns_inode(Some(pid), kind),
            ns_inode(None, kind),
            "{kind} namespace is the host's"
        );
    }
    let (file, memory) = cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max");
    assert_eq!(memory, "67108864", "{}", file.display());
    let (file, pids) = cgroup_file(pid, "pids", "pids.max", "pids.max");
    assert_eq!(pids, "32", "{}", file.display());

    bundle.ok(&["start", "life"]);
    wait_for("the marker", || bundle.rootfs().join("marker").exists());
    wait_for("the program", || cmdline(pid).starts_with("sleep 60"));
    assert_eq!(bundle.state("life")["status"], "running");
    // The config's capabilities, all five sets, as the kernel holds them.
    let want = workbook::security::capabilities::mask(&[
        workbook::oci::init::capability_sets::named("CAP_CHOWN").unwrap(),
        workbook::oci::init::capability_sets::named("CAP_KILL").unwrap(),
        workbook::oci::init::capability_sets::named("CAP_NET_BIND_SERVICE").unwrap(),
        workbook::oci::init::capability_sets::named("CAP_SETUID").unwrap(),
        workbook::oci::init::capability_sets::named("CAP_SETGID").unwrap(),
    ]);
    assert_eq!(status_hex(pid, "CapEff"), want);
    assert_eq!(status_hex(pid, "CapBnd"), want);
    assert_eq!(status_hex(pid, "CapInh"), 0);
    assert_eq!(status_hex(pid, "NoNewPrivs"), 1);

    // A bad signal is refused in one sentence; KILL by name without SIG ends it.
    let out = bundle.runtime(&["kill", "life", "NOPE"]);
    assert!(!out.status.success() && common::stderr(&out).contains("is not a signal"));
    bundle.ok(&["kill", "life", "KILL"]);
    wait_for("stopped", || bundle.state("life")["status"] == "stopped");

    let cgroup_dir = file.parent().unwrap().to_path_buf();
    bundle.ok(&["delete", "life"]);
    assert!(!bundle.root().join("life").exists(), "the state dir stayed");
    assert!(
        !cgroup_dir.exists(),
        "the cgroup {} stayed",
        cgroup_dir.display()
    );
    assert!(!bundle.runtime(&["state", "life"]).status.success());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn run_exits_with_the_programs_status_and_leaves_nothing() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sh", "-c", "exit 7"]);
    bundle.write_config(&for_id(bundle.config(), "runner"));
    bundle.ids.push("runner".into());
    let path = bundle.path().to_str().unwrap().to_string();
    let out = bundle.runtime(&["run", "--bundle", &path, "runner"]);
    assert_eq!(out.status.code(), Some(7), "{}", common::stderr(&out));
    assert!(!bundle.root().join("runner").exists(), "run left its state");
}

/// With a cgroup namespace of its own, the container's cgroup is its namespace's root: `/`
/// on every line of /proc/self/cgroup that names one of its hierarchies (the `0::` line on
/// v2). The namespace must be made once the process is in its cgroup; made at the clone,
/// its root would be the runtime's cgroup, and the container would see `/PATH` or
/// `/../../PATH`.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_cgroup_namespace_has_the_containers_cgroup_as_its_root() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["cat", "/proc/self/cgroup"]);
    let mut config = for_id(bundle.config(), "cgns");
    config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "cgroup"}));
    bundle.write_config(&config);
    bundle.ids.push("cgns".into());
    let path = bundle.path().to_str().unwrap().to_string();
    let out = bundle.runtime(&["run", "--bundle", &path, "cgns"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    // The hierarchies of the controllers the config limits (memory, pids, devices) or that a
    // cgroup is made in for every container (v2's one line).
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
    let v2 = own.lines().all(|l| l.starts_with("0::"));
    let checked: Vec<&str> = text
        .lines()
        .filter(|l| {
            let controllers = l.split(':').nth(1).unwrap_or("");
            if v2 {
                l.starts_with("0::")
            } else {
                controllers
                    .split(',')
                    .any(|c| ["memory", "pids", "devices"].contains(&c))
            }
        })
        .collect();
    assert!(!checked.is_empty(), "no line to check in {text}");
    for line in checked {
        assert!(
            line.ends_with(":/"),
            "the container does not see its cgroup as /: {line}\n{text}"
        );
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn exec_joins_the_containers_namespaces() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sleep", "60"]);
    bundle.write_config(&for_id(bundle.config(), "execd"));
    let pid = bundle.create("execd");
    bundle.ok(&["start", "execd"]);
    let out = bundle.runtime(&[
        "exec",
        "execd",
        "sh",
        "-c",
        "for k in pid net ipc uts mnt; do readlink /proc/self/ns/$k; done; hostname",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    for kind in ["pid", "net", "ipc", "uts", "mnt"] {
        let want = format!("{kind}:[{}]", ns_inode(Some(pid), kind));
        assert!(
            text.contains(&want),
            "exec is not in the init's {kind} namespace: {text}"
        );
    }
    assert!(text.contains("oci-test"), "{text}");
    // Its status comes back.
    let out = bundle.runtime(&["exec", "execd", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_console_socket_gets_a_pty_master_that_talks_to_the_container() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sh", "-c", "tty; read line; echo got:$line"]);
    let mut config = for_id(bundle.config(), "console");
    config["process"]["terminal"] = json!(true);
    bundle.write_config(&config);
    bundle.ids.push("console".into());
    let socket = bundle.path().join("console.sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    let path = bundle.path().to_str().unwrap().to_string();
    let create = Command::new(BIN)
        .arg("--root")
        .arg(bundle.root())
        .args([
            "create",
            "--bundle",
            &path,
            "--console-socket",
            socket.to_str().unwrap(),
            "console",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("create");
    let (stream, _) = listener.accept().expect("accept");
    let master = receive_fd(&stream);
    let out = create.wait_with_output().expect("create");
    assert!(out.status.success());
    bundle.ok(&["start", "console"]);
    let mut master = std::fs::File::from(master);
    master.write_all(b"hello\n").expect("write to the pty");
    let mut seen = String::new();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while !seen.contains("got:hello") && start.elapsed() < Duration::from_secs(10) {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(
        seen.contains("/dev/pts/0"),
        "the container's stdin is not its pty: {seen:?}"
    );
    assert!(
        seen.contains("got:hello"),
        "the container did not answer: {seen:?}"
    );
}

/// Receives one fd sent with SCM_RIGHTS.
fn receive_fd(stream: &std::os::unix::net::UnixStream) -> OwnedFd {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    for cmsg in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: the kernel just gave us this fd.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd arrived over the console socket");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_unsupported_field_is_refused_by_name_and_nothing_is_left() {
    if !privileged!() {
        return;
    }
    let bundle = Bundle::new(&["true"]);
    let path = bundle.path().to_str().unwrap().to_string();
    for (field, patch) in [
        ("intelRdt", json!({"linux": {"intelRdt": {"closID": "x"}}})),
        (
            "apparmorProfile",
            json!({"process": {"apparmorProfile": "docker-default"}}),
        ),
        (
            "rdma",
            json!({"linux": {"resources": {"rdma": {"mlx5_1": {"hcaHandles": 3}}}}}),
        ),
        (
            "unified",
            json!({"linux": {"resources": {"unified": {"io.weight": "50"}}}}),
        ),
    ] {
        let mut config = bundle.config();
        merge(&mut config, &patch);
        bundle.write_config(&config);
        let out = bundle.runtime(&["create", "--bundle", &path, "refused"]);
        let err = common::stderr(&out);
        assert!(!out.status.success(), "{field} was accepted");
        assert!(
            err.contains(field),
            "the refusal does not name {field}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "not one sentence: {err}");
        assert!(
            !bundle.root().join("refused").exists(),
            "a refused create left its state"
        );
        bundle.write_config(&base_config(&["true"]));
    }
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// A process that holds a network namespace of its own; killed on drop.
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
fn a_namespace_path_is_joined() {
    if !privileged!() {
        return;
    }
    let holder = Holder(
        Command::new("unshare")
            .args(["--net", "sleep", "60"])
            .spawn()
            .expect("unshare"),
    );
    let holder_pid = holder.0.id() as i32;
    wait_for("the holder's namespace", || {
        ns_inode(Some(holder_pid), "net") != ns_inode(None, "net")
    });
    let mut bundle = Bundle::new(&["sleep", "60"]);
    let mut config = for_id(bundle.config(), "joiner");
    config["linux"]["namespaces"] = json!([
        {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
        {"type": "network", "path": format!("/proc/{holder_pid}/ns/net")}
    ]);
    bundle.write_config(&config);
    let pid = bundle.create("joiner");
    assert_eq!(
        ns_inode(Some(pid), "net"),
        ns_inode(Some(holder_pid), "net")
    );
    assert_ne!(ns_inode(Some(pid), "uts"), ns_inode(None, "uts"));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn hooks_run_with_the_state_on_stdin() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sleep", "60"]);
    let out = bundle.path().join("hooks");
    std::fs::create_dir(&out).unwrap();
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}/{name}.json", out.display())]});
    let mut config = for_id(bundle.config(), "hooked");
    config["hooks"] = json!({
        "createRuntime": [hook("createRuntime")],
        // In the container's mount namespace, before the pivot: the host's paths still work.
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", format!(
            "cat > {0}/createContainer.json; readlink /proc/self/ns/mnt > {0}/createContainer.mnt",
            out.display()
        )]}],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
        // In the container: its own /bin/sh, writing into its root.
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /startContainer.json"]}]
    });
    bundle.write_config(&config);
    let pid = bundle.create("hooked");
    let mnt = std::fs::read_to_string(out.join("createContainer.mnt"))
        .expect("createContainer ran");
    assert_eq!(
        mnt.trim(),
        format!("mnt:[{}]", ns_inode(Some(pid), "mnt")),
        "not in the container's mount namespace"
    );
    bundle.ok(&["start", "hooked"]);
    bundle.ok(&["kill", "hooked", "9"]);
    wait_for("stopped", || bundle.state("hooked")["status"] == "stopped");
    bundle.ok(&["delete", "hooked"]);
    for (stage, status, dir) in [
        ("createRuntime", "creating", out.clone()),
        ("createContainer", "creating", out.clone()),
        ("startContainer", "created", bundle.rootfs()),
        ("poststart", "running", out.clone()),
        ("poststop", "stopped", out.clone()),
    ] {
        let file = dir.join(format!("{stage}.json"));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|_| panic!("the {stage} hook did not run"));
        let state: Value = serde_json::from_str(&text).expect("state JSON on stdin");
        assert_eq!(state["id"], "hooked", "{stage}: {state}");
        assert_eq!(state["status"], status, "{stage}: {state}");
        assert_eq!(
            state["ociVersion"].as_str().map(|v| v.starts_with("1.")),
            Some(true)
        );
        if stage != "poststop" {
            assert_eq!(state["pid"], pid, "{stage}: {state}");
        }
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn delete_force_removes_a_created_container_and_its_cgroup() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sleep", "60"]);
    bundle.write_config(&for_id(bundle.config(), "forced"));
    let pid = bundle.create("forced");
    let (file, _) = cgroup_file(pid, "pids", "pids.max", "pids.max");
    let out = bundle.runtime(&["delete", "forced"]);
    // A created container may be deleted (runc kills it), a running one only with --force.
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!Path::new(&format!("/proc/{pid}")).exists() || cmdline(pid).is_empty());
    assert!(!file.parent().unwrap().exists(), "the cgroup stayed");

    let pid = bundle.create("forced");
    bundle.ok(&["start", "forced"]);
    let out = bundle.runtime(&["delete", "forced"]);
    assert!(
        !out.status.success(),
        "a running container was deleted without --force"
    );
    bundle.ok(&["delete", "--force", "forced"]);
    wait_for("the init to go", || cmdline(pid).is_empty());
    assert!(!bundle.root().join("forced").exists());
    // --force on a container that does not exist is no error (engines rely on it).
    bundle.ok(&["delete", "--force", "never-made"]);
}

#[test]
fn features_and_version_name_the_spec() {
    let out = common::run_bin(BIN, &["features"]);
    assert!(out.status.success());
    let features: Value = serde_json::from_slice(&out.stdout).expect("features JSON");
    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert!(features["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&json!("network")));
    assert!(features["hooks"]
        .as_array()
        .unwrap()
        .contains(&json!("poststop")));
    let out = common::run_bin(BIN, &["--version"]);
    assert!(
        common::stdout(&out).contains("spec: 1.0"),
        "{}",
        common::stdout(&out)
    );
    // The systemd cgroup driver (tests/ch08_systemd.rs) is listed, as runc lists it.
    assert_eq!(features["linux"]["cgroup"]["systemd"], json!(true));
}

#[test]
fn errors_go_to_the_log_as_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.json");
    let root = dir.path().join("state");
    let out = common::run_bin(
        BIN,
        &[
            "--root",
            root.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "state",
            "nothing",
        ],
    );
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&log).expect("the log was written");
    let line: Value =
        serde_json::from_str(text.lines().next().unwrap()).expect("a JSON line");
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("does not exist"));
    assert!(line["time"].as_str().is_some());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_process_settings_reach_the_kernel() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sleep", "60"]);
    let mut config = for_id(bundle.config(), "settings");
    merge(
        &mut config,
        &json!({
            "process": {
                "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 27]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}],
                "oomScoreAdj": 500
            },
            "root": {"readonly": true},
            "linux": {
                "sysctl": {"net.ipv4.ip_forward": "1"},
                "seccomp": {
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
                }
            }
        }),
    );
    // podman's --read-only: a tmpfs that starts with a copy of what it covers.
    config["mounts"].as_array_mut().unwrap().push(json!(
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid"]}
    ));
    bundle.write_config(&config);
    let pid = bundle.create("settings");
    bundle.ok(&["start", "settings"]);
    wait_for("the program", || cmdline(pid).starts_with("sleep 60"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("Uid:"), "1000 1000 1000 1000");
    assert_eq!(line("Gid:"), "1000 1000 1000 1000");
    assert_eq!(line("Groups:"), "5 27");
    assert_eq!(line("Seccomp:"), "2", "no seccomp filter");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["256", "512"],
        "{files}"
    );
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "500");

    // From inside: the sysctl of its own network namespace, the read-only root, the masked
    // /proc/kcore (an empty /dev/null), and the filter's EPERM for mkdir.
    let out = bundle.runtime(&[
        "exec",
        "settings",
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/ip_forward; touch /x 2>/dev/null || echo ro; \
         head -c 10 /proc/kcore | wc -c; mkdir /dev/shm/d 2>&1; \
         grep -c ' /etc tmpfs' /proc/mounts; grep ^root: /etc/passwd; true",
    ]);
    let text = common::stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"1"), "{text} {}", common::stderr(&out));
    assert!(lines.contains(&"ro"), "the root is writable: {text}");
    assert!(lines.contains(&"0"), "/proc/kcore is not masked: {text}");
    assert!(
        text.contains("Operation not permitted"),
        "mkdir was not refused: {text}"
    );
    // The host's ip_forward is whatever it was: the sysctl went to the container's netns.
    assert_ne!(ns_inode(None, "net"), ns_inode(Some(pid), "net"));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_user_namespace_maps_root_to_an_unprivileged_host_uid() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sleep", "60"]);
    let mut config = for_id(bundle.config(), "mapped");
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    config["linux"]["uidMappings"] = map.clone();
    config["linux"]["gidMappings"] = map;
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    bundle.write_config(&config);
    let pid = bundle.create("mapped");
    bundle.ok(&["start", "mapped"]);
    wait_for("the program", || cmdline(pid).starts_with("sleep 60"));
    let uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(
        uid_map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_ne!(ns_inode(Some(pid), "user"), ns_inode(None, "user"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().nth(1),
        Some("100000"),
        "root inside is not 100000 outside"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_create_killed_half_way_leaves_nothing_delete_force_cannot_remove() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sleep", "60"]);
    let marker = bundle.path().join("hook.pid");
    let mut config = for_id(bundle.config(), "halfway");
    // The createRuntime hook holds create half-way: state, cgroup and init exist.
    config["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": [
        "sh", "-c", format!("cat > /dev/null; echo $$ > {}; exec sleep 60", marker.display())
    ]}]});
    bundle.write_config(&config);
    bundle.ids.push("halfway".into());
    let mut create = Command::new(BIN)
        .arg("--root")
        .arg(bundle.root())
        .arg("create")
        .arg("--bundle")
        .arg(bundle.path())
        .arg("halfway")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("create");
    wait_for("the hook", || {
        std::fs::read_to_string(&marker).is_ok_and(|t| t.ends_with('\n'))
    });
    let hook: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let state = bundle.state("halfway");
    let init = state["pid"].as_i64().unwrap() as i32;
    assert!(init > 0, "{state}");
    let (file, _) = cgroup_file(init, "pids", "pids.max", "pids.max");
    create.kill().expect("SIGKILL create");
    let _ = create.wait();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(hook),
        nix::sys::signal::Signal::SIGKILL,
    );

    bundle.ok(&["delete", "--force", "halfway"]);
    wait_for("the init to go", || cmdline(init).is_empty());
    assert!(
        !bundle.root().join("halfway").exists(),
        "the state dir stayed"
    );
    assert!(!file.parent().unwrap().exists(), "the cgroup stayed");
}
