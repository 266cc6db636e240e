//! Privileged: containerd drives the runtime through its runc shim, the path Kubernetes
//! takes (kubelet → CRI → containerd → containerd-shim-runc-v2 → runtime). The test starts
//! a containerd of its own (root, state and sockets in a temp dir, the CRI plugin off, in a
//! namespace holder with a private /run), imports the image archive the test built, and
//! runs it with `ctr run --runc-binary RUNTIME`: ctr puts that path into the shim's runc
//! options as `BinaryName`, the same field a Kubernetes RuntimeClass selects through
//! containerd's CRI config. containerd is stopped and everything removed on drop.

mod common;

use std::path::Path;
use std::process::Command;

use common::containerd::Containerd;
use common::engine::{self, assert_ok, LoggingRuntime};
use common::oci_image::UPPER_MSG;
use common::{stderr, stdout};
use serial_test::serial;

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn ctr_run_through_the_runc_shim_shows_the_image_and_the_exit_status() {
    if !privileged!() {
        return;
    }
    let containerd = Containerd::start();
    let out = containerd.run(&["--rm"], "wb-cat", &["cat", "/etc/msg"]);
    assert_eq!(assert_ok(&out, "ctr run --rm cat /etc/msg"), UPPER_MSG);
    let out = containerd.run(&["--rm"], "wb-exit", &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let left = containerd.ctr(&["containers", "list", "--quiet"]);
    assert_eq!(stdout(&left), "", "--rm left a container");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_detached_task_is_exec_ed_into_killed_and_deleted_through_the_shim() {
    if !privileged!() {
        return;
    }
    let containerd = Containerd::start();
    let id = "wb-sleeper";
    assert_ok(
        &containerd.run(&["-d"], id, &["sleep", "1000"]),
        "ctr run -d",
    );
    let tasks = assert_ok(&containerd.ctr(&["tasks", "list"]), "ctr tasks list");
    let line = tasks
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no task {id}: {tasks}"));
    assert!(line.contains("RUNNING"), "{line}");
    let pid: i32 = line
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("the task's PID");
    let cmdline =
        std::fs::read(format!("/proc/{pid}/cmdline")).expect("the task's cmdline");
    assert_eq!(cmdline, b"sleep\x001000\x00");
    // The shim ran the runtime under test with `--root /run/containerd/runc/NAMESPACE`:
    // that runtime's own `state` knows the container.
    let root = format!("/run/containerd/runc/{}", containerd.cgroup.name);
    let state = containerd
        .holder
        .command(&containerd.runtime)
        .args(["--root", &root, "state", id])
        .output()
        .expect("run the runtime's state");
    let state: serde_json::Value =
        serde_json::from_str(&assert_ok(&state, "RUNTIME state")).expect("state is JSON");
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    let cgroup = engine::cgroup_file(pid, "pids", "cgroup.procs", "cgroup.procs");
    assert!(
        cgroup.starts_with(Path::new("/sys/fs/cgroup")) && {
            let s = cgroup.to_string_lossy();
            s.contains(&format!("/{}/{id}/", containerd.cgroup.name))
        },
        "the task's cgroup is /NAMESPACE/ID: {}",
        cgroup.display()
    );

    let out = containerd.ctr(&[
        "tasks",
        "exec",
        "--exec-id",
        "wb-exec",
        id,
        "cat",
        "/etc/msg",
    ]);
    assert_eq!(assert_ok(&out, "ctr tasks exec"), UPPER_MSG);

    assert_ok(
        &containerd.ctr(&["tasks", "kill", "--signal", "SIGKILL", id]),
        "ctr tasks kill",
    );
    common::wait_until_dead(pid);
    containerd.delete_stopped(id);
    let left = containerd.ctr(&["tasks", "list", "--quiet"]);
    assert_eq!(stdout(&left), "");
}

/// What the runc shim asks of the runtime: the command lines, logged by a wrapper around
/// it, for the book.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn what_the_shim_asks_of_the_runtime() {
    if !privileged!() {
        return;
    }
    let logger = LoggingRuntime::around(&engine::runtime());
    let containerd = Containerd::with_runtime(logger.path());
    assert_ok(
        &containerd.run(&["--rm"], "wb-once", &["true"]),
        "ctr run --rm true",
    );
    let id = "wb-sleeper";
    assert_ok(
        &containerd.run(&["-d"], id, &["sleep", "1000"]),
        "ctr run -d",
    );
    let exec = ["tasks", "exec", "--exec-id", "wb-exec", id, "true"];
    assert_ok(&containerd.ctr(&exec), "ctr tasks exec");
    let kill = ["tasks", "kill", "--signal", "SIGKILL", id];
    assert_ok(&containerd.ctr(&kill), "ctr tasks kill");
    containerd.delete_stopped(id);
    let d = containerd.dir.path().to_string_lossy().into_owned();
    let ns = &containerd.cgroup.name;
    // The shim's task directory, where each container's bundle, pid file and log live,
    // shown as <T> so that a command fits in two lines of the page.
    let tasks = format!("{d}/state/io.containerd.runtime.v2.task/{ns}");
    let argv = logger.lines(&[(&tasks, "<T>"), (&d, "<D>"), (ns, "<NAMESPACE>")]);
    // One paragraph per command: a wrapped command line stays apart from the next.
    let argv = argv.trim_end().replace('\n', "\n\n") + "\n";
    common::assert_book_output("08-containerd-argv", &argv);
}

/// Unprivileged: the containerd config the book's Kubernetes walk-through gives is one
/// containerd reads, with the runtime handler and its shim options where CRI looks.
/// (Only the parsing and the place are checked: no kubelet runs here.)
#[test]
fn the_books_kubernetes_config_is_one_containerd_reads() {
    engine::require(&["containerd"], "containerd");
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/k8s/containerd-config.toml");
    let out = Command::new("containerd")
        .arg("--config")
        .arg(&config)
        .args(["config", "dump"])
        .output()
        .expect("run containerd config dump");
    let dump = assert_ok(&out, "containerd config dump");
    let section = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.workbook]";
    let at = dump
        .find(section)
        .unwrap_or_else(|| panic!("no {section} in:\n{dump}"));
    let runtime = &dump[at..];
    let runtime = &runtime[..runtime[1..].find("\n\n").map_or(runtime.len(), |e| e + 1)];
    assert!(
        runtime.contains("runtime_type = \"io.containerd.runc.v2\""),
        "{runtime}"
    );
    let options = format!("{}.options]", &section[..section.len() - 1]);
    let at = dump
        .find(&options)
        .unwrap_or_else(|| panic!("no {options}"));
    assert!(
        dump[at..].contains("BinaryName = \"/usr/local/bin/08-oci-runtime\""),
        "{}",
        &dump[at..]
    );
}
