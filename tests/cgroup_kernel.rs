//! Privileged: the kernel enforces the limits 05-cgroups sets, on whatever layout this
//! machine has (hybrid/v1 on the dev machine, pure v2 in the VM), and nothing of ours is
//! left after.
//!
//! The test harness is multi-threaded, so the tests drive the built binary; the binary
//! reads the kernel's counters before it removes the cgroup and prints them, and the tests
//! check them against what they can see of the kernel themselves (/proc/vmstat, wait4's
//! rusage, /proc/PID/cgroup, the cgroup directories).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serial_test::serial;
use workbook::cgroup::{CgroupFs, Layout};

const BIN: &str = env!("CARGO_BIN_EXE_05-cgroups");

/// The cgroup directories a run printed in its `running … in DIRS [layout]` line.
fn dirs_of(stderr: &str) -> Vec<PathBuf> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("05-cgroups: running `"))
        .unwrap_or_else(|| panic!("no 'running' line in: {stderr}"));
    let after = line.rsplit_once("` in ").expect("dirs").1;
    let dirs = after.split(" [").next().expect("dirs");
    dirs.split(' ').map(PathBuf::from).collect()
}

/// A figure from the report: the number after `key` (the first run of digits and dots).
fn figure(text: &str, key: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no '{key}' in: {text}"));
    let rest = &line.trim_start()[key.len()..];
    let start = rest.find(|c: char| c.is_ascii_digit()).expect("a number");
    let number: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().expect("a number")
}

/// Checks that the run's directories are gone, and that no `workbook/` parent holds a
/// cgroup of a 05-cgroups run that has ended (its owner pid is gone). The parents
/// themselves stay for good (see `cgroup::PARENT_NAME`), and other runs' live cgroups may
/// be in them.
fn assert_nothing_left(dirs: &[PathBuf]) {
    use workbook::cgroup::cleanup::owner_of;
    use workbook::owner::owner_alive;
    for d in dirs {
        assert!(!d.exists(), "{} is left behind", d.display());
    }
    let fs = CgroupFs::detect().expect("layout");
    for parent in workbook::cgroup::parents(&fs) {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let leaf = entry.file_name().to_string_lossy().into_owned();
            let ended = owner_of(&leaf).is_some_and(|owner| !owner_alive(&owner));
            assert!(
                !(leaf.starts_with("05-cgroups.") && entry.path().is_dir() && ended),
                "{} is left behind",
                entry.path().display()
            );
        }
    }
}

fn layout() -> Layout {
    CgroupFs::detect().expect("layout").layout
}

/// The kernel's count of OOM kills since boot.
fn vmstat_oom_kills() -> u64 {
    let text = std::fs::read_to_string("/proc/vmstat").expect("/proc/vmstat");
    workbook::cgroup::usage::parse_flat_keyed(&text, "oom_kill")
        .expect("oom_kill in vmstat")
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_100_mib_allocation_under_32m_is_oom_killed_and_read_back() {
    if !privileged!() {
        return;
    }
    let before = vmstat_oom_kills();
    let out = common::run_bin(
        BIN,
        &[
            "--memory",
            "32M",
            "--",
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=100M",
            "count=1",
        ],
    );
    let err = common::stderr(&out);
    eprintln!("[layout: {:?}]\n{err}", layout());
    assert_eq!(
        out.status.code(),
        Some(137),
        "`05-cgroups --memory 32M -- dd bs=100M` {} and said {}: under a 32 MiB limit the \
         kernel's OOM killer must end dd with SIGKILL (status 137)",
        common::verdict::status(out.status),
        common::verdict::first_line(&err)
    );
    // The cgroup's own counter (memory.events oom_kill, or memory.oom_control oom_kill on
    // v1).
    assert!(
        err.contains("OOM killed:      yes"),
        "the report after dd's SIGKILL does not say \"OOM killed: yes\": the cgroup's OOM \
         kill count must be read from memory.events (v2) or memory.oom_control (v1), key \
         oom_kill:\n{err}"
    );
    assert!(figure(&err, "OOM killed:") >= 1.0);
    // The kernel-wide counter moved as well.
    assert!(
        vmstat_oom_kills() > before,
        "/proc/vmstat oom_kill did not move"
    );
    // The peak never went past the limit (read back as the kernel stores it).
    assert!(err.contains("(limit 32 MiB)"), "{err}");
    assert!(figure(&err, "memory peak:") <= 32.0, "{err}");
    assert_nothing_left(&dirs_of(&err));
    // Chapter 5's "Run it" shows this run. Its figures were checked above; in the book's
    // copy the ones that vary (CPU time, the peak, where the cgroup is) are replaced.
    common::assert_book_output("05-cgroups-oom", &redact_figures(&err));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_fork_loop_under_pids_16_gets_eagain_and_never_exceeds_16() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--pids", "16", "--", BIN, "--workload", "forks"]);
    let (text, err) = (common::stdout(&out), common::stderr(&out));
    eprintln!("[layout: {:?}]\n{text}{err}", layout());
    common::verdict::succeeded(&out, "05-cgroups --pids 16 -- 05-cgroups --workload forks");
    // The fork loop itself saw the kernel refuse with EAGAIN...
    assert!(
        text.contains("fork() failed: EAGAIN"),
        "the fork loop under --pids 16 never saw fork() fail with EAGAIN: the workload must \
         be inside the cgroup (its PID written to cgroup.procs) before it runs"
    );
    // ...when it and its children filled the limit: 1 + children <= 16.
    let children = figure(&text, "With");
    assert!(
        children + 1.0 <= 16.0 && children >= 1.0,
        "the fork loop made {children} children before EAGAIN: with itself, the cgroup may \
         hold 16 tasks, so 1 to 15 children"
    );
    // pids.peak: the most tasks the cgroup ever held.
    let peak = figure(&err, "most pids:");
    assert!(peak <= 16.0 && peak >= children + 1.0, "{err}");
    assert!(figure(&err, "forks refused:") >= 1.0, "{err}");
    assert_nothing_left(&dirs_of(&err));
}

/// Runs `cmd` to the end and returns its output, wall time and the CPU time of its whole
/// tree (wait4's rusage covers every descendant it waited for, the workload included).
fn run_with_rusage(args: &[&str]) -> (String, Duration, Duration) {
    let start = Instant::now();
    // Reaped below with wait4(2), not Child::wait, to get the rusage of the whole tree.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let pid = child.id() as i32;
    let mut err = String::new();
    let mut stderr = child.stderr.expect("stderr");
    std::io::Read::read_to_string(&mut stderr, &mut err).expect("read stderr");
    let mut status = 0;
    // SAFETY: plain wait4 on our own child with valid pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let wall = start.elapsed();
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{err}"
    );
    (err, wall, tv(usage.ru_utime) + tv(usage.ru_stime))
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_busy_loop_under_cpus_0_2_is_throttled() {
    if !privileged!() {
        return;
    }
    let (err, wall, cpu) =
        run_with_rusage(&["--cpus", "0.2", "--", BIN, "--workload", "spin"]);
    eprintln!(
        "[layout: {:?}] wall {wall:?}, rusage CPU {cpu:?}\n{err}",
        layout()
    );
    // cpu.stat: periods in which the group ran out of quota.
    let throttled = figure(&err, "throttled:       in");
    assert!(throttled > 0.0, "{err}");
    // The loop wants the CPU the whole second; the quota gives it a fifth. Both the
    // cgroup's counter and the kernel's per-process accounting say it got well under half.
    let cgroup_cpu = figure(&err, "CPU time:");
    assert!(wall >= Duration::from_secs(1));
    assert!(cgroup_cpu < 0.5 * wall.as_secs_f64(), "{err}");
    assert!(
        cpu.as_secs_f64() < 0.5 * wall.as_secs_f64(),
        "rusage {cpu:?}"
    );
    assert_nothing_left(&dirs_of(&err));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_cgroup_namespace_shows_root_inside() {
    if !privileged!() {
        return;
    }
    let script = "cat /proc/self/cgroup; echo ns=$(readlink /proc/self/ns/cgroup)";
    let out = common::run_bin(BIN, &["--memory", "64M", "--", "sh", "-c", script]);
    let (text, err) = (common::stdout(&out), common::stderr(&out));
    eprintln!("[layout: {:?}]\n{text}{err}", layout());
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("ns=")).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(line.ends_with(":/"), "not at the namespace root: {line}");
    }
    // Outside, this process sees paths that are not "/" for the workload's cgroup (the
    // memory one on v1 here, workbook/... on v2): the "/" above comes from the namespace.
    let inside_ns = text
        .lines()
        .find_map(|l| l.strip_prefix("ns="))
        .expect("ns line");
    let outside_ns = std::fs::read_link("/proc/self/ns/cgroup").expect("own ns");
    assert_ne!(Path::new(inside_ns), outside_ns.as_path());
    let dirs = dirs_of(&err);
    assert!(dirs
        .iter()
        .all(|d| d.to_string_lossy().contains("/workbook/")));
    assert_nothing_left(&dirs);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_run_killed_with_sigkill_is_cleaned_up_by_the_next_run() {
    if !privileged!() {
        return;
    }
    // The workload's shell dies with the tool (PR_SET_PDEATHSIG); its background sleep does
    // not, and stays in the cgroup.
    let mut tool = Command::new(BIN)
        .args(["--pids", "8", "--", "sh", "-c", "sleep 60 & echo $! ; wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut header = String::new();
    BufReader::new(tool.stderr.take().expect("stderr"))
        .read_line(&mut header)
        .expect("header");
    let mut sleep_pid = String::new();
    BufReader::new(tool.stdout.take().expect("stdout"))
        .read_line(&mut sleep_pid)
        .expect("sleep pid");
    let sleep_pid: i32 = sleep_pid.trim().parse().expect("pid");
    let dirs = dirs_of(&header);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(tool.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    tool.wait().expect("reap");
    // Left behind, with the orphan inside: the kernel still lists it.
    let procs =
        |d: &Path| std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    while dirs.iter().any(|d| procs(d).lines().count() != 1) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for d in &dirs {
        assert!(
            d.exists(),
            "{} should be left by the killed run",
            d.display()
        );
        assert_eq!(procs(d).trim(), sleep_pid.to_string(), "{}", d.display());
    }
    // The next run finds it, kills the orphan and removes it.
    let out = common::run_bin(BIN, &["--", "true"]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let leaf = dirs[0]
        .file_name()
        .expect("leaf")
        .to_string_lossy()
        .into_owned();
    assert!(
        err.contains(&format!(
            "removed the cgroup {leaf} left by a run that was killed"
        )),
        "{err}"
    );
    let state =
        std::fs::read_to_string(format!("/proc/{sleep_pid}/stat")).unwrap_or_default();
    let state = state
        .rsplit_once(") ")
        .map(|(_, r)| r.chars().next())
        .unwrap_or(None);
    assert!(
        matches!(state, None | Some('Z') | Some('X')),
        "sleep {sleep_pid} still runs: {state:?}"
    );
    assert_nothing_left(&dirs);
    assert_nothing_left(&dirs_of(&err));
}

/// Runs the binary in a private mount namespace after `prepare` (a shell snippet) changed
/// what is mounted there; the host's mounts are untouched.
fn run_in_private_mounts(prepare: &str, args: &str) -> std::process::Output {
    let script = format!("{prepare} && exec {BIN} {args}");
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare")
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn no_cgroup_filesystem_is_one_sentence_and_creates_nothing() {
    if !privileged!() {
        return;
    }
    let out = run_in_private_mounts("umount -R /sys/fs/cgroup", "--memory 32M -- true");
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("05-cgroups: no cgroup filesystem is mounted at /sys/fs/cgroup"),
        "{err}"
    );
    assert_nothing_left(&[]);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_limit_on_a_controller_the_machine_lacks_is_refused() {
    if !privileged!() {
        return;
    }
    let fs = CgroupFs::detect().expect("layout");
    let out = if fs.layout == Layout::Unified {
        // A v2 kernel offers every compiled-in controller at its root, and a second cgroup2
        // mount shows the same tree, so no controller can be hidden here: leave only an
        // empty tmpfs at /sys/fs/cgroup (the v2 "controller not offered" path is checked on
        // the fake cgroupfs,
        // a_limit_on_a_missing_controller_is_refused_before_anything_is_made).
        run_in_private_mounts(
            "umount -R /sys/fs/cgroup && mount -t tmpfs none /sys/fs/cgroup",
            "--pids 16 -- true",
        )
    } else {
        // Hide the pids hierarchy in a private mount namespace.
        let pids = fs
            .v1_hierarchy(workbook::cgroup::Controller::Pids)
            .expect("pids hierarchy")
            .mount
            .clone();
        run_in_private_mounts(&format!("umount {}", pids.display()), "--pids 16 -- true")
    };
    let err = common::stderr(&out);
    eprintln!("[layout: {:?}] {err}", fs.layout);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let says = if fs.layout == Layout::Unified {
        "05-cgroups: no cgroup filesystem is mounted at /sys/fs/cgroup"
    } else {
        "05-cgroups: --pids needs the cgroup v1 'pids' controller, which is not mounted"
    };
    assert!(err.starts_with(says), "{err}");
    assert_nothing_left(&[]);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_demonstration_matches_the_book() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &[]);
    let text = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    // The kernel's figures in the text are checked by the tests above; here they vary.
    let redacted = redact_figures(&text);
    common::assert_book_output("05-cgroups-demo", &redacted);
    assert_nothing_left(&[]);
}

/// Replaces the figures that vary from run to run (CPU time, periods, KiB of memory,
/// layout).
fn redact_figures(text: &str) -> String {
    text.lines()
        // v2 counts how often the limit was hit (memory.events `max`); v1's failcnt stays 0
        // on this kernel and the report leaves the line out. The book shows the v1 run.
        .filter(|line| !line.trim_start().starts_with("limit reached:"))
        .map(|line| {
            let t = line.trim_start();
            let indent = &line[..line.len() - t.len()];
            if t.starts_with("Layout:") {
                format!("{indent}Layout: [layout of this machine].")
            } else if let Some((running, _)) = t.split_once("` in ") {
                format!("{indent}{running}` in [cgroup] [layout]")
            } else if t.starts_with("CPU time:") {
                format!("{indent}CPU time:        [seconds]")
            } else if t.starts_with("throttled:       in") {
                format!(
                    "{indent}throttled:       in [N] of [M] periods ([seconds] held back)"
                )
            } else if t.starts_with("memory peak:") {
                let limit = t.find(" (limit").map(|i| &t[i..]).unwrap_or("");
                format!("{indent}memory peak:     [size]{limit}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
