//! `delete`: the container's processes killed, its cgroup and state removed, the
//! poststop hooks run. Its mounts need nothing: they live in the container's mount
//! namespace, which the kernel frees with its last process.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::state::{Record, StateDir, Status};
use crate::{Error, Result};

// ANCHOR: delete
/// `delete [--force] ID`. A running container is refused without `force`; a created one
/// (still waiting on the FIFO) is killed, as runc does. With `force`, a container that does
/// not exist is no error (engines call it to be sure).
pub fn delete(state: &StateDir, force: bool) -> Result<()> {
    let record = match state.load() {
        Ok(r) => r,
        Err(_) if force && !state.dir.join("state.json").exists() => {
            // Even a directory without a record (a create killed at its first step).
            return state.remove();
        }
        // A damaged record must not block --force forever.
        Err(_) if force => return remove_damaged(state),
        Err(e) => return Err(e),
    };
    let status = record.status(state);
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(Error::Invalid(format!(
            "container '{}' is {}: stop it first, or use delete --force",
            record.id,
            status.as_str()
        )));
    }
    let was_created = status != Status::Creating;
    destroy(state, &record)?;
    if was_created {
        let stopped = record.to_json(Status::Stopped).to_string();
        // A failing poststop hook is only a warning, and the next one runs (runtime.md).
        super::hooks::run_all_warning("poststop", &record.hooks.poststop, &stopped);
    }
    Ok(())
}
// ANCHOR_END: delete

/// Kills the init and everything in the cgroup the container made, removes that cgroup
/// and the state dir. A cgroup it found (an engine's, empty at create) is left as it is,
/// with whatever another has put in it since.
pub fn destroy(state: &StateDir, record: &Record) -> Result<()> {
    let was_alive = record.init_alive();
    if was_alive {
        if let Some(pid) = record.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    // A frozen task takes its SIGKILL only once it runs: thawed after the kill, as runc
    // does (thawed before it, the init would run on a little).
    super::commands::pause::thaw_if_frozen(record);
    if was_alive {
        wait_gone(record);
    }
    if let Some(unit) = &record.systemd_unit {
        // The scope goes before its cgroup (runc's order); without systemd to ask, the
        // cgroup is still removed below, and systemd drops an emptied scope by itself.
        if let Err(e) = super::systemd::stop(unit) {
            eprintln!("warning: {e}");
        }
    }
    let dirs = record.own_cgroup_dirs();
    if !was_alive && record.own_pid_namespace && taken_over(dirs) {
        eprintln!(
            "warning: the cgroup of container '{}' holds processes although its init is gone: they are another's, so the cgroup is left",
            record.id
        );
    } else {
        super::resources::remove(dirs, record.cgroup_v2)?;
    }
    super::intel_rdt::remove(&record.rdt_made);
    state.remove()
}

/// Whether the cgroup still holds processes a moment after the container's init ended.
/// With a PID namespace of its own, the kernel has killed the container's other processes
/// with the init: what stays was put there by another (a container that found the cgroup
/// empty and used it). While the init lived nobody could: `create` refuses a cgroup that
/// holds one.
fn taken_over(dirs: &[std::path::PathBuf]) -> bool {
    use super::cgroup_path::holds_processes;
    let start = Instant::now();
    while dirs.iter().any(|d| holds_processes(d)) {
        if start.elapsed() > Duration::from_secs(1) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Waits (up to 10 s) until the init is gone: it is not our child (create has returned), so
/// we cannot waitpid for it; its parent reaps it.
fn wait_gone(record: &Record) {
    let start = Instant::now();
    while record.init_alive() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `delete --force` of a container whose record is damaged (a full disk, a crash mid-write
/// of an older runtime): removes what can still be found without it.
fn remove_damaged(state: &StateDir) -> Result<()> {
    let killed = kill_fifo_holders(state);
    state.remove()?;
    eprintln!(
        "warning: the state file in {} was damaged, so the container's cgroup could not be found: removed its state dir{}",
        state.dir.display(),
        if killed { " and killed its waiting init" } else { "" }
    );
    Ok(())
}

/// Kills the processes that hold the container's exec FIFO open: only its init does, while
/// it waits for `start` (the FIFO sits in the root's 0700 state dir). Returns whether one
/// was found. Found through /proc/PID/fd, as `fuser` does.
fn kill_fifo_holders(state: &StateDir) -> bool {
    let fifo = state.fifo();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    let mut found = false;
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == fifo))
        {
            found |= kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok();
        }
    }
    found
}
