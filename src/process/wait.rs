//! Waiting for the child like an init system: reap it, and pass on the signals meant for
//! it.
//!
//! The trap of PID 1: the kernel does not apply a signal's default action to the first
//! process of a PID namespace. A signal for which PID 1 has no handler is simply dropped —
//! from inside the namespace always, and from the parent's namespace for every signal but
//! SIGKILL and SIGSTOP (pid_namespaces(7)). So `sleep 100` as PID 1 does not die of Ctrl-C:
//! the SIGINT the terminal sends it is discarded. We read from `/proc/PID/status`
//! (`SigCgt`) whether the child catches the signal; if it does, it gets the signal; if not,
//! it would be ignored, and we send SIGKILL instead, reporting the status of the signal
//! that was meant (130 for Ctrl-C).

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::held::parent_signals;
use crate::exit::Status;
use crate::{Error, Result};

/// Waits until the child `pid` has ended and is reaped, forwarding the signals the parent
/// receives meanwhile; `is_init` says whether it is PID 1 of a new PID namespace.
pub(super) fn wait_forwarding(pid: nix::unistd::Pid, is_init: bool) -> Result<Status> {
    wait_forwarding_set(pid, is_init, &parent_signals())
}

/// `wait_forwarding` passing on `signals` (SIGCHLD among them, which only wakes the
/// wait), which the caller has blocked: for a runtime that forwards more than these four.
pub fn wait_forwarding_set(
    pid: nix::unistd::Pid,
    is_init: bool,
    signals: &SigSet,
) -> Result<Status> {
    let mut meant: Option<Signal> = None;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(status) => {
                if let Some(ended) = Status::from_wait(status) {
                    return Ok(match (ended, meant) {
                        (Status::Signaled(Signal::SIGKILL), Some(sig)) => {
                            Status::Signaled(sig)
                        }
                        _ => ended,
                    });
                }
                continue;
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("waitpid", "waiting for the child", e)),
        }
        let signal = signals
            .wait()
            .map_err(|e| Error::sys("sigwait", "waiting for a signal", e))?;
        if signal == Signal::SIGCHLD {
            continue;
        }
        meant = forward(pid, signal, is_init).or(meant);
    }
}

/// Passes `signal` on to the child `pid`. Returns the signal when the child, being PID 1
/// without a handler for it, had to be ended with SIGKILL instead.
fn forward(pid: nix::unistd::Pid, signal: Signal, is_init: bool) -> Option<Signal> {
    // exercise 01.2: pass the signal on, or SIGKILL a PID 1 that would drop it
    use nix::sys::signal::kill;

    if is_init && !catches(pid, signal) {
        // PID 1 would silently drop this signal: end it the only way the kernel allows.
        let _ = kill(pid, Signal::SIGKILL);
        Some(signal)
    } else {
        let _ = kill(pid, signal);
        None
    }
    // end of exercise 01.2
}

/// Whether process `pid` has a handler for `signal` (its bit is set in `SigCgt`).
pub fn catches(pid: nix::unistd::Pid, signal: Signal) -> bool {
    let status = match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(text) => text,
        Err(_) => return false,
    };
    crate::privilege::status_field_hex(&status, "SigCgt")
        .is_some_and(|mask| mask & (1u64 << (signal as i32 - 1)) != 0)
}
