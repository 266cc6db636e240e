//! Privileged: the full container, end to end through the built binary. Every check reads
//! what the process inside sees (its status file, its mounts, its IDs) or what the host has
//! afterwards (state directories, cgroups, mounts).
//!
//! Every test is `#[serial]`: each `run` also removes what earlier killed runs left, which
//! would race the test that checks what a SIGKILL leaves.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serial_test::serial;

const BIN: &str = env!("CARGO_BIN_EXE_07-full-container");

fn run(args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend(args);
    common::run_bin(BIN, &all)
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "run {args:?}: {:?}\n{}",
        out.status,
        common::stderr(&out)
    );
    common::stdout(&out)
}

/// A field of /proc/self/status as the command inside sees it.
fn status_field(text: &str, field: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} in {text}"))
        .trim()
        .to_string()
}

fn container_dir(name: &str) -> PathBuf {
    Path::new("/run/workbook/containers").join(name)
}

/// cgroup directories of ours named after `name` anywhere in the cgroup tree.
fn cgroups_named(name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}."))
            {
                found.push(path.clone());
            }
            if path.components().count() < 12 {
                stack.push(path);
            }
        }
    }
    found
}

#[test]
#[serial]
fn the_command_is_pid_1_with_its_own_hostname() {
    if !common::privileged("the_command_is_pid_1_with_its_own_hostname") {
        return;
    }
    assert_eq!(
        ok(&["--hostname", "box", "--", "sh", "-c", "echo $$; hostname"]),
        "1\nbox\n"
    );
}

#[test]
#[serial]
fn only_the_image_is_visible() {
    if !common::privileged("only_the_image_is_visible") {
        return;
    }
    let rootfs = workbook::rootfs::default_rootfs().expect("busybox rootfs");
    let mut expected: Vec<String> = std::fs::read_dir(&rootfs)
        .expect("list rootfs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    let mut inside: Vec<String> = ok(&["--", "ls", "/"]).lines().map(str::to_string).collect();
    inside.sort();
    assert_eq!(inside, expected);
}

#[test]
#[serial]
fn capabilities_are_dockers_default_and_no_new_privs_and_seccomp_are_on() {
    if !common::privileged("capabilities_are_dockers_default") {
        return;
    }
    let status = ok(&["--", "cat", "/proc/self/status"]);
    let docker_default = format!(
        "{:016x}",
        workbook::security::capabilities::mask(&workbook::security::capabilities::DOCKER_DEFAULT,)
    );
    assert_eq!(docker_default, "00000000a80425fb");
    for set in ["CapEff", "CapPrm", "CapBnd", "CapInh"] {
        assert_eq!(status_field(&status, set), docker_default, "{set}");
    }
    assert_eq!(status_field(&status, "CapAmb"), "0000000000000000");
    // The runtime holds off signals while it runs; the command must start with none blocked.
    assert_eq!(status_field(&status, "SigBlk"), "0000000000000000");
    assert_eq!(status_field(&status, "NoNewPrivs"), "1");
    assert_eq!(status_field(&status, "Seccomp"), "2");
}

#[test]
#[serial]
fn seccomp_denies_new_user_namespaces_and_mount_with_eperm() {
    if !common::privileged("seccomp_denies_new_user_namespaces_and_mount") {
        return;
    }
    let out = run(&[
        "--",
        "sh",
        "-c",
        "unshare -U true; echo unshare=$?; mount -t tmpfs none /mnt; echo mount=$?",
    ]);
    let text = common::stdout(&out);
    let err = common::stderr(&out);
    assert!(
        text.contains("unshare=1") && text.contains("mount=1"),
        "{text}"
    );
    assert!(
        err.contains("unshare(0x10000000): Operation not permitted"),
        "{err}"
    );
}

#[test]
#[serial]
fn masked_paths_read_empty_and_proc_sys_is_read_only() {
    if !common::privileged("masked_paths_read_empty") {
        return;
    }
    let text = ok(&[
        "--",
        "sh",
        "-c",
        "wc -c < /proc/keys; ls -A /sys/firmware | wc -l; \
         echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo proc-sys-ro",
    ]);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines, ["0", "0", "proc-sys-ro"], "{text}");
    // The host's /proc/keys is not empty for root, so the mask hides something.
    assert!(!std::fs::read_to_string("/proc/keys")
        .unwrap_or_default()
        .is_empty());
}

#[test]
#[serial]
fn read_only_root_refuses_writes_but_tmp_is_writable() {
    if !common::privileged("read_only_root_refuses_writes") {
        return;
    }
    let out = run(&[
        "--read-only",
        "--",
        "sh",
        "-c",
        "touch /x; echo root=$?; touch /tmp/x && echo tmp=ok",
    ]);
    let text = common::stdout(&out);
    assert!(text.contains("root=1") && text.contains("tmp=ok"), "{text}");
    assert!(common::stderr(&out).contains("Read-only file system"));
}

#[test]
#[serial]
fn writes_go_to_a_fresh_upper_layer_and_leave_the_image_unchanged() {
    if !common::privileged("writes_go_to_a_fresh_upper_layer") {
        return;
    }
    let rootfs = workbook::rootfs::default_rootfs().expect("busybox rootfs");
    ok(&["--", "sh", "-c", "echo changed > /etc/hostname; rm /bin/vi"]);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/hostname")).expect("image file"),
        "workbook\n"
    );
    assert!(rootfs.join("bin/vi").symlink_metadata().is_ok());
    // A second container starts from the image again, not from the first one's changes.
    assert_eq!(ok(&["--", "cat", "/etc/hostname"]), "workbook\n");
}

#[test]
#[serial]
fn a_memory_limit_oom_kills_and_is_reported() {
    if !common::privileged("a_memory_limit_oom_kills_and_is_reported") {
        return;
    }
    let out = run(&[
        "--memory",
        "32M",
        "--",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=100M",
        "count=1",
    ]);
    assert_eq!(out.status.code(), Some(137));
    assert!(
        common::stderr(&out)
            .contains("the kernel OOM-killed the command at the memory limit of 32 MiB"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
#[serial]
fn exit_statuses_pass_through() {
    if !common::privileged("exit_statuses_pass_through") {
        return;
    }
    assert_eq!(run(&["--", "true"]).status.code(), Some(0));
    assert_eq!(run(&["--", "sh", "-c", "exit 42"]).status.code(), Some(42));
}

fn started(args: &[&str]) -> (Child, i32) {
    let mut all = vec!["run"];
    all.extend(args);
    let mut child = Command::new(BIN)
        .args(&all)
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the runtime");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    if ready != "ready" {
        // It ended without starting its command: say how, and what it printed.
        let mut err = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
        let status = child.wait().expect("wait for the runtime");
        panic!("{args:?} did not start: {status}; stdout {ready:?}; stderr: {err}");
    }
    let tool = child.id() as i32;
    (child, tool)
}

/// Waits until the init of container `name` runs `comm`.
fn wait_for_init_command(name: &str, comm: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let init = std::fs::read_to_string(container_dir(name).join("init")).unwrap_or_default();
        let now =
            std::fs::read_to_string(format!("/proc/{}/comm", init.trim())).unwrap_or_default();
        if now.trim() == comm {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the container's init never ran {comm}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[rstest::rstest]
#[serial]
#[case(Signal::SIGINT, 130)]
#[case(Signal::SIGTERM, 143)]
fn a_signal_to_the_runtime_ends_the_container_with_128_plus_n(
    #[case] signal: Signal,
    #[case] code: i32,
) {
    if !common::privileged("a_signal_to_the_runtime_ends_the_container") {
        return;
    }
    let name = format!("sig{}", code);
    let (mut child, tool) = started(&[
        "--name",
        &name,
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 60",
    ]);
    // Signal once PID 1 is `sleep` (no handler): the shell before it might catch the signal.
    wait_for_init_command(&name, "sleep");
    kill(Pid::from_raw(tool), signal).expect("signal");
    assert_eq!(child.wait().expect("wait").code(), Some(code));
    assert!(!container_dir(&name).exists(), "state removed");
    assert!(cgroups_named(&name).is_empty(), "cgroup removed");
}

#[test]
#[serial]
fn env_and_workdir_are_applied() {
    if !common::privileged("env_and_workdir_are_applied") {
        return;
    }
    let text = ok(&[
        "-e",
        "GREETING=hello world",
        "-w",
        "/srv/app",
        "--",
        "sh",
        "-c",
        "echo $GREETING; pwd; echo $HOSTNAME",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], ["hello world", "/srv/app"]);
}

#[test]
#[serial]
fn rootless_maps_root_to_an_unprivileged_id() {
    if !common::privileged("rootless_maps_root_to_an_unprivileged_id") {
        return;
    }
    let text = ok(&[
        "--rootless",
        "--",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; touch /made && stat -c %u /made",
    ]);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words, ["0", "0", "65534", "1", "0"], "{text}");
}

#[test]
#[serial]
fn rootless_runs_for_a_normal_user() {
    if !common::privileged("rootless_runs_for_a_normal_user") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // A home of nobody's own, holding a copy of the binary (the checkout may be closed to
    // other users): nobody runs a container with no privilege at all.
    let home = tempfile::tempdir().expect("temp dir");
    let bin = home.path().join("07-full-container");
    std::fs::copy(BIN, &bin).expect("copy the binary");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::chown(home.path(), Some(65534), Some(65534)).expect("chown");
    let out = Command::new(&bin)
        .args([
            "run",
            "--rootless",
            "--",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; echo $$",
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .env("PATH", "/usr/bin:/bin")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run as nobody");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let words: Vec<String> = common::stdout(&out)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(words, ["0", "0", "65534", "1", "1"]);
    // Everything it made under its runtime dir is gone again.
    let left = std::fs::read_dir(home.path().join("workbook/containers"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "the rootless run left state behind");
}

#[test]
#[serial]
fn every_namespace_is_new_and_the_clocks_start_at_zero() {
    if !common::privileged("every_namespace_is_new") {
        return;
    }
    let script = "for k in mnt pid net ipc uts user cgroup time; do readlink /proc/self/ns/$k; done; cut -d. -f1 /proc/uptime";
    for (rootless, same) in [(false, vec!["user"]), (true, vec![])] {
        let mut args = vec![];
        if rootless {
            args.push("--rootless");
        }
        args.extend(["--", "sh", "-c", script]);
        let text = ok(&args);
        let mut lines: Vec<&str> = text.lines().collect();
        let uptime: u64 = lines.pop().expect("uptime").parse().expect("seconds");
        for line in lines {
            let (kind, rest) = line.split_once(":[").expect("ns link");
            let inside: u64 = rest.trim_end_matches(']').parse().expect("inode");
            let outside = workbook::namespace::Namespace::from_name(kind)
                .expect("kind")
                .inode(None)
                .expect("host inode");
            if same.contains(&kind) {
                assert_eq!(inside, outside, "{kind} shared (rootless={rootless})");
            } else {
                assert_ne!(inside, outside, "{kind} new (rootless={rootless})");
            }
        }
        let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .expect("uptime")
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .expect("host uptime");
        assert!(
            uptime < 60 && (uptime as f64) < host_uptime,
            "uptime inside {uptime}"
        );
    }
}

#[test]
#[serial]
fn two_containers_run_at_once_without_interfering() {
    if !common::privileged("two_containers_run_at_once") {
        return;
    }
    let (mut a, _) = started(&["--name", "two-a", "--", "sh", "-c", "echo ready; read _"]);
    let (mut b, _) = started(&["--name", "two-b", "--", "sh", "-c", "echo ready; read _"]);
    let ps = common::stdout(&common::run_bin(BIN, &["ps"]));
    assert!(ps.contains("two-a") && ps.contains("two-b"), "{ps}");
    let init = |name: &str| -> i32 {
        std::fs::read_to_string(container_dir(name).join("init"))
            .expect("init pid")
            .trim()
            .parse()
            .expect("pid")
    };
    let ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/mnt")).expect("ns");
    assert_ne!(ns(init("two-a")), ns(init("two-b")));
    assert_eq!(cgroups_named("two-a").len(), cgroups_named("two-b").len());
    assert!(!cgroups_named("two-a").is_empty());
    drop(a.stdin.take());
    drop(b.stdin.take());
    let _ = kill(Pid::from_raw(a.id() as i32), Signal::SIGTERM);
    let _ = kill(Pid::from_raw(b.id() as i32), Signal::SIGTERM);
    a.wait().expect("a");
    b.wait().expect("b");
    assert!(!container_dir("two-a").exists() && !container_dir("two-b").exists());
}

#[test]
#[serial]
fn a_name_in_use_is_refused() {
    if !common::privileged("a_name_in_use_is_refused") {
        return;
    }
    let (mut first, tool) = started(&[
        "--name",
        "taken",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 60",
    ]);
    let out = run(&["--name", "taken", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(common::stderr(&out).contains("the name taken is already in use"));
    kill(Pid::from_raw(tool), Signal::SIGTERM).expect("signal");
    first.wait().expect("wait");
}

#[test]
#[serial]
fn a_runtime_killed_with_sigkill_leaves_state_that_cleanup_removes() {
    if !common::privileged("a_runtime_killed_with_sigkill_leaves_state") {
        return;
    }
    let mounts_before = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let (mut child, tool) = started(&[
        "--name",
        "killed",
        "--memory",
        "64M",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 60",
    ]);
    let init: i32 = std::fs::read_to_string(container_dir("killed").join("init"))
        .expect("init")
        .trim()
        .parse()
        .expect("pid");
    kill(Pid::from_raw(tool), Signal::SIGKILL).expect("SIGKILL");
    child.wait().expect("wait");
    // The container's init dies with the runtime (PR_SET_PDEATHSIG), its mounts with its
    // mount namespace; the state dir and the cgroup stay.
    common::wait_until_dead(init);
    assert!(
        container_dir("killed").exists(),
        "SIGKILL leaves the state dir"
    );
    assert!(
        !cgroups_named("killed").is_empty(),
        "SIGKILL leaves the cgroup"
    );
    let out = common::run_bin(BIN, &["cleanup"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("killed"),
        "{}",
        common::stdout(&out)
    );
    assert!(!container_dir("killed").exists());
    assert!(cgroups_named("killed").is_empty());
    assert_eq!(
        mounts_before,
        std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo")
    );
}

#[test]
#[serial]
fn bad_input_is_one_sentence_and_leaves_nothing() {
    if !common::privileged("bad_input_is_one_sentence") {
        return;
    }
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["--image", "no-such-image:1", "--", "true"],
            125,
            "unknown image \"no-such-image:1\"",
        ),
        (
            &["--", "no-such-command"],
            127,
            "no-such-command: not found in the image",
        ),
        (&["--memory", "12Q", "--", "true"], 2, "12Q"),
        (
            &["--rootfs", "/etc/hostname", "--", "true"],
            125,
            "is not a directory",
        ),
        (&["--name", "bad/name", "--", "true"], 2, "is not valid"),
    ];
    let before = common::container_states();
    for (args, code, message) in cases {
        common::assert_refused(&run(args), args, code, message);
    }
    assert!(
        common::container_states() <= before,
        "bad input left state behind"
    );
}

#[test]
#[serial]
fn the_tour_shows_what_the_container_sees() {
    if !common::privileged("the_tour_shows_what_the_container_sees") {
        return;
    }
    let out = common::run_bin(BIN, &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("I am PID 1, on host box, as uid 0."),
        "{text}"
    );
    let redacted: String = text
        .lines()
        .map(|l| {
            if l.starts_with("My uptime") {
                let network = l.split("network: ").nth(1).unwrap_or("");
                format!("My uptime (time namespace): <SECONDS> s; network: {network}")
            } else if l.starts_with("My cgroup: ") {
                "My cgroup: <the first line of /proc/self/cgroup: a path of />".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    // The book shows the tour on this kind of machine (cgroup v1 or hybrid); on a pure v2
    // kernel (the VM) the cgroup lines differ, so check those and leave the book's copy alone.
    let fs = workbook::cgroup::CgroupFs::detect().expect("cgroup layout");
    if fs.layout == workbook::cgroup::Layout::Unified {
        assert!(text.contains("  memory.max = 67108864"), "{text}");
        assert!(text.contains("  pids.max = 64"), "{text}");
        assert!(text.contains("  cpu.max = 50000 100000"), "{text}");
    } else {
        common::assert_book_output("07-full-container-tour", &format!("{redacted}\n"));
    }
}
