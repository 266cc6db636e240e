//! Waiting in the foreground (`run`, `exec` without `--detach`): reap the process and pass
//! on the signals the runtime receives meanwhile.

use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::exit::Status;
use crate::{Error, Result};

/// The signals forwarded, and SIGCHLD, which wakes the wait.
fn signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        set.add(s);
    }
    set
}

/// Blocks the forwarded signals, so that none is lost before the wait; the child unblocks
/// them with [`unblock_all`] (the mask survives exec).
pub fn block() -> Result<()> {
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&signals()), None)
        .map_err(|e| Error::sys("sigprocmask", "holding signals for the wait", e))
}

/// Unblocks every signal (in the child, before exec).
pub fn unblock_all() {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Waits for `pid`, forwarding signals to it, and returns how it ended.
pub fn wait_forwarding(pid: Pid) -> Result<Status> {
    let set = signals();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(status) => {
                if let Some(ended) = Status::from_wait(status) {
                    return Ok(ended);
                }
                continue;
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(Error::sys(
                    "waitpid",
                    "waiting for the container's process",
                    e,
                ))
            }
        }
        let signal = set
            .wait()
            .map_err(|e| Error::sys("sigwait", "waiting for a signal", e))?;
        if signal != Signal::SIGCHLD {
            let _ = kill(pid, signal);
        }
    }
}
