//! Three attributes of the process that the kernel keeps across execve(2), set by the
//! init (and by `exec`) while it is still root: `process.personality` (personality(2): the
//! execution domain, e.g. a 32-bit `uname -m`), `process.ioPriority` (ioprio_set(2): the
//! I/O scheduler's class and level) and `process.scheduler` (sched_setattr(2): the CPU
//! scheduling policy, nice value and real-time or deadline parameters). Raising a priority
//! needs CAP_SYS_NICE, which the hardening may drop after: so they come first.

use serde::Deserialize;

use crate::{Error, Result};

/// `process.personality`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Personality {
    pub domain: String,
    #[serde(default)]
    pub flags: Vec<String>,
}

/// `process.ioPriority`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoPriority {
    pub class: String,
    #[serde(default)]
    pub priority: i32,
}

/// `process.scheduler`: sched_setattr(2)'s `struct sched_attr`, by the spec's names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheduler {
    pub policy: String,
    #[serde(default)]
    pub nice: i32,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub runtime: u64,
    #[serde(default)]
    pub deadline: u64,
    #[serde(default)]
    pub period: u64,
}

/// The execution domains the spec names (<linux/personality.h>).
const DOMAINS: [(&str, u64); 2] = [("LINUX", 0x0000), ("LINUX32", 0x0008)];

/// The personality flags (<linux/personality.h>).
const PERSONALITY_FLAGS: [(&str, u64); 11] = [
    ("UNAME26", 0x0020000),
    ("ADDR_NO_RANDOMIZE", 0x0040000),
    ("FDPIC_FUNCPTRS", 0x0080000),
    ("MMAP_PAGE_ZERO", 0x0100000),
    ("ADDR_COMPAT_LAYOUT", 0x0200000),
    ("READ_IMPLIES_EXEC", 0x0400000),
    ("ADDR_LIMIT_32BIT", 0x0800000),
    ("SHORT_INODE", 0x1000000),
    ("WHOLE_SECONDS", 0x2000000),
    ("STICKY_TIMEOUTS", 0x4000000),
    ("ADDR_LIMIT_3GB", 0x8000000),
];

/// The I/O classes (<linux/ioprio.h>); each has levels 0 (highest) to 7.
const IO_CLASSES: [(&str, u32); 3] = [
    ("IOPRIO_CLASS_RT", 1),
    ("IOPRIO_CLASS_BE", 2),
    ("IOPRIO_CLASS_IDLE", 3),
];

/// The policies (<linux/sched.h>). SCHED_ISO (4) is reserved and Linux never implemented
/// it: the kernel refuses it (EINVAL), so it is refused here by name.
const POLICIES: [(&str, u32); 6] = [
    ("SCHED_OTHER", 0),
    ("SCHED_FIFO", 1),
    ("SCHED_RR", 2),
    ("SCHED_BATCH", 3),
    ("SCHED_IDLE", 5),
    ("SCHED_DEADLINE", 6),
];

/// sched_attr's flags (<linux/sched.h>).
const SCHED_FLAGS: [(&str, u64); 7] = [
    ("SCHED_FLAG_RESET_ON_FORK", 0x01),
    ("SCHED_FLAG_RECLAIM", 0x02),
    ("SCHED_FLAG_DL_OVERRUN", 0x04),
    ("SCHED_FLAG_KEEP_POLICY", 0x08),
    ("SCHED_FLAG_KEEP_PARAMS", 0x10),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", 0x20),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", 0x40),
];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn names<T>(table: &[(&str, T)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn invalid(field: &str, why: String) -> Error {
    Error::Invalid(format!("config.json's process.{field} {why}"))
}

impl Personality {
    /// The persona personality(2) takes: the domain with the flags or'ed in.
    pub fn persona(&self) -> Result<u64> {
        let mut persona = lookup(&DOMAINS, &self.domain).ok_or_else(|| {
            invalid(
                "personality",
                format!("has the domain '{}': use {}", self.domain, names(&DOMAINS)),
            )
        })?;
        for flag in &self.flags {
            persona |= lookup(&PERSONALITY_FLAGS, flag).ok_or_else(|| {
                invalid(
                    "personality",
                    format!("has the flag '{flag}': use {}", names(&PERSONALITY_FLAGS)),
                )
            })?;
        }
        Ok(persona)
    }
}

impl IoPriority {
    /// ioprio_set(2)'s value: the class in the bits from 13 up, the level below.
    pub fn value(&self) -> Result<u32> {
        let class = lookup(&IO_CLASSES, &self.class).ok_or_else(|| {
            invalid(
                "ioPriority",
                format!("has the class '{}': use {}", self.class, names(&IO_CLASSES)),
            )
        })?;
        if !(0..=7).contains(&self.priority) {
            return Err(invalid(
                "ioPriority",
                format!(
                    "has the priority {}: the kernel's levels are 0 (highest) to 7",
                    self.priority
                ),
            ));
        }
        Ok(class << 13 | self.priority as u32)
    }
}

/// sched_setattr(2)'s argument, `struct sched_attr` as of Linux 5.3 (SCHED_ATTR_SIZE_VER1):
/// the utilization clamps stay 0.
#[repr(C)]
#[derive(Debug, Default, PartialEq)]
pub struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

impl Scheduler {
    /// The attribute, checked as runc checks it: a nice value from -20 to 19, a priority
    /// only with SCHED_FIFO or SCHED_RR, runtime/deadline/period only with SCHED_DEADLINE.
    pub fn attr(&self) -> Result<SchedAttr> {
        let policy = lookup(&POLICIES, &self.policy).ok_or_else(|| {
            invalid(
                "scheduler",
                format!("has the policy '{}': use {}", self.policy, names(&POLICIES)),
            )
        })?;
        if !(-20..=19).contains(&self.nice) {
            return Err(invalid(
                "scheduler",
                format!("has nice {}: the kernel's range is -20 to 19", self.nice),
            ));
        }
        let realtime = matches!(self.policy.as_str(), "SCHED_FIFO" | "SCHED_RR");
        if self.priority != 0 && !realtime {
            return Err(invalid(
                "scheduler",
                "has a priority, which only SCHED_FIFO and SCHED_RR take".into(),
            ));
        }
        if !(0..=99).contains(&self.priority) {
            return Err(invalid(
                "scheduler",
                format!("has the priority {}: use 1 to 99", self.priority),
            ));
        }
        if self.policy != "SCHED_DEADLINE"
            && (self.runtime != 0 || self.deadline != 0 || self.period != 0)
        {
            return Err(invalid(
                "scheduler",
                "has runtime, deadline or period, which only SCHED_DEADLINE takes".into(),
            ));
        }
        let mut flags = 0;
        for flag in &self.flags {
            flags |= lookup(&SCHED_FLAGS, flag).ok_or_else(|| {
                invalid(
                    "scheduler",
                    format!("has the flag '{flag}': use {}", names(&SCHED_FLAGS)),
                )
            })?;
        }
        Ok(SchedAttr {
            size: std::mem::size_of::<SchedAttr>() as u32,
            policy,
            flags,
            nice: self.nice,
            priority: self.priority as u32,
            runtime: self.runtime,
            deadline: self.deadline,
            period: self.period,
            util_min: 0,
            util_max: 0,
        })
    }
}

/// A process's three attributes, as config.json gives them.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    pub personality: Option<&'a Personality>,
    pub io_priority: Option<&'a IoPriority>,
    pub scheduler: Option<&'a Scheduler>,
}

/// Refuses, before anything is made, the values the kernel would refuse in the init.
pub fn check(attrs: Attrs<'_>) -> Result<()> {
    if let Some(p) = attrs.personality {
        p.persona()?;
    }
    if let Some(io) = attrs.io_priority {
        io.value()?;
    }
    if let Some(s) = attrs.scheduler {
        s.attr()?;
    }
    Ok(())
}

/// Sets the three on the calling process (the init, or `exec`'s child), before its
/// capabilities go.
pub fn apply(attrs: Attrs<'_>) -> Result<()> {
    if let Some(p) = attrs.personality {
        let persona = p.persona()?;
        // SAFETY: personality(2) takes an integer; it returns the old persona or -1.
        if unsafe { libc::personality(persona as libc::c_ulong) } == -1 {
            return Err(Error::sys(
                "personality",
                format!("setting process.personality {}", p.domain),
                nix::errno::Errno::last(),
            ));
        }
    }
    if let Some(s) = attrs.scheduler {
        let attr = s.attr()?;
        // SAFETY: sched_setattr(2) on ourselves (pid 0) reads `attr`, which lives across
        // the call and has the size it declares; flags 0.
        let r = unsafe {
            libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0)
        };
        if r == -1 {
            return Err(Error::sys(
                "sched_setattr",
                format!(
                    "setting process.scheduler {} (a real-time policy needs CAP_SYS_NICE and, on cgroup v1, cpu.rt_runtime_us in the container's cgroup)",
                    s.policy
                ),
                nix::errno::Errno::last(),
            ));
        }
    }
    if let Some(io) = attrs.io_priority {
        const IOPRIO_WHO_PROCESS: libc::c_int = 1;
        // SAFETY: ioprio_set(2) with integer arguments, on ourselves (who 0).
        let r = unsafe {
            libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, io.value()?)
        };
        if r == -1 {
            return Err(Error::sys(
                "ioprio_set",
                format!("setting process.ioPriority {}", io.class),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheduler(policy: &str, nice: i32, priority: i32, runtime: u64) -> Scheduler {
        Scheduler {
            policy: policy.into(),
            nice,
            priority,
            flags: vec![],
            runtime,
            deadline: 0,
            period: 0,
        }
    }

    #[test]
    fn the_names_become_the_kernels_numbers() {
        let p = Personality {
            domain: "LINUX32".into(),
            flags: vec!["ADDR_NO_RANDOMIZE".into()],
        };
        assert_eq!(p.persona().unwrap(), 0x0040008);
        let io = IoPriority {
            class: "IOPRIO_CLASS_IDLE".into(),
            priority: 0,
        };
        assert_eq!(io.value().unwrap(), 3 << 13);
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
        let attr = scheduler("SCHED_RR", 0, 10, 0).attr().unwrap();
        assert_eq!((attr.policy, attr.priority), (2, 10));
    }

    #[test]
    fn what_runc_refuses_is_refused() {
        assert!(scheduler("SCHED_OTHER", 0, 5, 0).attr().is_err());
        assert!(scheduler("SCHED_BATCH", 20, 0, 0).attr().is_err());
        assert!(scheduler("SCHED_FIFO", 0, 1, 1000).attr().is_err());
        assert!(scheduler("SCHED_ISO", 0, 0, 0).attr().is_err());
        assert!(scheduler("SCHED_DEADLINE", 0, 0, 1000).attr().is_ok());
        let io = IoPriority {
            class: "IOPRIO_CLASS_BE".into(),
            priority: 8,
        };
        assert!(io.value().is_err());
        let p = Personality {
            domain: "SVR4".into(),
            flags: vec![],
        };
        assert!(p.persona().is_err());
    }
}
