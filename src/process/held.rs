//! Holding off the signals that would end the runtime while it cleans up.
//!
//! Ctrl-C or a `kill` that arrives while the runtime removes a container's cgroup, network
//! and state would end it half-way, leaving the rest behind. So `run` holds SIGINT,
//! SIGTERM, SIGHUP and SIGQUIT blocked from start to finish (they are forwarded to the
//! container while it runs, see `wait`); one that arrives during the cleanup stays pending,
//! and takes effect when the guard lets go, after everything is removed.

use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};

use crate::{Error, Result};

/// The signals that end a process by default and that a user sends to stop a container.
pub(super) fn ending_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    set
}

/// The signals the parent takes over while it has a child: it blocks them so that none is
/// lost between clone(2) and the moment it waits, and receives them with sigwait(2).
pub fn parent_signals() -> SigSet {
    let mut set = ending_signals();
    set.add(Signal::SIGCHLD);
    set
}

/// While it lives, the ending signals are blocked. Dropping it restores the previous mask.
pub struct HeldSignals {
    previous: SigSet,
}

impl HeldSignals {
    /// Blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT.
    pub fn hold() -> Result<HeldSignals> {
        let mut previous = SigSet::empty();
        sigprocmask(
            SigmaskHow::SIG_BLOCK,
            Some(&ending_signals()),
            Some(&mut previous),
        )
        .map_err(|e| Error::sys("sigprocmask", "holding off signals during the run", e))?;
        Ok(HeldSignals { previous })
    }
}

impl Drop for HeldSignals {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.previous), None);
    }
}
