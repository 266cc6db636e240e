//! `start`, `state` and `kill`: the container's life after `create`.

use std::io::Read;
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;

use super::state::{StateDir, Status};
use crate::{Error, Result};

// ANCHOR: start
/// `start`: opens the exec FIFO for reading, which releases the init blocked on opening it
/// for writing; waits for its byte, then for the end of file its execve makes (the init's
/// end is close-on-exec); removes the FIFO (the container is `running` from now on) and
/// runs the poststart hooks: after the program started, as the spec says.
pub fn start(state: &StateDir) -> Result<()> {
    let mut record = state.load()?;
    must_be(&record, state, Status::Created, "started")?;
    let fifo = state.fifo();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .map_err(|e| Error::io("opening the exec FIFO", &fifo, e))?;
    if !answered_then_exec(&file, || record.init_alive())? {
        let id = &record.id;
        return Err(Error::Invalid(format!(
            "container '{id}' ended before it could be started"
        )));
    }
    std::fs::remove_file(&fifo)
        .map_err(|e| Error::io("removing the exec FIFO", &fifo, e))?;
    record.creating = false;
    let running = record.to_json(Status::Running).to_string();
    // The spec: a failed poststart hook is logged, and the container keeps running.
    super::hooks::run_all_warning("poststart", &record.hooks.poststart, &running);
    Ok(())
}
// ANCHOR_END: start

/// Polls the FIFO (non-blocking, so that an init that died before it answered is noticed
/// instead of waited for forever): its byte, then its end of file. False: the init died
/// without answering.
fn answered_then_exec(file: &std::fs::File, alive: impl Fn() -> bool) -> Result<bool> {
    let mut answered = false;
    loop {
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(100u16))
            .map_err(|e| Error::sys("poll", "waiting for the init on the exec FIFO", e))?;
        if ready > 0 {
            let mut byte = [0u8; 1];
            match (&*file).read(&mut byte) {
                Ok(1) => answered = true,
                // The writer is gone: the init exec'd its program (or died after answering).
                Ok(0) if answered => return Ok(true),
                _ => {}
            }
        }
        if !answered && !alive() {
            return Ok(false);
        }
    }
}

use std::os::unix::fs::OpenOptionsExt;

/// Refuses a command (`what`: "started") for a container not in status `want`.
fn must_be(
    record: &super::state::Record,
    state: &StateDir,
    want: Status,
    what: &str,
) -> Result<()> {
    let status = record.status(state);
    if status == want {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "container '{}' is {}, and only a {} container can be {what}",
        record.id,
        status.as_str(),
        want.as_str()
    )))
}

// ANCHOR: state
/// `state`: the spec's state JSON, with the status read from the process itself.
pub fn state_json(state: &StateDir) -> Result<String> {
    let record = state.load()?;
    let status = record.status(state);
    serde_json::to_string_pretty(&record.to_json(status))
        .map_err(|e| Error::Invalid(format!("cannot encode the state: {e}")))
}
// ANCHOR_END: state

// ANCHOR: kill
/// `kill ID SIGNAL`: the signal to the init, or with `all` to every process in the
/// container's cgroup (`signal_all`). A SIGKILL to the init of a paused container thaws
/// it, as runc does: a frozen task takes the kill only once it runs.
pub fn kill(state: &StateDir, signal: Signal, all: bool) -> Result<()> {
    let record = state.load()?;
    let status = record.status(state);
    if all {
        signal_all(&record, signal);
        return Ok(());
    }
    if !matches!(status, Status::Created | Status::Running | Status::Paused) {
        return Err(Error::Invalid(format!(
            "container '{}' is not running",
            record.id
        )));
    }
    let pid = Pid::from_raw(record.pid.unwrap_or(0));
    send(pid, signal).map_err(|e| {
        Error::sys(
            "kill",
            format!("sending {} to the container's init", signal.as_str()),
            e,
        )
    })?;
    if status == Status::Paused && signal == Signal::SIGKILL {
        super::commands::pause::thaw_if_frozen(&record);
    }
    Ok(())
}
// ANCHOR_END: kill

/// `kill --all`: `signal` to every process in the container's cgroup, read from
/// cgroup.procs as the kernel lists them. As runc does, the cgroup is frozen while the
/// signals go out, so that no process forks past the list, and thawed after (a paused
/// container too).
fn signal_all(record: &super::state::Record, signal: Signal) {
    let freezer =
        super::commands::freezer::Freezer::of(&record.cgroup_dirs, record.cgroup_v2);
    if let Some(f) = &freezer {
        let _ = f.freeze();
    }
    for dir in &record.cgroup_dirs {
        for pid in crate::cgroup::cleanup::procs(dir) {
            let _ = send(Pid::from_raw(pid), signal);
        }
    }
    if let Some(f) = &freezer {
        let _ = f.thaw();
    }
}

/// Waits until the init is gone, up to `timeout`.
pub fn wait_stopped(state: &StateDir, timeout: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        match state.load() {
            Ok(r) if r.init_alive() => std::thread::sleep(Duration::from_millis(10)),
            _ => return true,
        }
    }
    false
}
