//! The eight kinds of namespace the kernel has, and how to tell which one a process is in.
//!
//! A namespace wraps one kind of global resource so that the processes inside see their own
//! copy of it. The kernel names each namespace a process belongs to by a file,
//! `/proc/PID/ns/<kind>`; two processes are in the same namespace exactly when those files
//! have the same inode number (and device). That inode is what the tests compare.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::{Error, Result};

/// One kind of namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// The mount table: what is mounted where (Linux 2.4.19, the first namespace).
    Mount,
    /// Process IDs: the first process inside is PID 1 (Linux 3.8).
    Pid,
    /// The network stack: interfaces, addresses, routes, ports (Linux 2.6.29).
    Net,
    /// System V IPC objects and POSIX message queues (Linux 2.6.19).
    Ipc,
    /// Host name and NIS domain name (Linux 2.6.19).
    Uts,
    /// User and group IDs and capabilities (Linux 3.8).
    User,
    /// The root of the cgroup hierarchy a process sees (Linux 4.6).
    Cgroup,
    /// The boot-time and monotonic clocks (Linux 5.6).
    Time,
}

impl Namespace {
    /// All eight kinds, in the order the book's table lists them.
    pub const ALL: [Namespace; 8] = [
        Namespace::Mount,
        Namespace::Pid,
        Namespace::Net,
        Namespace::Ipc,
        Namespace::Uts,
        Namespace::User,
        Namespace::Cgroup,
        Namespace::Time,
    ];

    /// The name the kernel uses for it in `/proc/PID/ns/`.
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Mount => "mnt",
            Namespace::Pid => "pid",
            Namespace::Net => "net",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
            Namespace::User => "user",
            Namespace::Cgroup => "cgroup",
            Namespace::Time => "time",
        }
    }

    /// The flag that asks clone(2) or unshare(2) for a new namespace of this kind.
    ///
    /// Trap: `CLONE_NEWTIME` (0x80) shares its bits with the exit signal that clone(2)
    /// takes in its low byte, so clone(2) cannot take it; the time namespace is made with
    /// unshare(2) in the parent instead, and the children it forks afterwards are born into
    /// it.
    pub fn clone_flag(self) -> CloneFlags {
        match self {
            Namespace::Mount => CloneFlags::CLONE_NEWNS,
            Namespace::Pid => CloneFlags::CLONE_NEWPID,
            Namespace::Net => CloneFlags::CLONE_NEWNET,
            Namespace::Ipc => CloneFlags::CLONE_NEWIPC,
            Namespace::Uts => CloneFlags::CLONE_NEWUTS,
            Namespace::User => CloneFlags::CLONE_NEWUSER,
            Namespace::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            Namespace::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    }

    /// Parses the `/proc/PID/ns/` name back into a kind.
    pub fn from_name(name: &str) -> Option<Namespace> {
        Namespace::ALL.into_iter().find(|ns| ns.name() == name)
    }

    /// The file that names this namespace of process `pid` (`None` for the calling
    /// process).
    pub fn proc_path(self, pid: Option<Pid>) -> PathBuf {
        let who = pid.map_or_else(|| "self".to_string(), |p| p.to_string());
        PathBuf::from(format!("/proc/{who}/ns/{}", self.name()))
    }

    /// The inode number that identifies the namespace of this kind that `pid` is in.
    pub fn inode(self, pid: Option<Pid>) -> Result<u64> {
        let path = self.proc_path(pid);
        std::fs::metadata(&path)
            .map(|m| m.ino())
            .map_err(|e| Error::io("reading the namespace inode", &path, e))
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of namespace kinds that a child should get new copies of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Namespaces {
    bits: u8,
}

impl Namespaces {
    /// The set holding exactly these kinds.
    pub fn of(kinds: &[Namespace]) -> Self {
        kinds.iter().fold(Self::default(), |set, &k| set.with(k))
    }

    /// All eight.
    pub fn all() -> Self {
        Self::of(&Namespace::ALL)
    }

    /// This set with one more kind.
    pub fn with(self, kind: Namespace) -> Self {
        Self {
            bits: self.bits | 1 << kind as u8,
        }
    }

    /// This set without a kind.
    pub fn without(self, kind: Namespace) -> Self {
        Self {
            bits: self.bits & !(1 << kind as u8),
        }
    }

    /// Whether the set holds a kind.
    pub fn contains(self, kind: Namespace) -> bool {
        self.bits & (1 << kind as u8) != 0
    }

    /// The kinds in the set, in the order of [`Namespace::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Namespace> {
        Namespace::ALL
            .into_iter()
            .filter(move |&k| self.contains(k))
    }

    /// The flags for clone(2): every kind but time (see [`Namespace::clone_flag`]).
    pub fn clone_flags(self) -> CloneFlags {
        self.without(Namespace::Time)
            .iter()
            .fold(CloneFlags::empty(), |flags, k| flags | k.clone_flag())
    }
}

/// The namespace inodes of a process for every kind, in the order of [`Namespace::ALL`].
pub fn inodes_of(pid: Option<Pid>) -> Result<Vec<(Namespace, u64)>> {
    Namespace::ALL
        .into_iter()
        .map(|k| Ok((k, k.inode(pid)?)))
        .collect()
}

/// Unshares a new time namespace for the children of the calling process, with its
/// boot-time and monotonic clocks starting from (about) zero: `uptime` in a container then
/// counts from the container's start, not the host's boot.
///
/// The offsets go into `/proc/self/timens_offsets`, and only before the first process is
/// born into the new namespace; after that the kernel refuses to change them (EACCES).
pub fn unshare_time_from_zero() -> Result<()> {
    use nix::time::{clock_gettime, ClockId};
    nix::sched::unshare(Namespace::Time.clone_flag())
        .map_err(|e| Error::sys("unshare", "creating a time namespace", e))?;
    let mut offsets = String::new();
    for (name, clock) in [
        ("monotonic", ClockId::CLOCK_MONOTONIC),
        ("boottime", ClockId::CLOCK_BOOTTIME),
    ] {
        let now = clock_gettime(clock).map_err(|e| {
            Error::sys("clock_gettime", format!("reading the {name} clock"), e)
        })?;
        offsets.push_str(&format!("{name} -{} 0\n", now.tv_sec()));
    }
    let path = std::path::Path::new("/proc/self/timens_offsets");
    std::fs::write(path, offsets)
        .map_err(|e| Error::io("setting the time namespace's offsets", path, e))
}

/// Undoes [`unshare_time_from_zero`] for the children still to come, once the container's
/// child is born: the parent's next children (threads, helper programs) are born in its own
/// time namespace again. Kernels before 6.2 refuse to create a thread (CLONE_VM) while a
/// process's children would be born in another time namespace than its own (EINVAL).
pub fn restore_time_for_children() -> Result<()> {
    let own = std::fs::File::open("/proc/self/ns/time").map_err(|e| {
        Error::io(
            "opening our own time namespace",
            std::path::Path::new("/proc/self/ns/time"),
            e,
        )
    })?;
    nix::sched::setns(own, Namespace::Time.clone_flag())
        .map_err(|e| Error::sys("setns", "returning to our own time namespace", e))
}

/// Joins the namespace of kind `kind` that the file `path` names (a `/proc/PID/ns/<kind>`
/// file, or a bind mount of one, such as podman's `/run/netns/…`): setns(2).
///
/// Traps: joining a PID or a time namespace changes only where the caller's *children* are
/// born, not the caller; joining a user namespace is refused to a multi-threaded caller;
/// and `kind` is checked by the kernel against the file (EINVAL when they differ).
pub fn join(kind: Namespace, path: &std::path::Path) -> Result<()> {
    use std::os::fd::AsFd;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening the {kind} namespace to join"), path, e))?;
    nix::sched::setns(file.as_fd(), kind.clone_flag()).map_err(|e| {
        Error::sys_path("setns", format!("joining the {kind} namespace"), path, e)
    })
}
