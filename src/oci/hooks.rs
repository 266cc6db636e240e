//! Hooks: programs the engine asks the runtime to run at points of the container's life,
//! each given the container's state as JSON on its stdin (the spec's runtime.md).
//!
//! ```text
//! createRuntime                    during create, after the mounts, before pivot_root
//! createContainer                  the same moment, in the container's namespaces
//! startContainer                   in the container, after start, before the program
//! poststart                        after start has released the container
//! poststop                         during delete, after the container is gone
//! ```

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::config::Hook;
use crate::{Error, Result};

/// Runs one hook with `state` on its stdin and waits for it, at most `timeout` seconds
/// when it has one (then it is killed). A hook that fails is an error.
pub fn run_hook(stage: &str, hook: &Hook, state: &str) -> Result<()> {
    run_hook_in(stage, hook, state, &[])
}

/// [`run_hook`] in the namespaces `enter` (fds of `/proc/PID/ns/*`, joined with setns(2)
/// between fork and exec): createContainer's hooks run in the container's.
pub fn run_hook_in(
    stage: &str,
    hook: &Hook,
    state: &str,
    enter: &[std::os::fd::RawFd],
) -> Result<()> {
    let mut command = Command::new(&hook.path);
    if !enter.is_empty() {
        let fds = enter.to_vec();
        // SAFETY: between fork and exec only setns(2), which is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                for fd in &fds {
                    if libc::setns(*fd, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    if let Some((argv0, rest)) = hook.args.split_first() {
        command.arg0(argv0).args(rest);
    }
    command.env_clear();
    for pair in &hook.env {
        if let Some((k, v)) = pair.split_once('=') {
            command.env(k, v);
        }
    }
    let name = hook.path.display().to_string();
    let mut child = command
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("starting the {stage} hook"), &hook.path, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = hook
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(Error::Invalid(format!(
                    "the {stage} hook {name} failed ({status})"
                )))
            }
            Ok(None) => {}
            Err(e) => {
                return Err(Error::io(
                    format!("waiting for the {stage} hook"),
                    &hook.path,
                    e,
                ))
            }
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Invalid(format!(
                "the {stage} hook {name} ran past its timeout of {} s and was killed",
                hook.timeout.unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the hooks of one stage in order; the first failure stops them.
pub fn run_all(stage: &str, hooks: &[Hook], state: &str) -> Result<()> {
    hooks.iter().try_for_each(|h| run_hook(stage, h, state))
}

/// Runs every hook of a stage whose failures are only warnings (poststart, poststop: the
/// container has started, or is gone, whatever a hook says): each failure is printed on
/// stderr and the next hook runs, as the spec's lifecycle asks.
pub fn run_all_warning(stage: &str, hooks: &[Hook], state: &str) {
    for hook in hooks {
        if let Err(e) = run_hook(stage, hook, state) {
            eprintln!("warning: {e}");
        }
    }
}
