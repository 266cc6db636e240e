//! Privileged: chapter 1 really makes a PID namespace, and PID 1's signal rules are
//! handled.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_01-unshare-pid");

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn the_command_is_pid_1() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--", "sh", "-c", "echo $$"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), "1\n");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn exit_status_is_passed_on() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--", "sh", "-c", "exit 42"]);
    assert_eq!(out.status.code(), Some(42));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn pid_1_ignores_signals_it_has_no_handler_for_even_sigkill_from_inside() {
    if !privileged!() {
        return;
    }
    // The shell is PID 1 and sends itself SIGKILL: the kernel drops it (pid_namespaces(7)).
    let out = common::run_bin(BIN, &["--", "sh", "-c", "kill -KILL $$; echo still alive"]);
    assert_eq!(common::stdout(&out), "still alive\n");
    assert!(out.status.success());
}

/// The PID (on the host) of the tool's child once it runs `comm`.
fn child_running(tool: u32, comm: &str) -> Pid {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{tool}/task/{tool}/children"))
                .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            let name =
                std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if name.trim() == comm {
                return Pid::from_raw(pid.parse().expect("pid"));
            }
        }
        assert!(Instant::now() < deadline, "the child never ran {comm}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn ctrl_c_ends_a_pid_1_that_ignores_it_and_leaves_no_process() {
    if !privileged!() {
        return;
    }
    let mut tool = Command::new(BIN)
        .args(["--", "sleep", "60"])
        .spawn()
        .expect("start the tool");
    let child = child_running(tool.id(), "sleep");
    // sleep has no SIGINT handler: as PID 1 it would ignore the signal.
    kill(Pid::from_raw(tool.id() as i32), Signal::SIGINT).expect("send SIGINT");
    let status = tool.wait().expect("wait for the tool");
    assert_eq!(status.code(), Some(130), "Ctrl-C gives status 128+2");
    assert!(
        !std::path::Path::new(&format!("/proc/{child}")).exists(),
        "the container's PID 1 is gone and reaped"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn a_pid_1_with_a_handler_gets_the_signal_itself() {
    if !privileged!() {
        return;
    }
    let mut tool = Command::new(BIN)
        .args([
            "--",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the tool");
    let mut lines = BufReader::new(tool.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("ready"));
    kill(Pid::from_raw(tool.id() as i32), Signal::SIGTERM).expect("send SIGTERM");
    assert_eq!(
        lines.next().and_then(|l| l.ok()).as_deref(),
        Some("got TERM")
    );
    assert_eq!(tool.wait().expect("wait").code(), Some(7));
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn an_unknown_command_is_status_127() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--", "no-such-command-here"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        common::stderr(&out),
        "01-unshare-pid: no-such-command-here: command not found\n"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn the_demonstration_shows_two_pids_and_two_inodes() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &[]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    assert!(text.contains("calls getpid():   1\n"), "{text}");
    let host_inode = std::fs::metadata("/proc/self/ns/pid")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .expect("own pid ns");
    assert!(text.contains(&format!(
        "On the host, /proc/self/ns/pid is   pid:[{host_inode}]"
    )));
    let redacted = common::redact_numbers_after(
        &text,
        &[
            ("PID     ", "<PID>"),
            ("PID      ", "<PID>"),
            ("pid:[", "<INODE>"),
        ],
    );
    common::assert_book_output("01-unshare-pid-demo", &redacted);
}
