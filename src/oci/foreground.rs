//! Waiting in the foreground (`run`, `exec` without `--detach`): chapter 1's wait, which
//! reaps the process and passes on the signals the runtime receives meanwhile, with three
//! more signals passed on, as runc does: SIGUSR1, SIGUSR2 and SIGWINCH (a resized
//! terminal).

use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;

use crate::exit::Status;
use crate::{process, Error, Result};

/// The signals forwarded, and SIGCHLD, which wakes the wait.
fn signals() -> SigSet {
    let mut set = process::parent_signals();
    for s in [Signal::SIGUSR1, Signal::SIGUSR2, Signal::SIGWINCH] {
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

/// Waits for `pid`, forwarding signals to it, and returns how it ended. Each signal goes
/// to the process as it is (`is_init` false), as runc passes them on: a PID 1 without a
/// handler drops it.
pub fn wait_forwarding(pid: Pid) -> Result<Status> {
    process::wait_forwarding_set(pid, false, &signals())
}
