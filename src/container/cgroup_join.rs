//! On cgroup v1, the container's first process moves itself into its cgroup.
//!
//! Writing a pid to `cgroup.procs` moves a whole thread group. To keep the group still
//! while it moves, the kernel write-locks `cgroup_threadgroup_rwsem`, a per-CPU rwsem that
//! every fork, exec and exit read-locks. Its readers are cheap because its writer pays: the
//! writer waits for an RCU grace period (`rcu_sync_enter`) unless another writer came just
//! before: most of a start on cgroup v1 (bench/README.md, "Where the time goes"), and crun
//! and runc pay it as well.
//!
//! A thread that moves *itself*, by writing `0` to `tasks`, needs no such lock: it cannot
//! exit or exec while it is in the write, so the kernel skips the global lock
//! (`cgroup_procs_write_start`). The child is single-threaded until it execs, so moving
//! its one thread moves the process, and what it forks later is born inside. cgroup v2
//! needs neither: clone3's `CLONE_INTO_CGROUP` makes the child in its cgroup
//! ([`super::spawn_with_time_namespace`]).

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use crate::cgroup::{Cgroup, Layout};
use crate::{Error, Result};

/// The `tasks` file of each of a v1 cgroup's directories, opened by the parent before the
/// clone (close-on-exec, so the command never gets them).
#[derive(Debug)]
pub struct SelfJoin {
    tasks: Vec<(PathBuf, File)>,
}

impl SelfJoin {
    /// On cgroup v1, what lets `cgroup`'s child move itself in without the grace period a
    /// move by pid waits for; `None` on v2, where the child is born inside.
    pub fn for_cgroup(cgroup: &Cgroup) -> Result<Option<SelfJoin>> {
        if cgroup.layout() == Layout::Unified {
            return Ok(None);
        }
        SelfJoin::open(cgroup.dirs()).map(Some)
    }

    /// Opens `tasks` (a cgroup2 directory's `cgroup.procs`) in each of `dirs` for writing.
    pub fn open(dirs: &[PathBuf]) -> Result<SelfJoin> {
        let tasks = dirs
            .iter()
            .map(|dir| {
                // A cgroup2 directory among them (the hybrid layout's, for a controller
                // no v1 hierarchy carries) has no `tasks`; its cgroup.procs takes 0 too.
                let tasks = dir.join("tasks");
                let path = match tasks.exists() {
                    true => tasks,
                    false => dir.join("cgroup.procs"),
                };
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(|f| (path.clone(), f))
                    .map_err(|e| Error::io("opening a cgroup's tasks file", &path, e))
            })
            .collect::<Result<_>>()?;
        Ok(SelfJoin { tasks })
    }

    // ANCHOR: join
    /// Moves the calling thread into the cgroup of every hierarchy. Call it from a
    /// single-threaded process, before it does anything the limits must cover.
    pub fn join(&self) -> Result<()> {
        for (path, file) in &self.tasks {
            // A shared `&File` writes too (one write(2), no buffer).
            let mut file: &File = file;
            file.write_all(b"0").map_err(|e| {
                Error::io("moving the container's process in (writing 0)", path, e)
            })?;
        }
        Ok(())
    }
    // ANCHOR_END: join
}
