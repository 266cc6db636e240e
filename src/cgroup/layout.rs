//! Which cgroup interface this machine has, and where.
//!
//! Three layouts exist in the wild:
//!
//! * **unified** (pure v2): one `cgroup2` filesystem at `/sys/fs/cgroup`, every controller
//!   in it;
//! * **hybrid**: `/sys/fs/cgroup` is a tmpfs holding one `cgroup` (v1) mount per
//!   controller, plus a `cgroup2` mount at `/sys/fs/cgroup/unified` that systemd uses for
//!   tracking only;
//! * **legacy** (pure v1): the same without the `cgroup2` mount.
//!
//! We ask the kernel which one it is (the filesystem magic number `statfs(2)` returns), the
//! way runtimes do, rather than guessing from which paths exist: a directory can be there
//! without a filesystem mounted on it. Where each v1 controller is mounted comes from
//! `/proc/self/mountinfo`, and where this process sits in each hierarchy from
//! `/proc/self/cgroup`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The directory, in each hierarchy, that holds every cgroup this tool makes.
///
/// It is made when first needed and then stays, as runc's and systemd's parents do.
/// Removing it when it looks empty races every other run: run B finds `workbook/` (EEXIST:
/// fine), run A removes it as its own last cgroup goes, and B's mkdir of its leaf fails
/// with ENOENT. With 100 runs at once that happened about once per 100; a cgroup directory
/// costs the kernel little when no process is in it.
pub const PARENT_NAME: &str = "workbook";

/// The controllers this chapter uses. v1 calls them subsystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    Memory,
    Cpu,
    /// v1 only: CPU time accounting lives in its own subsystem (`cpuacct.usage`); v2 folds
    /// it into `cpu.stat`, which exists even without the cpu controller.
    Cpuacct,
    Pids,
    /// v1 only: the device allow-list (`devices.allow`, `devices.deny`). v2 has no such
    /// controller; a BPF program attached to the cgroup does its work (see
    /// [`super::devices`]).
    Devices,
}

impl Controller {
    /// The name the kernel uses, in mount options and in `cgroup.controllers`.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Pids => "pids",
            Controller::Devices => "devices",
        }
    }

    /// All of them, in the order directories are made.
    pub const ALL: [Controller; 5] = [
        Controller::Memory,
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Pids,
        Controller::Devices,
    ];
}

/// The three layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Unified,
    Hybrid,
    Legacy,
}

impl Layout {
    /// A short name for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Unified => "cgroup v2 (unified)",
            Layout::Hybrid => "hybrid (v1 controllers, cgroup2 for tracking only)",
            Layout::Legacy => "cgroup v1 (legacy)",
        }
    }
}

// ANCHOR: magic_consts
/// `statfs(2)` f_type of a cgroup2 filesystem (linux/magic.h).
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// `statfs(2)` f_type of a cgroup (v1) filesystem.
pub const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
/// `statfs(2)` f_type of tmpfs, which holds the v1 mounts in hybrid and legacy layouts.
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
// ANCHOR_END: magic_consts

/// Decides the layout from the magic of `/sys/fs/cgroup` and, when that is a tmpfs, of
/// `/sys/fs/cgroup/unified` (`None` when that is not a mount point of its own or is
/// missing).
// ANCHOR: magic_fn
pub fn layout_from_magic(root: i64, unified: Option<i64>) -> Option<Layout> {
    match (root, unified) {
        (CGROUP2_SUPER_MAGIC, _) => Some(Layout::Unified),
        (TMPFS_MAGIC, Some(CGROUP2_SUPER_MAGIC)) => Some(Layout::Hybrid),
        (TMPFS_MAGIC, _) | (CGROUP_SUPER_MAGIC, _) => Some(Layout::Legacy),
        _ => None,
    }
}
// ANCHOR_END: magic_fn

/// Where the kernel mounts cgroup filesystems by convention.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// `f_type` of the filesystem holding `path`.
fn fs_magic(path: &Path) -> Result<i64> {
    let st = nix::sys::statfs::statfs(path)
        .map_err(|e| Error::sys_path("statfs", "finding the cgroup filesystem", path, e))?;
    Ok(st.filesystem_type().0 as i64)
}

/// One v1 hierarchy: a `cgroup` mount carrying one or more controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Controllers of ours found in its mount options (`cpu,cpuacct` share one hierarchy on
    /// many distributions).
    pub controllers: Vec<Controller>,
    /// Where it is mounted.
    pub mount: PathBuf,
    /// This process's cgroup in it, the directory below `mount`.
    pub own: PathBuf,
}

/// What the machine has: the layout, the cgroup2 mount (if any) and the v1 hierarchies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupFs {
    pub layout: Layout,
    /// The cgroup2 mount and this process's cgroup in it (`0::/path`).
    pub unified: Option<(PathBuf, PathBuf)>,
    /// The v1 hierarchies that carry a controller we use (empty on unified).
    pub v1: Vec<V1Hierarchy>,
}

impl CgroupFs {
    /// Looks at this machine: statfs, `/proc/self/mountinfo`, `/proc/self/cgroup`.
    pub fn detect() -> Result<CgroupFs> {
        let root = Path::new(CGROUP_ROOT);
        let root_magic = fs_magic(root).map_err(|_| no_cgroupfs())?;
        let unified_magic = fs_magic(&root.join("unified")).ok();
        let layout =
            layout_from_magic(root_magic, unified_magic).ok_or_else(no_cgroupfs)?;
        let read = |p: &str| {
            std::fs::read_to_string(p).map_err(|e| Error::io("reading", Path::new(p), e))
        };
        CgroupFs::from_tables(
            layout,
            &read("/proc/self/mountinfo")?,
            &read("/proc/self/cgroup")?,
        )
    }

    /// Builds the description from the two tables the kernel gives every process. Used by
    /// [`detect`](Self::detect) and, with hand-written tables, by the fake-cgroupfs tests.
    pub fn from_tables(
        layout: Layout,
        mountinfo: &str,
        proc_cgroup: &str,
    ) -> Result<CgroupFs> {
        let mounts = parse_mountinfo(mountinfo);
        let memberships = parse_proc_cgroup(proc_cgroup);
        let own_in = |key: &str| -> Option<PathBuf> {
            memberships
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, p)| p.clone())
        };
        let mut fs = CgroupFs {
            layout,
            unified: None,
            v1: Vec::new(),
        };
        for m in mounts {
            if m.fstype == "cgroup2" {
                // In the hybrid layout only the mount at <root>/unified counts; skip others
                // (a container runtime may bind-mount cgroup2 elsewhere too).
                if fs.unified.is_none() {
                    let own = own_in("").unwrap_or_else(|| PathBuf::from("/"));
                    fs.unified = Some((m.mount_point, below(&m.root, &own)));
                }
                continue;
            }
            let controllers: Vec<Controller> = Controller::ALL
                .into_iter()
                .filter(|c| m.options.iter().any(|o| o == c.name()))
                .collect();
            if controllers.is_empty() || fs.v1.iter().any(|h| h.mount == m.mount_point) {
                continue;
            }
            let key = m
                .options
                .iter()
                .filter(|o| {
                    Controller::ALL.iter().any(|c| c.name() == o.as_str())
                        || [
                            "cpuset", "blkio", "devices", "freezer", "net_cls", "net_prio",
                        ]
                        .contains(&o.as_str())
                })
                .cloned()
                .collect::<Vec<_>>();
            let own = memberships
                .iter()
                .find(|(k, _)| {
                    let mut names: Vec<&str> = k.split(',').collect();
                    names.sort_unstable();
                    let mut want: Vec<&str> = key.iter().map(String::as_str).collect();
                    want.sort_unstable();
                    names == want
                })
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| PathBuf::from("/"));
            fs.v1.push(V1Hierarchy {
                controllers,
                own: below(&m.root, &own),
                mount: m.mount_point,
            });
        }
        match layout {
            Layout::Unified if fs.unified.is_none() => return Err(no_cgroupfs()),
            Layout::Unified => fs.v1.clear(),
            Layout::Legacy => fs.unified = None,
            Layout::Hybrid => {}
        }
        if layout != Layout::Unified && fs.v1.is_empty() {
            return Err(no_cgroupfs());
        }
        Ok(fs)
    }

    /// The v1 hierarchy carrying `c`, if it is mounted.
    pub fn v1_hierarchy(&self, c: Controller) -> Option<&V1Hierarchy> {
        self.v1.iter().find(|h| h.controllers.contains(&c))
    }
}

/// The cgroup path relative to a mount whose root is `root` (not `/` when a cgroup
/// namespace or a bind mount shows only part of the hierarchy).
fn below(root: &Path, own: &Path) -> PathBuf {
    let rel = own.strip_prefix(root).unwrap_or(own);
    Path::new("/").join(rel)
}

fn no_cgroupfs() -> Error {
    Error::Unsupported(format!(
        "no cgroup filesystem is mounted at {CGROUP_ROOT}: mount cgroup2 there \
         (mount -t cgroup2 none {CGROUP_ROOT}) or run on a systemd machine or in the VM"
    ))
}

/// A line of `/proc/self/mountinfo` that is a cgroup filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// The directory of the hierarchy this mount shows (field 4).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    /// `cgroup` or `cgroup2`.
    pub fstype: String,
    /// The super options: for v1 they name the controllers (`rw,cpu,cpuacct`).
    pub options: Vec<String>,
}

/// The cgroup and cgroup2 mounts in a mountinfo text (proc(5) describes its fields).
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let fstype = *right.first()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(CgroupMount {
                root: PathBuf::from(unescape(left.get(3)?)),
                mount_point: PathBuf::from(unescape(left.get(4)?)),
                fstype: fstype.to_string(),
                options: right
                    .get(2)
                    .map(|o| o.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\040` and so on.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4);
        if bytes[i] == b'\\'
            && octal.is_some_and(|o| o.iter().all(|b| (b'0'..=b'7').contains(b)))
        {
            let o = octal.unwrap_or_default();
            let value = o.iter().fold(0u16, |v, b| v * 8 + u16::from(b - b'0'));
            if let Ok(v) = u8::try_from(value) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/self/cgroup` as (controller list, path) pairs: `4:memory:/a/b` → ("memory",
/// "/a/b"),
/// and the v2 line `0::/x` → ("", "/x"). Named hierarchies (`name=systemd`) keep their
/// name.
pub fn parse_proc_cgroup(text: &str) -> Vec<(String, PathBuf)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some((controllers.to_string(), PathBuf::from(path)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_spaces() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
