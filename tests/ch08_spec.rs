//! The OCI runtime spec's MUSTs (issue 24, item 13), one test each, from the spec's own
//! text (runtime.md, config.md, config-linux.md at v1.1.0): the comment above each check
//! quotes the sentence it checks. Privileged tests drive `08-oci-runtime` with a
//! hand-written config.json (tests/common/oci_bundle.rs) and read what the kernel shows;
//! the unprivileged ones compare the `features` document with what the parsers accept.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::oci_bundle::{cgroup_parent, Bundle};
use common::{stderr, wait_until};
use serde_json::{json, Value};
use serial_test::serial;

/// This file's bundles: the shared one with [`config`], driven by the runtime the engine
/// tests use (`WORKBOOK_ENGINE_RUNTIME=/usr/sbin/runc` runs the same checks on runc).
impl Bundle {
    fn spec(args: &[&str]) -> Bundle {
        let mut bundle = Bundle::busybox();
        bundle.use_runtime(common::engine::runtime());
        bundle.write_config(&config(args));
        bundle
    }

    /// The container's status, or `None` when `state` errs (no such container).
    fn status(&self, id: &str) -> Option<String> {
        let out = self.runtime(&["state", id]);
        if !out.status.success() {
            return None;
        }
        let state: Value = serde_json::from_slice(&out.stdout).expect("state is JSON");
        Some(state["status"].as_str().expect("status").to_string())
    }

    /// Waits until container `id` is stopped.
    fn wait_stopped(&self, id: &str) {
        wait_until(&format!("container {id} to stop"), || {
            self.status(id).as_deref() == Some("stopped")
        });
    }

    /// `create ID` in a cgroup named after the container: a cgroup holds one container.
    fn make(&mut self, id: &str) -> i32 {
        self.own_cgroup(id);
        self.create(id)
    }

    fn own_cgroup(&self, id: &str) {
        self.patch(|c| {
            c["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", cgroup_parent()))
        });
    }

    /// `create`, `start`, wait until stopped: what the program wrote on its stdout.
    fn run_to_end(&mut self, id: &str) -> String {
        self.make(id);
        self.ok(&["start", id]);
        self.wait_stopped(id);
        std::fs::read_to_string(self.path().join(format!("{id}.out"))).unwrap_or_default()
    }
}

/// A small config, close to `runc spec`'s: a pid, mount, uts, ipc and network namespace,
/// /proc, and a cgroupsPath of the test's own.
fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "rootfs"},
        "hostname": "spec",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"}
        ],
        "linux": {
            "cgroupsPath": format!("/{}/spec", cgroup_parent()),
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}]
        }
    })
}

/// Asserts that `create ID` fails saying `message`, and leaves no container behind.
fn assert_create_refused(bundle: &mut Bundle, id: &str, message: &str) {
    bundle.own_cgroup(id);
    let err = bundle
        .try_create(id)
        .expect_err("create should have been refused");
    assert!(err.contains(message), "create's error: {err}");
    assert!(!err.contains("panicked"), "{err}");
    // runtime.md: "a new container MUST NOT be created."
    assert_eq!(bundle.status(id), None, "create left container {id} behind");
}

// ---- runtime.md: the operations and their errors ------------------------------------

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn state_of_an_unknown_container_is_an_error() {
    if !privileged!() {
        return;
    }
    let bundle = Bundle::spec(&["true"]);
    // runtime.md: "Attempting to query a container that does not exist MUST generate an error."
    let out = bundle.runtime(&["state", "nothing-here"]);
    assert!(!out.status.success(), "state of an unknown id succeeded");
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn create_with_a_taken_id_is_an_error_and_leaves_the_first() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let pid = bundle.make("taken");
    // runtime.md: "If the ID provided is not unique ... the implementation MUST generate an
    // error and a new container MUST NOT be created."
    let err = bundle
        .try_create("taken")
        .expect_err("a second create succeeded");
    assert!(err.contains("already exists"), "{err}");
    let state = bundle.state("taken");
    assert_eq!(state["status"], "created");
    assert_eq!(state["pid"], pid, "the first container's record changed");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn create_does_not_run_the_program_and_start_does() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["touch", "/ran"]);
    bundle.make("later");
    let ran = bundle.rootfs().join("ran");
    // runtime.md: "process.args MUST NOT be applied until triggered by the start operation."
    assert!(!ran.exists(), "the program ran during create");
    bundle.ok(&["start", "later"]);
    bundle.wait_stopped("later");
    // runtime.md: "This operation MUST run the user-specified program as specified by process."
    assert!(ran.exists(), "the program did not run after start");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn changes_to_config_json_after_create_do_not_reach_the_container() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["echo", "as-created"]);
    bundle.make("frozen-config");
    bundle.patch(|c| c["process"]["args"] = json!(["echo", "changed"]));
    // runtime.md: "Any updates to config.json after this step MUST NOT affect the container."
    bundle.ok(&["start", "frozen-config"]);
    bundle.wait_stopped("frozen-config");
    let out = std::fs::read_to_string(bundle.path().join("frozen-config.out")).unwrap();
    assert_eq!(out, "as-created\n");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn start_of_a_container_not_created_is_an_error_with_no_effect() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let pid = bundle.make("twice");
    bundle.ok(&["start", "twice"]);
    // runtime.md: "Attempting to start a container that is not created MUST have no effect on
    // the container and MUST generate an error."
    let out = bundle.runtime(&["start", "twice"]);
    assert!(!out.status.success(), "a second start succeeded");
    assert!(stderr(&out).contains("is running"), "{}", stderr(&out));
    let state = bundle.state("twice");
    assert_eq!(
        (state["status"].as_str(), state["pid"].as_i64()),
        (Some("running"), Some(pid as i64))
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn kill_of_a_stopped_container_is_an_error() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    bundle.run_to_end("gone");
    // runtime.md: "Attempting to send a signal to a container that is neither created nor
    // running MUST have no effect on the container and MUST generate an error."
    let out = bundle.runtime(&["kill", "gone", "KILL"]);
    assert!(
        !out.status.success(),
        "kill of a stopped container succeeded"
    );
    assert_eq!(bundle.status("gone").as_deref(), Some("stopped"));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn kill_sends_the_signal_to_the_container_process() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let pid = bundle.make("signalled");
    bundle.ok(&["start", "signalled"]);
    // runtime.md: "This operation MUST send the specified signal to the container process."
    bundle.ok(&["kill", "signalled", "TERM"]);
    // PID 1 of its namespace ignores TERM without a handler: KILL is the one it cannot.
    bundle.ok(&["kill", "signalled", "KILL"]);
    common::wait_until_dead(pid);
    assert_eq!(bundle.status("signalled").as_deref(), Some("stopped"));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn delete_of_a_running_container_is_an_error_with_no_effect() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let pid = bundle.make("busy");
    bundle.ok(&["start", "busy"]);
    // runtime.md: "Attempting to delete a container that is not stopped MUST have no effect on
    // the container and MUST generate an error."
    let out = bundle.runtime(&["delete", "busy"]);
    assert!(
        !out.status.success(),
        "delete of a running container succeeded"
    );
    let state = bundle.state("busy");
    assert_eq!(state["status"], "running");
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the init was killed"
    );
    // runtime.md: "Deleting a container MUST delete the resources that were created during the
    // create step."
    bundle.ok(&["kill", "busy", "KILL"]);
    bundle.wait_stopped("busy");
    bundle.ok(&["delete", "busy"]);
    assert_eq!(
        bundle.status("busy"),
        None,
        "state still answers after delete"
    );
    assert!(
        !bundle.root().join("busy").exists(),
        "the state dir is left"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_state_has_the_specs_fields() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    bundle.patch(|c| c["annotations"] = json!({"org.example.key": "value"}));
    // create from another directory with a relative --bundle: the state says where it is.
    let pid_file = bundle.path().join("fields.pid");
    let status = Command::new(bundle.runtime_path())
        .current_dir(bundle.path().parent().unwrap())
        .arg("--root")
        .arg(bundle.root())
        .args(["create", "--bundle"])
        .arg(bundle.path().file_name().unwrap())
        .arg("--pid-file")
        .arg(&pid_file)
        .arg("fields")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("create");
    bundle.ids.push("fields".into());
    assert!(status.success(), "create with a relative bundle failed");
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let state = bundle.state("fields");
    // runtime.md: the state's ociVersion, id and status are REQUIRED.
    assert!(
        state["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{state}"
    );
    assert_eq!(state["id"], "fields");
    assert_eq!(state["status"], "created");
    // runtime.md: "pid (int, REQUIRED when status is created or running on Linux)"
    assert_eq!(state["pid"].as_i64(), Some(pid));
    // runtime.md: "bundle (string, REQUIRED) is the absolute path to the container's bundle"
    let canonical = bundle.path().canonicalize().unwrap();
    assert_eq!(
        state["bundle"].as_str().map(Path::new),
        Some(canonical.as_path())
    );
    // runtime.md: "annotations (map, OPTIONAL) contains the list of annotations"
    assert_eq!(state["annotations"], json!({"org.example.key": "value"}));
    bundle.ok(&["start", "fields"]);
    let state = bundle.state("fields");
    assert_eq!(
        (state["status"].as_str(), state["pid"].as_i64()),
        (Some("running"), Some(pid))
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_status_follows_the_init_created_running_paused_stopped() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let pid = bundle.make("life");
    let status = |when: &str, want: &str, kernel: &str| {
        let got = bundle.status("life").unwrap_or_else(|| "an error".into());
        assert!(
            got == want,
            "{when}, the kernel shows {kernel}, so the status is {want}; state said {got}"
        );
    };
    let comm = || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    // runtime.md: "created: the runtime has finished the create operation ..., and the
    // container process has neither exited nor executed the user-specified program"
    let waiting = format!(
        "the init (/proc/{pid}) alive and not yet the program (it runs {})",
        comm().trim()
    );
    status("after create", "created", &waiting);
    bundle.ok(&["start", "life"]);
    wait_until("the init to exec sleep", || comm().trim() == "sleep");
    // runtime.md: "running: the container process has executed the user-specified program
    // but has not exited"
    status(
        "after start",
        "running",
        &format!("the init (/proc/{pid}) running sleep"),
    );
    bundle.ok(&["pause", "life"]);
    // runtime.md: "Additional values MAY be defined by the runtime" (runc's `paused`).
    status(
        "after pause",
        "paused",
        "the container's cgroup frozen by pause",
    );
    bundle.ok(&["resume", "life"]);
    status(
        "after resume",
        "running",
        &format!("the init (/proc/{pid}) running sleep again"),
    );
    bundle.ok(&["kill", "life", "KILL"]);
    common::wait_until_dead(pid);
    // runtime.md: "stopped: the container process has exited"
    status("after kill", "stopped", &format!("no live /proc/{pid}"));
}

// ---- config.md: process, root, mounts ------------------------------------------------

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn process_cwd_must_be_absolute() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    // config.md: "cwd (string, REQUIRED) ... This value MUST be an absolute path."
    bundle.patch(|c| c["process"]["cwd"] = json!("tmp"));
    assert_create_refused(&mut bundle, "relative-cwd", "process.cwd");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn process_env_and_cwd_are_as_given() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sh", "-c", "pwd; env | sort"]);
    bundle.patch(|c| {
        c["process"]["cwd"] = json!("/tmp");
        c["process"]["env"] = json!(["PATH=/bin", "A=1", "WITH_SPACE=two words"]);
    });
    let out = bundle.run_to_end("env");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("/tmp"), "{out}");
    let env: Vec<&str> = lines
        .filter(|l| !l.starts_with("PWD=") && !l.starts_with("SHLVL="))
        .collect();
    // config.md: "env (array of strings, OPTIONAL) with the same semantics as IEEE Std
    // 1003.1-2008's environ."
    assert_eq!(env, ["A=1", "PATH=/bin", "WITH_SPACE=two words"], "{out}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn root_path_is_relative_to_the_bundle_and_readonly_is_read_only() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&[
        "sh",
        "-c",
        "touch /x 2>/dev/null && echo wrote || echo refused",
    ]);
    // config.md: "If true then the root filesystem MUST be read-only inside the container"
    bundle.patch(|c| c["root"] = json!({"path": "rootfs", "readonly": true}));
    assert_eq!(bundle.run_to_end("ro"), "refused\n");
    assert!(!bundle.rootfs().join("x").exists());
    // config.md: "A directory MUST exist at the path declared by the field."
    bundle.patch(|c| c["root"] = json!({"path": "no-such-dir"}));
    assert_create_refused(&mut bundle, "no-root", "root filesystem");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn mounts_are_made_in_the_listed_order() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sh", "-c", "grep ' /mnt ' /proc/self/mountinfo"]);
    // Two tmpfs on /mnt: the one listed last is on top.
    bundle.patch(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.push(json!({"destination": "/mnt", "type": "tmpfs", "source": "first", "options": ["size=1m"]}));
        mounts.push(json!({"destination": "/mnt", "type": "tmpfs", "source": "second", "options": ["size=2m"]}));
    });
    // config.md: "The runtime MUST mount entries in the listed order."
    let out = bundle.run_to_end("order");
    let sources: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split(" - ").nth(1))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(sources, ["first", "second"], "{out}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_mount_destination_must_be_absolute() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    bundle.patch(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "mnt", "type": "tmpfs", "source": "tmpfs"}));
    });
    // config.md: "destination (string, REQUIRED) ... This value MUST be an absolute path."
    assert_create_refused(&mut bundle, "relative-mount", "destination");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn rlimits_are_set_and_duplicates_refused() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    bundle.patch(|c| {
        c["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}])
    });
    let pid = bundle.make("limits");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    // config.md: "rlim.rlim_cur MUST match the configured value." / "rlim.rlim_max MUST
    // match the configured value."
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[3..5],
        ["123", "456"],
        "{line}"
    );
    // config.md: "If rlimits contains duplicated entries with same type, the runtime MUST
    // generate an error."
    bundle.patch(|c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
            {"type": "RLIMIT_NOFILE", "soft": 12, "hard": 45}
        ])
    });
    assert_create_refused(&mut bundle, "twice-limited", "RLIMIT_NOFILE");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oom_score_adj_is_set_when_given_and_left_when_not() {
    if !privileged!() {
        return;
    }
    let own: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let read = |pid: i32| -> i32 {
        std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    // config.md: "If oomScoreAdj is not set, the runtime MUST NOT change the value of
    // oom_score_adj."
    let pid = bundle.make("unset");
    assert_eq!(read(pid), own);
    // config.md: "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value."
    let wanted = if own == 345 { 346 } else { 345 };
    bundle.patch(|c| c["process"]["oomScoreAdj"] = json!(wanted));
    let pid = bundle.make("set");
    assert_eq!(read(pid), wanted);
}

// ---- config-linux.md: namespaces -----------------------------------------------------

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn duplicated_namespaces_are_an_error() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    bundle.patch(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "ipc"}))
    });
    // config-linux.md: "If a namespaces field contains duplicated namespaces with same type,
    // the runtime MUST generate an error."
    assert_create_refused(&mut bundle, "two-ipc", "ipc");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_namespace_path_of_another_type_is_an_error() {
    if !privileged!() {
        return;
    }
    let holder = Command::new("unshare")
        .args(["--ipc", "sleep", "100"])
        .spawn()
        .expect("unshare");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let holder = Kill(holder);
    let ipc = format!("/proc/{}/ns/ipc", holder.0.id());
    wait_until("the holder's ipc namespace", || {
        std::fs::read_link(&ipc).ok() != std::fs::read_link("/proc/self/ns/ipc").ok()
    });
    let mut bundle = Bundle::spec(&["true"]);
    bundle.patch(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "network", "path": ipc}));
    });
    // config-linux.md: "The runtime MUST generate an error if path is not associated with a
    // namespace of type type."
    assert_create_refused(&mut bundle, "wrong-kind", "network");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_hostname_needs_a_uts_namespace_of_its_own() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    bundle.patch(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "uts")
    });
    // config.md: "this will change the hostname in the container UTS namespace": without one
    // of its own that is the host's, which runc refuses too ("unable to set hostname without
    // a private UTS namespace").
    assert_create_refused(&mut bundle, "no-uts", "uts namespace");
}

// ---- config.md: hooks ------------------------------------------------------------------

/// A hook that appends its name to `log` and writes its stdin to `dir/NAME.json`.
fn recording_hook(name: &str, log: &Path, dir: &Path) -> Value {
    let script = format!(
        "echo {name} >> {}; cat > {}/{name}.json",
        log.display(),
        dir.display()
    );
    json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

/// The hook, started half a second late.
fn slow_hook(mut hook: Value) -> Value {
    let script = format!(
        "sleep 0.5; {}",
        hook["args"][2].as_str().unwrap_or_default()
    );
    hook["args"][2] = json!(script);
    hook
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn hooks_run_in_order_with_the_state_on_stdin() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    let host = bundle.rootfs().join("hooks");
    std::fs::create_dir(&host).unwrap();
    let log = host.join("log");
    // startContainer runs in the container, after pivot_root: the same dir, seen from inside.
    let inside = Path::new("/hooks");
    bundle.patch(|c| {
        c["hooks"] = json!({
            "prestart": [recording_hook("prestart", &log, &host)],
            "createRuntime": [recording_hook("createRuntime", &log, &host)],
            "createContainer": [recording_hook("createContainer", &log, &host)],
            // Slow on purpose: runtime.md has poststart "after the user-specified process is
            // started", so `start` must wait for the exec, whatever the hooks before it take.
            "startContainer": [slow_hook(recording_hook("startContainer", &inside.join("log"), inside))],
            "poststart": [recording_hook("poststart", &log, &host)],
            "poststop": [recording_hook("poststop", &log, &host)]
        })
    });
    let pid = bundle.make("hooked");
    bundle.ok(&["start", "hooked"]);
    bundle.wait_stopped("hooked");
    bundle.ok(&["delete", "hooked"]);
    // config.md: "Hooks MUST be called in the listed order." and runtime.md's lifecycle:
    // prestart, createRuntime, createContainer, startContainer, poststart, poststop.
    let order = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    // config.md: "The state of the container MUST be passed to hooks over stdin"
    let canonical = bundle.path().canonicalize().unwrap();
    for stage in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let text = std::fs::read_to_string(host.join(format!("{stage}.json"))).unwrap();
        let state: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{stage}: {e}: {text}"));
        assert_eq!(state["id"], "hooked", "{stage}: {state}");
        assert_eq!(
            state["bundle"].as_str().map(Path::new),
            Some(canonical.as_path()),
            "{stage}"
        );
        // runtime.md: "For hooks executed in the runtime namespace, it is the pid as seen by
        // the runtime."
        if matches!(stage, "prestart" | "createRuntime" | "poststart") {
            assert_eq!(state["pid"].as_i64(), Some(pid as i64), "{stage}: {state}");
        }
    }
    let poststop: Value =
        serde_json::from_str(&std::fs::read_to_string(host.join("poststop.json")).unwrap())
            .unwrap();
    assert_eq!(poststop["status"], "stopped");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_failing_create_hook_fails_create_and_leaves_nothing() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    bundle.patch(|c| c["hooks"] = json!({"prestart": [{"path": "/bin/false"}]}));
    // runtime.md: "If any prestart hook fails, the runtime MUST generate an error, stop the
    // container, and continue the lifecycle at step 12."
    assert_create_refused(&mut bundle, "hook-fails", "prestart");
    // runtime.md: "The container MUST be destroyed by undoing the steps performed during
    // create phase": its cgroup (in each hierarchy) goes too.
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join(cgroup_parent()).join("hook-fails"))
        .chain([Path::new("/sys/fs/cgroup")
            .join(cgroup_parent())
            .join("hook-fails")])
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "{left:?} are left");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn failing_poststart_and_poststop_hooks_are_warnings() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["sleep", "100"]);
    let after = bundle.path().join("second-poststop-ran");
    bundle.patch(|c| {
        c["hooks"] = json!({
            "poststart": [{"path": "/bin/false"}],
            "poststop": [{"path": "/bin/false"}, {"path": "/usr/bin/touch", "args": ["touch", after]}]
        })
    });
    bundle.make("warned");
    // runtime.md: "If any poststart hook fails, the runtime MUST log a warning, but the
    // remaining hooks and lifecycle continue as if the hook had succeeded."
    let out = bundle.runtime(&["start", "warned"]);
    assert!(out.status.success(), "start failed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("poststart"),
        "no warning: {}",
        stderr(&out)
    );
    assert_eq!(bundle.status("warned").as_deref(), Some("running"));
    bundle.ok(&["kill", "warned", "KILL"]);
    bundle.wait_stopped("warned");
    // runtime.md: "If any poststop hook fails, the runtime MUST log a warning, but the
    // remaining hooks and lifecycle continue as if the hook had succeeded."
    let out = bundle.runtime(&["delete", "warned"]);
    assert!(out.status.success(), "delete failed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("poststop"),
        "no warning: {}",
        stderr(&out)
    );
    assert!(
        after.exists(),
        "the poststop hook after the failed one did not run"
    );
    assert_eq!(bundle.status("warned"), None);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_hook_needs_an_absolute_path_and_a_positive_timeout() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::spec(&["true"]);
    // config.md: "path (string, REQUIRED) ... This specification extends the IEEE standard
    // in that path MUST be absolute."
    bundle.patch(|c| c["hooks"] = json!({"poststart": [{"path": "bin/true"}]}));
    assert_create_refused(&mut bundle, "relative-hook", "absolute");
    // config.md: "timeout (int, OPTIONAL) ... If set, timeout MUST be greater than zero."
    bundle.patch(|c| {
        c["hooks"] = json!({"poststart": [{"path": "/bin/true", "timeout": 0}]})
    });
    assert_create_refused(&mut bundle, "zero-timeout", "timeout");
}

// ---- features.md: the document lists what is supported --------------------------------

/// The mount options config.md says a runtime MUST implement on Linux.
const SPEC_MUST_MOUNT_OPTIONS: [&str; 39] = [
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "unbindable",
];

fn listed(features: &Value, key: &str) -> Vec<String> {
    features[key]
        .as_array()
        .unwrap_or_else(|| panic!("features has no {key}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_listed_mount_option_is_understood_and_no_other_is_taken_for_one() {
    let features = workbook::oci::features::features();
    let options = listed(&features, "mountOptions");
    use workbook::oci::init::mounts::parse_options;
    for option in &options {
        let parsed = parse_options(std::slice::from_ref(option)).unwrap_or_else(|e| {
            panic!("features lists '{option}', which create refuses: {e}")
        });
        // A listed option does something of its own, not handed to the filesystem as data.
        assert!(
            parsed.data.is_empty(),
            "'{option}' is listed but passed on as data"
        );
    }
    // config.md: "Runtimes MUST/SHOULD/MAY implement the following option strings" — those
    // this runtime does not list, it refuses by name rather than pass on as data.
    for option in SPEC_MUST_MOUNT_OPTIONS
        .iter()
        .filter(|o| !options.iter().any(|l| l == *o))
    {
        assert!(
            parse_options(&[option.to_string()]).is_err(),
            "'{option}' is neither listed in features nor refused"
        );
    }
    for option in ["idmap", "ridmap", "remount"] {
        assert!(
            !options.iter().any(|o| o == option),
            "{option} is listed but refused"
        );
        assert!(
            parse_options(&[option.to_string()]).is_err(),
            "{option} accepted"
        );
    }
}

#[test]
fn the_listed_hooks_and_namespaces_are_the_configs_own() {
    let features = workbook::oci::features::features();
    // Each listed hook is a field of config.json's hooks, which the parser accepts.
    for hook in listed(&features, "hooks") {
        let config = json!({hook.clone(): [{"path": "/bin/true"}]});
        let parsed: Result<workbook::oci::config::Hooks, _> =
            serde_json::from_value(config);
        assert!(
            parsed.is_ok(),
            "features lists the hook {hook}, which config.json refuses"
        );
    }
    // …and no other: an unlisted stage is refused.
    let parsed: Result<workbook::oci::config::Hooks, _> =
        serde_json::from_value(json!({"poststopped": [{"path": "/bin/true"}]}));
    assert!(parsed.is_err());
    let namespaces = features["linux"]["namespaces"].as_array().unwrap().clone();
    for ns in &namespaces {
        let linux = json!({"namespaces": [{"type": ns}]});
        let linux: workbook::oci::config::Linux = serde_json::from_value(linux).unwrap();
        assert!(
            linux.check_namespaces().is_ok(),
            "features lists {ns}, which is refused"
        );
    }
    let linux: workbook::oci::config::Linux =
        serde_json::from_value(json!({"namespaces": [{"type": "syslog"}]})).unwrap();
    assert!(
        linux.check_namespaces().is_err(),
        "an unlisted namespace (syslog, proposed, never in Linux) is accepted"
    );
}

/// A profile of `default` action, with one rule `rule` (merged into a rule for getpid).
fn profile(default: &str, extra: Value) -> Value {
    let mut rule = json!({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"});
    if let (Some(rule), Some(extra)) = (rule.as_object_mut(), extra.as_object()) {
        rule.extend(extra.clone());
    }
    json!({"defaultAction": default, "syscalls": [rule]})
}

#[test]
fn the_listed_seccomp_actions_operators_archs_and_flags_are_accepted_and_no_other() {
    use workbook::oci::seccomp::check;
    let features = workbook::oci::features::features();
    let seccomp = &features["linux"]["seccomp"];
    assert_eq!(seccomp["enabled"], true);
    let list = |key: &str| listed(seccomp, key);
    let accepted = |p: Value| check(Some(&p)).map_err(|e| e.to_string());
    for action in list("actions") {
        accepted(profile(&action, json!({}))).unwrap_or_else(|e| panic!("{action}: {e}"));
        accepted(profile("SCMP_ACT_ALLOW", json!({"action": action})))
            .unwrap_or_else(|e| panic!("{action} in a rule: {e}"));
    }
    for op in list("operators") {
        let arg = json!({"args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]});
        accepted(profile("SCMP_ACT_ALLOW", arg)).unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    for arch in list("archs") {
        let mut p = profile("SCMP_ACT_ALLOW", json!({}));
        p["architectures"] = json!([arch]);
        accepted(p).unwrap_or_else(|e| panic!("{arch}: {e}"));
    }
    for flag in list("supportedFlags") {
        let mut p = profile("SCMP_ACT_ALLOW", json!({}));
        p["flags"] = json!([flag]);
        accepted(p).unwrap_or_else(|e| panic!("{flag}: {e}"));
    }
    // What is not listed is refused by name, never ignored.
    assert!(accepted(profile("SCMP_ACT_NOTIFY", json!({}))).is_err());
    let arg = json!({"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]});
    assert!(accepted(profile("SCMP_ACT_ALLOW", arg)).is_err());
    let mut p = profile("SCMP_ACT_ALLOW", json!({}));
    p["flags"] = json!(["SECCOMP_FILTER_FLAG_NEW_LISTENER"]);
    assert!(accepted(p).is_err());
    let mut p = profile("SCMP_ACT_ALLOW", json!({}));
    p["architectures"] = json!(["SCMP_ARCH_VAX"]);
    assert!(accepted(p).is_err());
}
