//! Control groups: limits that the kernel enforces on a group of processes.
//!
//! A cgroup is a directory in a special filesystem. Making the directory makes the group;
//! writing a number into one of its files sets a limit; writing a pid into `cgroup.procs`
//! moves a process (and every child it forks afterwards) into it. The kernel then charges
//! each page, each fork and each microsecond on a CPU to the group and refuses what is
//! over.
//!
//! ```text
//!   /sys/fs/cgroup/                    (v2: one tree; v1: one tree per controller)
//!   └── workbook/                      ours, shared by every run, never removed
//!       └── 05-cgroups.4242-8811.0/    one workload: <name>.<owner pid>-<start>.<n>
//!           ├── memory.max        ← 33554432
//!           ├── pids.max          ← 16
//!           ├── cpu.max           ← 20000 100000
//!           └── cgroup.procs      ← the child's pid, before it runs the command
//! ```
//!
//! [`Cgroup::create`] finds the layout ([`layout`]), writes down the steps for v1 or v2
//! ([`v1::plan`], [`v2::plan`]), carries them out and returns a guard: dropping it kills
//! what is left inside and removes the directories ([`cleanup`]).

pub mod cleanup;
pub mod devices;
pub mod layout;
pub mod limits;
pub mod plan;
pub mod usage;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub use devices::DeviceAllowList;
pub use layout::{CgroupFs, Controller, Layout, PARENT_NAME};
pub use limits::{CpuQuota, CpuWeight, Limits, MemoryLimit, PidsLimit};
pub use plan::Plan;
pub use usage::Usage;

use crate::{Error, Result};

/// Numbers the cgroups one process makes, so that their names never collide.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A cgroup this process made. Dropping it removes it (see [`Cgroup::remove`]).
#[derive(Debug)]
pub struct Cgroup {
    layout: Layout,
    fs: CgroupFs,
    leaf: String,
    dirs: Vec<PathBuf>,
    removed: bool,
}

/// `std::fs::create_dir`, the `mkdir` of a real cgroupfs.
fn kernel_mkdir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}

impl Cgroup {
    /// Makes a cgroup for a workload, named `<name>.<our pid>-<our start time>.<n>`, with
    /// `limits` applied.
    pub fn create(name: &str, limits: &Limits) -> Result<Cgroup> {
        Cgroup::create_on(&CgroupFs::detect()?, name, limits)
    }

    /// The same on a layout already detected (`fs`).
    pub fn create_on(fs: &CgroupFs, name: &str, limits: &Limits) -> Result<Cgroup> {
        Cgroup::create_in(fs, name, limits, &mut kernel_mkdir)
    }

    /// The same on a given filesystem description, with a given `mkdir` (the fake-cgroupfs
    /// tests pass one that fills the directory with control files as the kernel does).
    pub fn create_in(
        fs: &CgroupFs,
        name: &str,
        limits: &Limits,
        mkdir: &mut dyn FnMut(&Path) -> std::io::Result<()>,
    ) -> Result<Cgroup> {
        check_name(name)?;
        // The owner's pid and start time: a leaf whose owner is gone is stale, even when
        // its pid has been reused since.
        let leaf = format!(
            "{name}.{}.{}",
            crate::owner::owner_tag(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let plan = Cgroup::plan(fs, &leaf, limits)?;
        // The guard exists before the first mkdir, so a failure half-way removes what was
        // made.
        let cgroup = Cgroup {
            layout: fs.layout,
            fs: fs.clone(),
            leaf,
            dirs: plan.dirs.clone(),
            removed: false,
        };
        plan.execute(mkdir)?;
        Ok(cgroup)
    }

    /// The steps that would make the cgroup `leaf`: v2 on a unified layout, v1 otherwise
    /// (in the hybrid layout the cgroup2 mount has no controllers to offer).
    pub fn plan(fs: &CgroupFs, leaf: &str, limits: &Limits) -> Result<Plan> {
        match (&fs.layout, &fs.unified) {
            (Layout::Unified, Some((mount, own))) => v2::plan(mount, own, leaf, limits),
            _ => v1::plan(fs, leaf, limits),
        }
    }

    /// Moves process `pid` into the cgroup: one write of its pid to `cgroup.procs` in each
    /// directory. Its threads move with it, and every child it forks from now on is born
    /// inside. Do it before the process runs the workload, so nothing escapes the limits.
    pub fn attach(&self, pid: i32) -> Result<()> {
        // exercise 05.3: attach a process to the cgroup
        // One directory on v2; on v1 one per hierarchy, as a process is in one cgroup of
        // each.
        for dir in &self.dirs {
            plan::write_control(&dir.join("cgroup.procs"), &pid.to_string(), true)?;
        }
        Ok(())
        // end of exercise 05.3
    }

    /// What the kernel counted so far.
    pub fn usage(&self) -> Usage {
        if self.uses_v2() {
            self.dirs.first().map(|d| v2::usage(d)).unwrap_or_default()
        } else {
            v1::usage(&self.fs, &self.dirs)
        }
    }

    /// Whether the kernel's OOM killer killed a process of the cgroup: the one counter,
    /// not the dozen files of [`Cgroup::usage`] (a run reads it after every command).
    pub fn oom_killed(&self) -> bool {
        let counter = if self.uses_v2() {
            self.dirs.first().map(|d| d.join("memory.events"))
        } else {
            v1::memory_dir(&self.fs, &self.dirs).map(|d| d.join("memory.oom_control"))
        };
        counter
            .and_then(|file| usage::read_flat_keyed(&file, "oom_kill"))
            .is_some_and(|n| n > 0)
    }

    /// The cgroup's directories (one on v2, one per hierarchy on v1).
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The directory name, `<name>.<pid>-<start>.<n>`.
    pub fn leaf(&self) -> &str {
        &self.leaf
    }

    /// On cgroup v2, the cgroup's directory opened (O_PATH), for clone3's
    /// CLONE_INTO_CGROUP; `None` on v1, where a process can only be moved in by writing its
    /// pid.
    pub fn v2_dir_fd(&self) -> Option<std::os::fd::OwnedFd> {
        use nix::fcntl::{open, OFlag};
        if !self.uses_v2() {
            return None;
        }
        let dir = self.dirs.first()?;
        open(
            dir.as_path(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()
    }

    /// The machine's cgroup filesystems, as found when the cgroup was made.
    pub fn fs(&self) -> &CgroupFs {
        &self.fs
    }

    /// The layout the cgroup was made on.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn uses_v2(&self) -> bool {
        self.layout == Layout::Unified
    }

    /// Kills what is left inside, waits until the group is empty and removes its
    /// directories. The shared `workbook/` parents stay (see [`PARENT_NAME`]).
    pub fn remove(mut self) -> Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<()> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        cleanup::kill_and_wait(&self.dirs, self.uses_v2())?;
        for dir in &self.dirs {
            cleanup::rmdir(dir)?;
        }
        Ok(())
    }

    /// Forgets the cgroup without removing it (for the fake-cgroupfs tests, whose
    /// directories are removed with their temp dir).
    pub fn forget(mut self) -> Vec<PathBuf> {
        self.removed = true;
        std::mem::take(&mut self.dirs)
    }
}

impl Drop for Cgroup {
    /// Runs on every way out of the scope that owns the cgroup: normal return, `?`, panic.
    fn drop(&mut self) {
        if let Err(e) = self.remove_now() {
            eprintln!("warning: could not remove cgroup {}: {e}", self.leaf);
        }
    }
}

/// The `workbook/` directories of this machine's layout (one per hierarchy on v1).
pub fn parents(fs: &CgroupFs) -> Vec<PathBuf> {
    match (&fs.layout, &fs.unified) {
        (Layout::Unified, Some((mount, own))) => {
            vec![v2::parent_base(mount, own).join(PARENT_NAME)]
        }
        _ => fs
            .v1
            .iter()
            .map(|h| {
                h.mount
                    .join(h.own.strip_prefix("/").unwrap_or(&h.own))
                    .join(PARENT_NAME)
            })
            .collect(),
    }
}

/// Removes the cgroups left by runs that were killed before they could clean up (SIGKILL
/// runs no destructor): every `workbook/<name>.<pid>-<start>.<n>` whose owner is gone.
/// Returns their names.
pub fn cleanup_stale(fs: &CgroupFs) -> Result<Vec<String>> {
    cleanup::cleanup_stale(&parents(fs), fs.layout == Layout::Unified)
}

// ANCHOR: namespace
/// Gives the calling process a new cgroup namespace: its current cgroup becomes the `/` it
/// sees in `/proc/self/cgroup`, and the paths of the host above it are hidden.
///
/// Trap: the namespace's root is the cgroup the process is in *when it unshares*. A child
/// cloned with CLONE_NEWCGROUP and moved into its cgroup afterwards sees `/workbook/...`,
/// not `/`. So the child unshares once it is in its cgroup.
pub fn unshare_namespace() -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).map_err(|e| {
        Error::sys(
            "unshare",
            "creating a cgroup namespace (CLONE_NEWCGROUP)",
            e,
        )
    })
}
// ANCHOR_END: namespace

/// A cgroup name must be one path component the kernel accepts and that `cleanup_stale` can
/// read the owner from.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "cgroup name '{name}' must be 1 to 64 letters, digits, '-' or '_'"
        )))
    }
}
