//! Taking a cgroup down, on every path.
//!
//! `rmdir` of a cgroup directory fails with EBUSY while a process is inside, and a workload
//! may have left children behind (a daemon, a fork bomb). So: kill what is left, wait until
//! the kernel says the group is empty, then rmdir. A tool killed with SIGKILL runs none of
//! this; its cgroups stay, with their processes, until [`cleanup_stale`] finds them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::owner::{owner_alive, owner_in_name};
use crate::{Error, Result};

/// How long to wait for a killed group to empty before giving up.
const EMPTY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pids listed in a `cgroup.procs` file (none when it is gone).
pub fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Kills everything in the group and waits until it is empty.
///
/// On v2 `cgroup.kill` does it in one step. On v1 we SIGKILL each pid in `cgroup.procs` and
/// read the file again, round after round: a process can fork between our read and our
/// kill, and its child appears only in the next read. (The v1 freezer would close that
/// race; the pids limit keeps it short.)
// ANCHOR: kill_wait_fn
pub fn kill_and_wait(dirs: &[PathBuf], v2: bool) -> Result<()> {
    let dirs: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
    let mut killed_at_once = false;
    if v2 {
        for dir in &dirs {
            killed_at_once |= super::v2::kill_all(dir)?;
        }
    }
    let start = Instant::now();
    loop {
        let left: Vec<i32> = dirs.iter().flat_map(|d| procs(d)).collect();
        let populated = v2 && dirs.iter().any(|d| super::v2::populated(d));
        if left.is_empty() && !populated {
            return Ok(());
        }
        if start.elapsed() > EMPTY_TIMEOUT {
            return Err(Error::Unsupported(format!(
                "the cgroup {} still holds processes {left:?} after {} s of SIGKILL",
                dirs.first()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
                EMPTY_TIMEOUT.as_secs()
            )));
        }
        if !killed_at_once {
            for pid in &left {
                // ESRCH: it died between the read and the kill, which is what we want.
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
// ANCHOR_END: kill_wait_fn

/// Removes an empty cgroup directory with `rmdir(2)` (`std::fs::remove_dir`). A cgroup
/// directory holds only the kernel's control files, which rmdir accepts; `remove_dir_all`
/// would try to unlink them one by one and fail.
pub fn rmdir(dir: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        let result = std::fs::remove_dir(dir)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)));
        match result {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            // Just emptied: the kernel may still be releasing the last task.
            Err(Errno::EBUSY) if tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(Error::sys_path("rmdir", "removing the cgroup", dir, e)),
        }
    }
}

/// The owner record (`<pid> <start time>`, see [`crate::owner`]) written in a leaf name
/// `<name>.<pid>-<start>.<n>`.
pub fn owner_of(leaf: &str) -> Option<String> {
    let mut parts = leaf.rsplitn(3, '.');
    let _seq: u32 = parts.next()?.parse().ok()?;
    let owner = owner_in_name(parts.next()?)?;
    let name = parts.next()?;
    (!name.is_empty()).then_some(owner)
}

/// Finds the cgroups under `parents` whose owner is gone (killed with SIGKILL, say), kills
/// what is still inside and removes them. `parents` are the `workbook/` directories, one
/// per hierarchy on v1; a leaf of the same name in each of them is one cgroup.
pub fn cleanup_stale(parents: &[PathBuf], v2: bool) -> Result<Vec<String>> {
    let mut stale: Vec<String> = Vec::new();
    // On v1 a leaf is in every hierarchy: judge its owner once.
    let mut judged = std::collections::HashSet::new();
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let leaf = entry.file_name().to_string_lossy().into_owned();
            // The name first: most entries are the kernel's control files, and their type
            // comes with the listing (d_type), so no entry costs a stat(2) of its own.
            let Some(owner) = owner_of(&leaf) else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) || !judged.insert(leaf.clone())
            {
                continue;
            }
            if !owner_alive(&owner) {
                stale.push(leaf);
            }
        }
    }
    for leaf in &stale {
        let dirs: Vec<PathBuf> = parents.iter().map(|p| p.join(leaf)).collect();
        kill_and_wait(&dirs, v2)?;
        for dir in &dirs {
            rmdir(dir)?;
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_owner_from_the_name() {
        assert_eq!(owner_of("05-cgroups.1234-99.0").as_deref(), Some("1234 99"));
        assert_eq!(owner_of("a.b.1234-99.7").as_deref(), Some("1234 99"));
        assert_eq!(owner_of("workbook"), None);
        assert_eq!(owner_of(".1234-99.0"), None);
        assert_eq!(owner_of("x.-5.0"), None);
        assert_eq!(owner_of("x.1234.0"), None);
    }
}
