//! What the kernel lets one process use, set per process rather than per cgroup: resource
//! limits (setrlimit(2)) and the OOM killer's preference (`oom_score_adj`).

use nix::unistd::Pid;

use crate::{Error, Result};

/// One resource limit: `soft` is what the kernel enforces, `hard` the ceiling up to which
/// the process may raise `soft` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// The `RLIMIT_*` number.
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}

/// The limits by their names in setrlimit(2) (and in the OCI runtime spec).
pub const RLIMITS: [(&str, libc::c_int); 16] = [
    ("RLIMIT_AS", libc::RLIMIT_AS as libc::c_int),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as libc::c_int),
    ("RLIMIT_CPU", libc::RLIMIT_CPU as libc::c_int),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as libc::c_int),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as libc::c_int),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as libc::c_int),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as libc::c_int),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as libc::c_int),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as libc::c_int),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as libc::c_int),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as libc::c_int),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as libc::c_int),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as libc::c_int),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as libc::c_int),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as libc::c_int),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as libc::c_int),
];

impl Rlimit {
    /// The limit named `name` (`RLIMIT_NOFILE`), or `None` for a name the kernel lacks.
    pub fn named(name: &str, soft: u64, hard: u64) -> Option<Rlimit> {
        let (_, resource) = RLIMITS.iter().find(|(n, _)| *n == name)?;
        Some(Rlimit {
            resource: *resource,
            soft,
            hard,
        })
    }

    /// Sets it on the calling process. Raising a hard limit needs CAP_SYS_RESOURCE, so this
    /// runs before the capabilities are dropped; it survives exec.
    pub fn apply(&self) -> Result<()> {
        let value = libc::rlimit {
            rlim_cur: self.soft as libc::rlim_t,
            rlim_max: self.hard as libc::rlim_t,
        };
        // SAFETY: `value` is a valid rlimit that outlives the call.
        let rc = unsafe { libc::setrlimit(self.resource as _, &value) };
        crate::error::syscall_result(rc).map_err(|e| {
            let name = RLIMITS
                .iter()
                .find(|(_, r)| *r == self.resource)
                .map_or("a resource limit", |(n, _)| n);
            if e == nix::errno::Errno::EPERM && self.resource == libc::RLIMIT_NOFILE as libc::c_int {
                // Even root cannot pass the kernel's ceiling for open files.
                let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
                    .map(|t| format!(" ({})", t.trim()))
                    .unwrap_or_default();
                return Error::Invalid(format!(
                    "setting RLIMIT_NOFILE to {} (hard {}) failed: setrlimit returned EPERM, as the kernel refuses a limit above fs.nr_open{ceiling} even to root: lower it in process.rlimits",
                    self.soft, self.hard
                ));
            }
            Error::sys("setrlimit", format!("setting {name}"), e)
        })?;
        Ok(())
    }
}

/// Writes `/proc/PID/oom_score_adj` (-1000 to 1000): how much more (or less) likely the
/// OOM killer picks this process. Lowering it needs CAP_SYS_RESOURCE, so the runtime writes
/// it from outside, as root, before the process runs its program.
pub fn set_oom_score_adj(pid: Pid, value: i32) -> Result<()> {
    let path = std::path::PathBuf::from(format!("/proc/{pid}/oom_score_adj"));
    std::fs::write(&path, value.to_string())
        .map_err(|e| Error::io("setting the OOM score adjustment", &path, e))
}
