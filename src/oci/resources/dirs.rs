//! Which of a container's cgroup directories holds each controller's files.
//!
//! On v2 one directory holds them all. On v1 each hierarchy is a mount of its own, and
//! the mount options name its controllers (`rw,cpuset`); a directory belongs to the mount
//! whose mount point is its longest prefix. In a hybrid layout a controller that no v1
//! hierarchy took (hugetlb on some hosts) is offered by the cgroup2 mount instead.

use std::path::{Path, PathBuf};

use crate::cgroup::layout::{parse_mountinfo, CgroupMount};
use crate::{Error, Result};

/// One directory of the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    path: PathBuf,
    /// The controllers of its v1 hierarchy; empty for a cgroup2 directory.
    v1_controllers: Vec<String>,
}

/// Where each controller's files are, for one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs(Vec<Dir>);

/// A controller's directory, and whether it speaks v2 (`hugetlb.2MB.max`) or v1
/// (`hugetlb.2MB.limit_in_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At<'a> {
    pub dir: &'a Path,
    pub v2: bool,
}

impl Dirs {
    /// Sorts `dirs` by the cgroup mounts in `mounts` (the cgroup lines of mountinfo).
    pub fn of(dirs: &[PathBuf], mounts: &[CgroupMount]) -> Result<Dirs> {
        let mut out = Vec::new();
        for dir in dirs {
            let mount = mounts
                .iter()
                .filter(|m| dir.starts_with(&m.mount_point))
                .max_by_key(|m| m.mount_point.as_os_str().len())
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "the cgroup directory {} is on no cgroup mount of /proc/self/mountinfo",
                        dir.display()
                    ))
                })?;
            out.push(Dir {
                path: dir.clone(),
                v1_controllers: if mount.fstype == "cgroup2" {
                    Vec::new()
                } else {
                    mount.options.clone()
                },
            });
        }
        Ok(Dirs(out))
    }

    /// [`Dirs::of`] with this process's mount table.
    pub fn here(dirs: &[PathBuf]) -> Result<Dirs> {
        Dirs::of(dirs, &cgroup_mounts()?)
    }

    /// The one directory, when the cgroup is a v2 one.
    pub fn v2_only(&self) -> Option<&Path> {
        match self.0.as_slice() {
            [d] if d.v1_controllers.is_empty() => Some(&d.path),
            _ => None,
        }
    }

    /// The directory of the v1 hierarchy carrying `name`.
    pub fn v1(&self, name: &str) -> Option<&Path> {
        self.at(name).filter(|a| !a.v2).map(|a| a.dir)
    }

    /// The directory holding `v1_name`'s files (`v2_name` on cgroup2): the v1 hierarchy
    /// that carries it, else the cgroup2 directory.
    pub fn at(&self, v1_name: &str) -> Option<At<'_>> {
        let v1 = self
            .0
            .iter()
            .find(|d| d.v1_controllers.iter().any(|c| c == v1_name));
        let v2 = self.0.iter().find(|d| d.v1_controllers.is_empty());
        v1.map(|d| At {
            dir: &d.path,
            v2: false,
        })
        .or(v2.map(|d| At {
            dir: &d.path,
            v2: true,
        }))
    }
}

/// `dir` below the root of its cgroup mount (`/sys/fs/cgroup/memory/a/b` → `a/b`): the
/// same path goes into every other hierarchy.
pub fn relative_in(dir: &Path, mounts: &[CgroupMount]) -> Result<PathBuf> {
    mounts
        .iter()
        .filter_map(|m| dir.strip_prefix(&m.mount_point).ok())
        .min_by_key(|rel| rel.as_os_str().len())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the cgroup directory {} is on no cgroup mount of /proc/self/mountinfo",
                dir.display()
            ))
        })
}

/// The cgroup and cgroup2 mounts of this process's mount table.
pub fn cgroup_mounts() -> Result<Vec<CgroupMount>> {
    let file = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(file).map_err(|e| Error::io("reading", file, e))?;
    Ok(parse_mountinfo(&text))
}

/// The mount of the v1 hierarchy that carries `controller`, if one is mounted.
pub fn v1_mount<'m>(
    mounts: &'m [CgroupMount],
    controller: &str,
) -> Option<&'m CgroupMount> {
    mounts
        .iter()
        .find(|m| m.fstype == "cgroup" && m.options.iter().any(|o| o == controller))
}
