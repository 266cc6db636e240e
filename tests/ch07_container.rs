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

#[track_caller]
fn ok(args: &[&str]) -> String {
    let out = run(args);
    common::verdict::succeeded(&out, &format!("07-full-container run {}", args.join(" ")));
    common::stdout(&out)
}

/// A field of /proc/self/status as the command inside sees it.
fn status_field(text: &str, field: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("inside, /proc/self/status has no {field} line"))
        .trim()
        .to_string()
}

fn container_dir(name: &str) -> PathBuf {
    workbook::container::host_files::containers_dir().join(name)
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_command_is_pid_1_with_its_own_hostname() {
    if !privileged!() {
        return;
    }
    assert_eq!(
        ok(&["--hostname", "box", "--", "sh", "-c", "echo $$; hostname"]),
        "1\nbox\n"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn only_the_image_is_visible() {
    if !privileged!() {
        return;
    }
    let rootfs = workbook::rootfs::default_rootfs().expect("busybox rootfs");
    let mut expected: Vec<String> = std::fs::read_dir(&rootfs)
        .expect("list rootfs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    let mut inside: Vec<String> =
        ok(&["--", "ls", "/"]).lines().map(str::to_string).collect();
    inside.sort();
    assert_eq!(inside, expected);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn capabilities_are_dockers_default_and_no_new_privs_and_seccomp_are_on() {
    if !privileged!() {
        return;
    }
    let status = ok(&["--", "cat", "/proc/self/status"]);
    let docker_default = format!(
        "{:016x}",
        workbook::security::capabilities::mask(
            &workbook::security::capabilities::DOCKER_DEFAULT,
        )
    );
    assert_eq!(docker_default, "00000000a80425fb");
    let bits = |hex: &str| u64::from_str_radix(hex, 16).unwrap_or(u64::MAX);
    let numbers = |mask: u64| -> String {
        let n: Vec<String> = (0..64)
            .filter(|b| mask & (1 << b) != 0)
            .map(|b| b.to_string())
            .collect();
        n.join(", ")
    };
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        let got = status_field(&status, set);
        let (have, want) = (bits(&got), bits(&docker_default));
        assert!(
            have == want,
            "inside, {set} is {got}, not Docker's {docker_default}{}{}: the bounding set \
             loses every capability not kept (0 to the last, PR_CAPBSET_DROP), then effective \
             and permitted are set to the kept ones",
            if have & !want != 0 { format!("; extra: {}", numbers(have & !want)) } else { String::new() },
            if want & !have != 0 { format!("; missing: {}", numbers(want & !have)) } else { String::new() },
        );
    }
    // Nothing may pass through an exec by the inheritable or ambient sets (CVE-2022-24769):
    // a program with file-inheritable capabilities would otherwise gain them, even when a
    // non-root user runs it.
    for set in ["CapInh", "CapAmb"] {
        let got = status_field(&status, set);
        assert_eq!(
            got, "0000000000000000",
            "inside, {set} is {got}, not empty: nothing may pass to a program through the \
             inheritable or ambient set (CVE-2022-24769)"
        );
    }
    // The runtime holds off signals while it runs; the command must start with none
    // blocked.
    let blocked = status_field(&status, "SigBlk");
    assert_eq!(
        blocked, "0000000000000000",
        "inside, the command starts with signals blocked (SigBlk {blocked}): unblock them \
         before exec"
    );
    let nnp = status_field(&status, "NoNewPrivs");
    assert_eq!(
        nnp, "1",
        "inside, NoNewPrivs is {nnp}, not 1: set it with prctl(PR_SET_NO_NEW_PRIVS, 1), so \
         that no exec can grant privileges again"
    );
    let seccomp = status_field(&status, "Seccomp");
    assert_eq!(
        seccomp, "2",
        "inside, Seccomp is {seccomp}, not 2 (a filter): the filter must be installed last"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn seccomp_denies_new_user_namespaces_and_mount_with_eperm() {
    if !privileged!() {
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
        text.contains("unshare="),
        "the command never ran: `07-full-container run -- sh -c 'unshare -U true; mount …'` {} \
         and said {}",
        common::verdict::status(out.status),
        common::verdict::first_line(&err)
    );
    assert!(
        text.contains("unshare=1") && text.contains("mount=1"),
        "inside, `unshare -U` and `mount -t tmpfs` ended with {}: the seccomp filter must \
         make both fail (status 1)",
        text.split_whitespace().collect::<Vec<_>>().join(" and ")
    );
    assert!(
        err.contains("unshare(0x10000000): Operation not permitted"),
        "inside, unshare(CLONE_NEWUSER) failed, but not with EPERM ({}): the filter answers \
         EPERM",
        common::verdict::first_line(&err)
    );
}

/// runc's and Docker's default masked paths: hidden behind an empty read-only tmpfs (a
/// directory) or the container's /dev/null (a file).
const MASKED: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// runc's and Docker's default read-only paths.
const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn masked_paths_read_empty_and_read_only_paths_refuse_writes() {
    if !privileged!() {
        return;
    }
    // For each masked path: whether it is there, and how many bytes or entries it shows.
    // For each read-only path: the kernel's answer to a write (a new file in a directory,
    // a write to a file), as the shell or touch prints it.
    let mut script = String::new();
    for path in MASKED {
        script.push_str(&format!(
            "if [ -d {path} ]; then echo \"{path} dir $(ls -A {path} | wc -l)\"; \
             elif [ -e {path} ]; then echo \"{path} file $(wc -c < {path})\"; \
             else echo \"{path} absent\"; fi; "
        ));
    }
    for path in READ_ONLY {
        // Open a file of it for writing, and write nothing: harmless even where the mount
        // is missing. (Creating a new file is no probe: procfs answers ENOENT before
        // EROFS.)
        script.push_str(&format!(
            "if [ -d {path} ]; then f=$(find {path} -type f | head -n 1); else f={path}; fi; \
             if [ -n \"$f\" ] && [ -e \"$f\" ]; then (: >> \"$f\") 2>&1; \
             echo \"{path} write $?\"; else echo \"{path} nofile\"; fi; "
        ));
    }
    script
        .push_str("(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; cat /proc/self/mountinfo");
    let text = ok(&["--", "sh", "-c", &script]);
    let mount_points: Vec<&str> =
        text.lines().filter_map(|l| l.split(' ').nth(4)).collect();
    for path in MASKED {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{path} ")))
            .unwrap_or_else(|| panic!("{path}: no answer in\n{text}"));
        if line.ends_with(" absent") {
            // Only a path the kernel does not have may be missing inside.
            assert!(
                std::fs::symlink_metadata(path).is_err(),
                "{path} is on the host but not inside"
            );
            continue;
        }
        let count: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(u64::MAX);
        assert_eq!(count, 0, "{path} shows something: {line}");
        assert!(
            mount_points.contains(&path),
            "{path} is not covered by a mount:\n{text}"
        );
    }
    for path in READ_ONLY {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        // The kernel's mount table: the path is a mount of its own, read-only.
        let options = text
            .lines()
            .filter(|l| l.split(' ').nth(4) == Some(path))
            .filter_map(|l| l.split(' ').nth(5))
            .next_back()
            .unwrap_or_else(|| panic!("{path} is not a mount point:\n{text}"));
        assert!(
            options.split(',').any(|o| o == "ro"),
            "{path} is mounted {options}"
        );
        // And its answer to a write, where it has a file to write to.
        let lines: Vec<&str> = text.lines().collect();
        if lines.contains(&format!("{path} nofile").as_str()) {
            continue;
        }
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("{path} write ")))
            .unwrap_or_else(|| panic!("{path}: no answer in\n{text}"));
        assert_ne!(
            lines[at],
            format!("{path} write 0"),
            "{path} took the write"
        );
        let answer = lines[..at].last().copied().unwrap_or("");
        assert!(
            answer.contains("Read-only file system"),
            "{path}: the write was not refused with EROFS: {answer:?}"
        );
    }
    assert!(
        text.contains("/proc/sys/kernel/ns_last_pid: Read-only file system"),
        "{text}"
    );
    // The host's /proc/keys is not empty for root, so the mask hides something.
    assert!(!std::fs::read_to_string("/proc/keys")
        .unwrap_or_default()
        .is_empty());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn read_only_root_refuses_writes_but_tmp_is_writable() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn writes_go_to_a_fresh_upper_layer_and_leave_the_image_unchanged() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_memory_limit_oom_kills_and_is_reported() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn exit_statuses_pass_through() {
    if !privileged!() {
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
        let init =
            std::fs::read_to_string(container_dir(name).join("init")).unwrap_or_default();
        let now = std::fs::read_to_string(format!("/proc/{}/comm", init.trim()))
            .unwrap_or_default();
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn a_signal_to_the_runtime_ends_the_container_with_128_plus_n(
    #[case] signal: Signal,
    #[case] code: i32,
) {
    if !privileged!() {
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
    // Signal once PID 1 is `sleep` (no handler): the shell before it might catch the
    // signal.
    wait_for_init_command(&name, "sleep");
    kill(Pid::from_raw(tool), signal).expect("signal");
    assert_eq!(child.wait().expect("wait").code(), Some(code));
    assert!(!container_dir(&name).exists(), "state removed");
    assert!(cgroups_named(&name).is_empty(), "cgroup removed");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn env_and_workdir_are_applied() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn rootless_maps_root_to_an_unprivileged_id() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn rootless_runs_for_a_normal_user() {
    if !privileged!() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // A home of nobody's own, holding a copy of the binary (the checkout may be closed to
    // other users): nobody runs a container with no privilege at all.
    let home = tempfile::tempdir().expect("temp dir");
    let bin = home.path().join("07-full-container");
    std::fs::copy(BIN, &bin).expect("copy the binary");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
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
    // Its writable layer was in its XDG data dir, on disk, and is gone too (removed after
    // the status was out).
    let layers = home
        .path()
        .join(".local/share/container-workbook/containers");
    let layer = std::fs::read_dir(&layers)
        .expect("the rootless run kept its writable layer in ~/.local/share")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect::<Vec<_>>();
    for path in &layer {
        common::wait_until_gone(path);
    }
    let left = std::fs::read_dir(&layers).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "the rootless run left its writable layer behind");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn every_namespace_is_new_and_the_clocks_start_at_zero() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn two_containers_run_at_once_without_interfering() {
    if !privileged!() {
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

/// The kernel's view of membership: the cgroup of every hierarchy lists the container's
/// init and a process it forked. On v2 the init is born inside (clone3); on v1 it moves
/// itself in before it does anything else, and a late or partial move would leave it, or
/// what it forks, in the runtime's cgroup of some hierarchy.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_init_and_what_it_forks_are_in_the_cgroup_of_every_hierarchy() {
    if !privileged!() {
        return;
    }
    let name = "incg";
    let (mut child, _) = started(&[
        "--name",
        name,
        "--memory",
        "64M",
        "--pids",
        "64",
        "--",
        "sh",
        "-c",
        "sleep 60 & echo ready; read _; exit 0",
    ]);
    let init: i32 = std::fs::read_to_string(container_dir(name).join("init"))
        .expect("init pid")
        .trim()
        .parse()
        .expect("pid");
    let forked: Vec<i32> =
        std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"))
            .expect("the init's children")
            .split_whitespace()
            .map(|p| p.parse().expect("pid"))
            .collect();
    assert_eq!(forked.len(), 1, "the init forked one sleep: {forked:?}");
    // On v1, `cpu` and `cpuacct` are often symbolic links to one `cpu,cpuacct` hierarchy.
    let mut dirs: Vec<PathBuf> = cgroups_named(name)
        .iter()
        .map(|d| d.canonicalize().expect("a cgroup directory"))
        .collect();
    dirs.sort();
    dirs.dedup();
    // v1: one per hierarchy of the controllers a limited run uses (how they are grouped
    // into hierarchies varies from machine to machine); v2: the one `0::` line.
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
    let used = ["cpu", "cpuacct", "memory", "pids", "devices"];
    let v1 = own
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .filter(|ctrls| ctrls.split(',').any(|c| used.contains(&c)))
        .count();
    let expected = if v1 == 0 { 1 } else { v1 };
    assert_eq!(dirs.len(), expected, "one cgroup per hierarchy: {dirs:?}");
    for dir in &dirs {
        let procs =
            std::fs::read_to_string(dir.join("cgroup.procs")).expect("cgroup.procs");
        let procs: Vec<i32> = procs.lines().map(|p| p.parse().expect("pid")).collect();
        for pid in [init, forked[0]] {
            assert!(
                procs.contains(&pid),
                "{} lists {procs:?}, not {pid}",
                dir.display()
            );
        }
    }
    drop(child.stdin.take());
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    assert!(cgroups_named(name).is_empty(), "cgroup removed");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_name_in_use_is_refused() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_runtime_killed_with_sigkill_leaves_state_that_cleanup_removes() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn bad_input_is_one_sentence_and_leaves_nothing() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_tour_shows_what_the_container_sees() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("I am PID 1, on host box, as uid 0."),
        "{text}"
    );
    // The container's cgroup namespace was made after it was attached, so the cgroup it is
    // in is the root of what it sees: `/`, on the line of a controller that holds its
    // limits (memory on v1 and hybrid, the one `0::` line on v2).
    assert!(
        text.lines().any(|l| l == "My cgroup: /"),
        "the container should see its own cgroup as /:\n{text}"
    );
    // Only the uptime varies from run to run.
    let redacted: String = text
        .lines()
        .map(|l| {
            if l.starts_with("My uptime") {
                let network = l.split("network: ").nth(1).unwrap_or("");
                format!("My uptime (time namespace): <SECONDS> s; network: {network}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    // The book shows the tour twice: as it looks on pure cgroup v2 (current distributions;
    // the VM, where CI runs this test) and on a v1 or hybrid host. Each layout checks its
    // own copy.
    let fs = workbook::cgroup::CgroupFs::detect().expect("cgroup layout");
    let (book_copy, limits): (&str, [&str; 3]) =
        if fs.layout == workbook::cgroup::Layout::Unified {
            (
                "07-full-container-tour-v2",
                [
                    "  memory.max = 67108864",
                    "  pids.max = 64",
                    "  cpu.max = 50000 100000",
                ],
            )
        } else {
            (
                "07-full-container-tour-hybrid",
                [
                    "  memory/memory.limit_in_bytes = 67108864",
                    "  pids/pids.max = 64",
                    "  cpu/cpu.cfs_quota_us = 50000",
                ],
            )
        };
    for limit in limits {
        assert!(
            text.lines().any(|l| l == limit),
            "{limit:?} missing:\n{text}"
        );
    }
    common::assert_book_output(book_copy, &format!("{redacted}\n"));
}

// --- issue 11: where the writable layer lives; a file that is not an image
// ------------------

/// A tmpfs mounted at a temp dir, as `/run` is on most hosts: the runtime's state root for
/// the test. Unmounted on every path.
struct TmpfsState {
    dir: tempfile::TempDir,
}

impl TmpfsState {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        nix::mount::mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=16m,mode=0755"),
        )
        .expect("mount a tmpfs");
        TmpfsState { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TmpfsState {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.dir.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Starts a container named `name` whose state goes to `state`; returns it and its init
/// pid.
fn started_with_state(name: &str, state: &Path) -> (Child, i32) {
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--name",
            name,
            "--",
            "sh",
            "-c",
            "echo ready; read _; exit 0",
        ])
        .env("WORKBOOK_STATE", state)
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .expect("start the runtime");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    assert_eq!(ready, "ready", "the container did not start");
    let init = std::fs::read_to_string(state.join("containers").join(name).join("init"))
        .expect("init")
        .trim()
        .parse()
        .expect("pid");
    (child, init)
}

/// The upper dir of the overlay that is the root of `pid`, as the kernel shows its options.
fn upperdir_of(pid: i32) -> PathBuf {
    let mountinfo =
        std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let root = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/") && l.contains(" - overlay "))
        .unwrap_or_else(|| panic!("no overlay root in {mountinfo}"));
    let upper = root
        .split([',', ' '])
        .find_map(|opt| opt.strip_prefix("upperdir="))
        .unwrap_or_else(|| panic!("no upperdir in {root}"));
    PathBuf::from(upper.replace("\\040", " "))
}

const TMPFS_MAGIC: i64 = 0x0102_1994;

fn fs_type(path: &Path) -> i64 {
    nix::sys::statfs::statfs(path)
        .expect("statfs")
        .filesystem_type()
        .0 as i64
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_writable_layer_is_on_disk_even_when_the_state_is_on_a_tmpfs() {
    if !privileged!() {
        return;
    }
    let state = TmpfsState::new();
    assert_eq!(fs_type(state.path()), TMPFS_MAGIC);
    let (mut child, init) = started_with_state("on-disk", state.path());
    let upper = upperdir_of(init);
    let kind = fs_type(&upper);
    drop(child.stdin.take());
    assert!(child.wait().expect("wait").success());
    assert_ne!(
        kind,
        TMPFS_MAGIC,
        "the upper dir {} is on a tmpfs: a container's writes fill the host's memory",
        upper.display()
    );
    assert!(!upper.starts_with(state.path()), "{}", upper.display());
    // The state goes before the status is out, the layer right after.
    assert!(!state.path().join("containers/on-disk").exists());
    common::wait_until_gone(upper.parent().expect("layer dir"));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_sigkilled_runs_writable_layer_is_removed_by_cleanup() {
    if !privileged!() {
        return;
    }
    let state = TmpfsState::new();
    let (mut child, init) = started_with_state("killed-disk", state.path());
    let upper = upperdir_of(init);
    // The disk part is apart from the state on the tmpfs: cleanup must find it on its own.
    assert!(!upper.starts_with(state.path()), "{}", upper.display());
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("SIGKILL");
    child.wait().expect("wait");
    common::wait_until_dead(init);
    assert!(upper.exists(), "SIGKILL leaves the upper dir");
    let out = Command::new(BIN)
        .arg("cleanup")
        .env("WORKBOOK_STATE", state.path())
        .output()
        .expect("cleanup");
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("killed-disk"),
        "{}",
        common::stdout(&out)
    );
    assert!(
        !upper.exists(),
        "cleanup left the upper dir {}",
        upper.display()
    );
    assert!(!upper.parent().expect("layer dir").exists());
    assert!(!state.path().join("containers/killed-disk").exists());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_file_that_is_not_an_image_is_one_line_and_never_printed() {
    if !privileged!() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Shaped like /etc/shadow, and longer than one tar block.
    let mut shadow =
        String::from("root:$6$SECRETSALT$SECRETHASHSECRETHASH:19000:0:99999:7:::\n");
    for user in 0..40 {
        shadow.push_str(&format!("user{user}:*:19000:0:99999:7:::\n"));
    }
    let file = dir.path().join("shadow");
    std::fs::write(&file, shadow).expect("write");
    let out = Command::new(BIN)
        .args(["run", "--image", file.to_str().expect("path"), "--", "true"])
        .env("WORKBOOK_STORE", dir.path().join("store"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run");
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not an image archive"), "{err}");
    assert!(!err.contains("SECRET") && !err.contains("root:"), "{err}");
}
