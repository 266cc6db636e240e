//! Privileged: podman drives the runtime. The distribution's podman, with storage of its
//! own in a temp dir, loads an image archive the test built (no registry) and runs it
//! with `--runtime` pointing at the runtime under test; the test reads what the kernel did
//! (cgroup files, the container's processes, exit statuses), not what podman says.
//!
//! podman runs in a namespace holder (tests/common/engine.rs), with a containers.conf the
//! test owns: cgroupfs (no systemd here), events to a file, and default ulimits that fit
//! this machine (podman's defaults exceed its hard nofile/nproc limits; runc and crun fail
//! on them the same way).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::engine::{self, assert_ok, LoggingRuntime, Pty};
use common::oci_image::{GONE, UPPER_MSG};
use common::podman::Podman;
use common::{stderr, stdout};
use serial_test::serial;

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn run_rm_shows_the_upper_layer_honours_the_whiteout_and_returns_the_status() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    let out = podman.run(&["--rm"], &["cat", "/etc/msg"]);
    assert_eq!(assert_ok(&out, "cat /etc/msg"), UPPER_MSG);

    let out = podman.run(&["--rm"], &["cat", GONE]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("No such file"), "{}", stderr(&out));

    // podman's seccomp profile is in force (mode 2: a filter), as the kernel reports it.
    let out = podman.run(&["--rm"], &["grep", "^Seccomp:", "/proc/self/status"]);
    assert_eq!(assert_ok(&out, "grep Seccomp"), "Seccomp:\t2\n");
    let out = podman.run(&["--rm"], &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(podman.containers(), "", "--rm left a container");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn memory_and_pids_limits_reach_the_kernels_cgroup_files() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    let out = podman.run(
        &["-d", "-m", "64m", "--pids-limit", "32"],
        &["sleep", "1000"],
    );
    let id = assert_ok(&out, "run -d -m 64m --pids-limit 32")
        .trim()
        .to_string();
    let pid = stdout(&podman.cmd(&["inspect", "--format", "{{.State.Pid}}", &id]));
    let pid: i32 = pid.trim().parse().expect("PID");
    let memory = engine::cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max");
    let pids = engine::cgroup_file(pid, "pids", "pids.max", "pids.max");
    let read = |p: &PathBuf| std::fs::read_to_string(p).expect("read a cgroup file");
    assert_eq!(
        read(&memory).trim(),
        (64u64 << 20).to_string(),
        "{}",
        memory.display()
    );
    assert_eq!(read(&pids).trim(), "32", "{}", pids.display());
    assert!(
        memory.to_string_lossy().contains(&podman.cgroup.name),
        "the container's cgroup is below the test's parent: {}",
        memory.display()
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn env_workdir_and_a_read_only_root() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    let out = podman.run(
        &["--rm", "-e", "WB_GREETING=hello", "-w", "/home"],
        &["sh", "-c", "echo $WB_GREETING; pwd"],
    );
    assert_eq!(assert_ok(&out, "-e -w"), "hello\n/home\n");

    // The root alone, without the tmpfs mounts podman adds by default (next test).
    let read_only = ["--rm", "--read-only", "--read-only-tmpfs=false"];
    for path in ["/etc/new", "/tmp/new"] {
        let out = podman.run(&read_only, &["touch", path]);
        assert_ne!(out.status.code(), Some(0), "{path}");
        assert!(
            stderr(&out).contains("Read-only file system"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn read_only_keeps_podmans_writable_tmpfs_mounts() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    // podman gives a read-only container tmpfs mounts on /tmp, /run and /var/tmp, with the
    // option tmpcopyup (the image's files there are copied into the tmpfs).
    let out = podman.run(&["--rm", "--read-only"], &["touch", "/etc/new"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    let out = podman.run(&["--rm", "--read-only"], &["touch", "/tmp/new"]);
    assert_ok(&out, "touch /tmp/new in a read-only container");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn network_none_has_only_loopback_and_the_default_network_has_an_address() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    let out = podman.run(&["--rm", "--network", "none"], &["ip", "-o", "link"]);
    let links = assert_ok(&out, "--network none");
    let names: Vec<&str> = links
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(str::trim))
        .collect();
    assert_eq!(names, ["lo"], "{links}");

    let out = podman.run(&["--rm"], &["ip", "-o", "-4", "addr", "show", "eth0"]);
    let addr = assert_ok(&out, "default network");
    assert!(
        addr.contains("inet 10.88."),
        "podman's default network: {addr}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn detached_container_stops_and_is_removed() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    let (id, pid) = podman.detached_sleep();
    let state = podman.cmd(&["inspect", "--format", "{{.State.Status}}", &id]);
    assert_eq!(stdout(&state).trim(), "running");
    let cmdline =
        std::fs::read(format!("/proc/{pid}/cmdline")).expect("the init's cmdline");
    assert_eq!(cmdline, b"sleep\x001000\x00");

    // sleep as PID 1 ignores SIGTERM (no handler): after -t 1 podman sends SIGKILL.
    assert_ok(&podman.cmd(&["stop", "-t", "1", &id]), "podman stop");
    common::wait_until_dead(pid);
    let state = podman.cmd(&["inspect", "--format", "{{.State.Status}}", &id]);
    assert_eq!(stdout(&state).trim(), "exited");
    assert_ok(&podman.cmd(&["rm", &id]), "podman rm");
    assert_eq!(podman.containers(), "");
}

/// What podman (through conmon) asks of the runtime: the command lines, logged by a wrapper
/// around it, and the bundle's config.json. Both go into the book.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn what_podman_asks_of_the_runtime() {
    if !privileged!() {
        return;
    }
    let logger = LoggingRuntime::around(&engine::runtime());
    let podman = Podman::with_runtime(logger.path());
    assert_ok(&podman.run(&["--rm"], &["true"]), "run --rm true");
    let (id, _) = podman.detached_sleep();
    // What podman asked the runtime for: the bundle's config.json, summarised for the book
    // (the same whatever the runtime: podman writes it before calling one).
    let bundle = podman.cmd(&["inspect", "--format", "{{.StaticDir}}", &id]);
    let config = PathBuf::from(stdout(&bundle).trim()).join("config.json");
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&config).expect("read the bundle's config.json"),
    )
    .expect("config.json is JSON");
    // On cgroup v2 podman also asks for a cgroup namespace: each layout has its own copy
    // (bless the v2 one with WORKBOOK_BLESS=1 on a cgroup v2 host).
    let fs = workbook::cgroup::CgroupFs::detect().expect("cgroup layout");
    let copy = if fs.layout == workbook::cgroup::Layout::Unified {
        "08-podman-config-v2"
    } else {
        "08-podman-config-hybrid"
    };
    common::assert_book_output(copy, &summarize(&config));

    assert_ok(&podman.cmd(&["exec", &id, "true"]), "exec");
    assert_ok(&podman.cmd(&["stop", "-t", "1", &id]), "stop");
    assert_ok(&podman.cmd(&["rm", &id]), "rm");
    let d = podman.dir.path().to_string_lossy().into_owned();
    let argv = logger.lines(&[(&d, "<D>")]);
    common::assert_book_output("08-podman-argv", &argv);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn exec_runs_in_the_containers_namespaces() {
    if !privileged!() {
        return;
    }
    let podman = Podman::new();
    let (id, pid) = podman.detached_sleep();
    let out = podman.cmd(&["exec", &id, "cat", "/etc/msg", "/proc/1/cmdline"]);
    assert_eq!(
        assert_ok(&out, "exec"),
        format!("{UPPER_MSG}sleep\x001000\x00")
    );
    let out = podman.cmd(&["exec", &id, "readlink", "/proc/self/ns/pid"]);
    let inside = assert_ok(&out, "exec readlink");
    let init = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("init's pid ns");
    assert_eq!(
        inside.trim(),
        init.to_string_lossy(),
        "exec joined the init's PID ns"
    );
    let out = podman.cmd(&[
        "exec",
        "-e",
        "WB=1",
        "-w",
        "/etc",
        &id,
        "sh",
        "-c",
        "pwd; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(stdout(&out), "/etc\n");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn run_it_gives_the_container_a_terminal() {
    if !privileged!() {
        return;
    }
    let logger = LoggingRuntime::around(&engine::runtime());
    let podman = Podman::with_runtime(logger.path());
    let pty = Pty::open();
    let mut cmd = podman.command();
    podman.run_args(&mut cmd, &["--rm", "-it"], &["sh"]);
    pty.attach(&mut cmd);
    let mut child = cmd.spawn().expect("start podman run -it");
    drop(cmd);
    pty.type_text("tty; stty size; echo wb-$((6*7))\n");
    let shown = pty.read_until("wb-42", Duration::from_secs(30));
    pty.type_text("exit 3\n");
    let status = child.wait().expect("wait for podman");
    assert!(
        shown.contains("/dev/pts/0"),
        "the shell's stdin is a terminal: {shown:?}"
    );
    assert!(shown.contains("wb-42"), "{shown:?}");
    assert_eq!(status.code(), Some(3), "{shown:?}");
    // The terminal reached the container through the console socket: conmon listened on
    // it, the runtime sent it the pty's leader.
    let argv = logger.lines(&[]);
    assert!(
        argv.lines()
            .any(|l| l.starts_with("create ") && l.contains("--console-socket")),
        "{argv}"
    );
}

/// One line per part of a config.json, without the ids and paths that change per run.
fn summarize(c: &serde_json::Value) -> String {
    use serde_json::Value;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let p = &c["process"];
    let caps = &p["capabilities"];
    let cap_sets: Vec<String> = [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ]
    .iter()
    .map(|set| format!("{set} {}", strings(&caps[set]).len()))
    .collect();
    // Sorted, as the mounts below: podman's order varies from run to run.
    let mut env: Vec<String> = strings(&p["env"])
        .iter()
        .map(|e| e.split('=').next().unwrap_or("").to_string())
        .collect();
    env.sort();
    let rlimits: Vec<String> = p["rlimits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {}:{}",
                r["type"].as_str().unwrap_or("?"),
                r["soft"],
                r["hard"]
            )
        })
        .collect();
    let mut mounts: Vec<String> = c["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "{} ({})",
                m["destination"].as_str().unwrap_or("?"),
                m["type"].as_str().unwrap_or("?")
            )
        })
        .collect();
    mounts.sort();
    let l = &c["linux"];
    let namespaces: Vec<String> = l["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let kind = n["type"].as_str().unwrap_or("?").to_string();
            if n.get("path").is_some() {
                format!("{kind} (joined by path)")
            } else {
                kind
            }
        })
        .collect();
    let resources: Vec<String> = l["resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| match k.as_str() {
            "devices" => format!("devices: {} rule(s)", v.as_array().map_or(0, Vec::len)),
            "pids" => format!("pids.limit {}", v["limit"]),
            other => other.to_string(),
        })
        .collect();
    let sc = &l["seccomp"];
    let rules = sc["syscalls"].as_array().cloned().unwrap_or_default();
    let names: usize = rules.iter().map(|r| strings(&r["names"]).len()).sum();
    let with_args = rules.iter().filter(|r| r.get("args").is_some()).count();
    let present = |v: &Value| if v.is_null() { "none" } else { "present" };
    let cgroups_path = l["cgroupsPath"].as_str().unwrap_or("");
    let cgroups_path = match cgroups_path.rsplit_once("/libpod-") {
        Some((parent, _)) if parent.starts_with("/workbook-podman-") => {
            "/<--cgroup-parent>/libpod-<container id>".to_string()
        }
        _ => cgroups_path.to_string(),
    };
    let lines = [
        ("ociVersion", c["ociVersion"].as_str().unwrap_or("?").to_string()),
        ("process.args", strings(&p["args"]).join(" ")),
        ("process.env", env.join(", ")),
        ("process.cwd", p["cwd"].as_str().unwrap_or("?").to_string()),
        ("process.user", format!("uid {} gid {} umask {}", p["user"]["uid"], p["user"]["gid"], p["user"]["umask"])),
        ("process.terminal", p["terminal"].as_bool().unwrap_or(false).to_string()),
        ("process.capabilities", cap_sets.join(", ")),
        ("process.rlimits", rlimits.join(", ")),
        ("process.noNewPrivileges", p["noNewPrivileges"].as_bool().unwrap_or(false).to_string()),
        ("root.readonly", c["root"]["readonly"].as_bool().unwrap_or(false).to_string()),
        ("hostname", if c["hostname"].is_string() { "the container id's first 12 digits".into() } else { "none".into() }),
        ("mounts", mounts.join(", ")),
        ("linux.namespaces", namespaces.join(", ")),
        ("linux.resources", resources.join(", ")),
        ("linux.cgroupsPath", cgroups_path),
        ("linux.maskedPaths", format!("{} paths", strings(&l["maskedPaths"]).len())),
        ("linux.readonlyPaths", format!("{} paths", strings(&l["readonlyPaths"]).len())),
        ("linux.seccomp", format!(
            "defaultAction {} (errno {}), architectures {}, {} rules naming {names} calls, {with_args} with argument conditions",
            sc["defaultAction"].as_str().unwrap_or("?"),
            sc["defaultErrnoRet"],
            strings(&sc["architectures"]).join(" "),
            rules.len(),
        )),
        ("hooks", present(&c["hooks"]).to_string()),
        ("annotations", format!("{} (io.podman.annotations.*, io.container.manager, …)",
            c["annotations"].as_object().map_or(0, |o| o.len()))),
    ];
    lines.iter().map(|(k, v)| format!("{k:<26}{v}\n")).collect()
}
