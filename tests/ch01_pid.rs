//! Privileged: chapter 1 really makes a PID namespace, and PID 1's signal rules are
//! handled.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::verdict::{self, PATIENCE};

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
    assert!(
        out.status.success(),
        "`01-unshare-pid -- sh -c 'echo $$'` {} and said {}: the child must be cloned \
         and run its command",
        verdict::status(out.status),
        verdict::first_line(&common::stderr(&out))
    );
    let pid = common::stdout(&out);
    assert_eq!(
        pid.trim(),
        "1",
        "the command saw its own PID as {}: a process cloned with CLONE_NEWPID is PID 1 of \
         the new namespace",
        pid.trim()
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn exit_status_is_passed_on() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--", "sh", "-c", "exit 42"]);
    assert_eq!(
        out.status.code(),
        Some(42),
        "with `sh -c 'exit 42'` inside, the tool {} and said {}: it must wait for its child \
         and end with the child's status, 42",
        verdict::status(out.status),
        verdict::first_line(&common::stderr(&out))
    );
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
    let deadline = Instant::now() + PATIENCE;
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
        assert!(
            Instant::now() < deadline,
            "waited 10 s for the tool's child to run {comm}, and it never did (children: \
             {:?}): the tool must clone a child and exec the command",
            children.trim()
        );
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
    let Some(status) = verdict::wait_within(&mut tool, PATIENCE) else {
        let _ = kill(child, Signal::SIGKILL);
        panic!(
            "after Ctrl-C (SIGINT to the tool) the container's `sleep 60` was still running \
             10 s later: as PID 1 with no SIGINT handler it drops the signal, so the tool \
             must send it SIGKILL instead"
        );
    };
    assert_eq!(
        status.code(),
        Some(130),
        "after Ctrl-C the tool {}: it must end with 130 (128 + SIGINT's 2) when the signal \
         it passed on ended the container",
        verdict::status(status)
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{child}")).exists(),
        "the container's PID 1 (host PID {child}) is still there after the tool ended: the \
         tool must wait for (reap) its child"
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
    let lines = verdict::lines(tool.stdout.take().expect("stdout"));
    let ready = verdict::next_line(&lines, PATIENCE);
    if ready.as_deref() != Ok("ready") {
        let _ = verdict::wait_within(&mut tool, Duration::ZERO);
        panic!(
            "waited for the shell inside to print \"ready\" and got {}: the tool must run \
             its command",
            ready.map_or_else(|e| e.to_string(), |l| format!("{l:?}"))
        );
    }
    let child = child_running(tool.id(), "sh");
    kill(Pid::from_raw(tool.id() as i32), Signal::SIGTERM).expect("send SIGTERM");
    let after = verdict::next_line(&lines, PATIENCE);
    let status = verdict::wait_within(&mut tool, PATIENCE);
    if status.is_none() {
        // The tool was killed; the container's shell would loop on: end it too.
        let _ = kill(child, Signal::SIGKILL);
    }
    let said = after.map_or_else(|e| e.to_string(), |l| format!("{l:?}"));
    let ended =
        status.map_or_else(|| "was still running 10 s later".into(), verdict::status);
    assert!(
        said == "\"got TERM\"" && status.and_then(|s| s.code()) == Some(7),
        "after SIGTERM to the tool, the shell inside (PID 1, with a TERM trap) printed {said} \
         and the tool {ended}: a PID 1 that catches the signal must get that signal itself \
         (then its trap prints \"got TERM\" and exits 7), not SIGKILL"
    );
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
