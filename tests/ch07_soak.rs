//! Privileged: 200 runs that end in every way a run can end leave the host exactly as it
//! was: the mount table, our cgroups, the containers' state and upper dirs, and no process.
//!
//! The endings, in turn: the command exits; the command is killed from the host; the
//! runtime gets Ctrl-C; the runtime panics (WORKBOOK_PANIC_AFTER_START); the runtime is
//! killed with SIGKILL, after which `cleanup` must remove what it left.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_07-full-container");
const RUNS: usize = 200;

/// What could be left behind, as text to compare.
fn host_state() -> String {
    let mut text = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mut cgroups = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let path = e.path();
                // The `workbook/` parents stay for good (cgroup::PARENT_NAME); what is
                // below them is what a run could leave.
                let parent = e.file_name() == "workbook";
                if path.to_string_lossy().contains("/workbook") && !parent {
                    cgroups.push(path.display().to_string());
                }
                if path.components().count() < 10 {
                    stack.push(path);
                }
            }
        }
    }
    cgroups.sort();
    text.push_str(&cgroups.join("\n"));
    // The state on /run and the writable layers on disk.
    let mut state: Vec<String> = [
        workbook::container::host_files::containers_dir(),
        workbook::container::host_files::data_root().join("containers"),
    ]
    .iter()
    .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten())
    .filter_map(|e| e.ok())
    .map(|e| e.path().display().to_string())
    .collect();
    state.sort();
    text.push_str(&state.join("\n"));
    text
}

fn start(name: &str, command: &[&str], panic: bool) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "run", "--memory", "64M", "--pids", "32", "--name", name, "--",
    ])
    .args(command)
    .stdout(Stdio::null());
    if panic {
        cmd.env("WORKBOOK_PANIC_AFTER_START", "1")
            .stderr(Stdio::null());
    }
    cmd.spawn().expect("start the runtime")
}

/// The container's init pid on the host, once it runs `sleep`.
fn init_running_sleep(name: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    let state = workbook::container::host_files::containers_dir()
        .join(name)
        .join("init");
    loop {
        if let Ok(text) = std::fs::read_to_string(&state) {
            let pid = text.trim().to_string();
            let comm =
                std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                return pid.parse().expect("pid");
            }
        }
        assert!(Instant::now() < deadline, "{name} never ran sleep");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn two_hundred_runs_with_every_ending_leave_nothing_behind() {
    if !privileged!() {
        return;
    }
    // Leftovers of earlier runs (of other test files) are not this test's business.
    assert!(common::run_bin(BIN, &["cleanup"]).status.success());
    let before = host_state();
    let mut counts = [0usize; 5];
    for i in 0..RUNS {
        let name = format!("soak-{i}");
        let sleep = ["sh", "-c", "exec sleep 30"];
        let code = match i % 5 {
            0 => start(&name, &["true"], false).wait().expect("wait").code(),
            1 => {
                let mut tool = start(&name, &sleep, false);
                let init = init_running_sleep(&name);
                kill(Pid::from_raw(init), Signal::SIGKILL).expect("kill the command");
                tool.wait().expect("wait").code()
            }
            2 => {
                let mut tool = start(&name, &sleep, false);
                init_running_sleep(&name);
                kill(Pid::from_raw(tool.id() as i32), Signal::SIGINT).expect("Ctrl-C");
                tool.wait().expect("wait").code()
            }
            3 => start(&name, &sleep, true).wait().expect("wait").code(),
            _ => {
                let mut tool = start(&name, &sleep, false);
                let init = init_running_sleep(&name);
                kill(Pid::from_raw(tool.id() as i32), Signal::SIGKILL).expect("SIGKILL");
                tool.wait().expect("wait");
                common::wait_until_dead(init);
                let out = common::run_bin(BIN, &["cleanup"]);
                assert!(out.status.success(), "{}", common::stderr(&out));
                Some(-9)
            }
        };
        let expected = [Some(0), Some(137), Some(130), Some(101), Some(-9)][i % 5];
        assert_eq!(code, expected, "run {i} (ending {})", i % 5);
        counts[i % 5] += 1;
    }
    assert_eq!(counts.iter().sum::<usize>(), RUNS);
    // A process of this runtime is one whose executable is BIN (a cargo building the same
    // binary elsewhere also names 07-full-container on its command line). A run may leave
    // one for a moment: the process it forks to remove its writable layer after the status
    // is out, and, bridged, to give the lease back once the kernel has deleted the veth
    // (workbook::background; the latter gives up after 10 s). The host is compared once
    // they are gone.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut runtimes = runtime_processes();
    while !runtimes.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        runtimes = runtime_processes();
    }
    assert!(
        runtimes.is_empty(),
        "a runtime process is still running: {runtimes:?}"
    );
    let after = host_state();
    assert_eq!(before, after, "the host changed after {RUNS} runs");
}

/// This runtime's processes (executable BIN), as "PID: command line".
fn runtime_processes() -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("proc")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            (exe == Path::new(BIN)).then(|| {
                let cmdline =
                    std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
                let pid = e.file_name().to_string_lossy().into_owned();
                format!("{pid}: {}", cmdline.replace('\0', " "))
            })
        })
        .collect()
}
