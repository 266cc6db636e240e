//! The capability sets an OCI config gives, each set of its own: chapter 7's
//! `restrict_to` cuts all of them to one list, while a config names five sets and a user
//! to become. So the user changes first ([`keep_across_setuid`] around it keeps the
//! permitted set), then [`restrict`] runs chapter 7's step with the bounding set and
//! narrows the other sets to the config's.

use crate::error::syscall_result;
use crate::security::capabilities::{self, Capability};
use crate::{Error, Result};

/// The five sets of a process, as masks (bit N = capability N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// Every capability's name, at its number (linux/capability.h, up to Linux 5.9's
/// CAP_CHECKPOINT_RESTORE), as the OCI runtime spec names them.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability called `name` (`CAP_NET_ADMIN`), if the table knows it.
pub fn named(name: &str) -> Option<Capability> {
    NAMES.iter().position(|n| *n == name).map(numbered)
}

fn numbered(number: usize) -> Capability {
    Capability {
        name: NAMES[number],
        number: number as u32,
    }
}

/// Cuts the calling process's capabilities down to `sets`, after its change of user.
/// Chapter 7's [`capabilities::restrict_to`] (exercise 07.2) drops the bounding set and
/// leaves effective = permitted = bounding, inheritable and ambient empty; the config's
/// other sets then narrow that ([`apply_sets`]). A permitted capability outside the
/// bounding set is left out: execve(2) would take it away anyway.
pub fn restrict(sets: &Sets) -> Result<()> {
    // Dropping from the bounding set needs CAP_SETPCAP in the effective set, which a
    // change of uid away from 0 emptied.
    raise_effective()?;
    let keep: Vec<_> = (0..NAMES.len())
        .filter(|n| sets.bounding & (1 << n) != 0)
        .map(numbered)
        .collect();
    capabilities::restrict_to(&keep)?;
    apply_sets(&Sets {
        effective: sets.effective & sets.bounding,
        permitted: sets.permitted & sets.bounding,
        ..*sets
    })
}

/// Makes the effective set the permitted set again, as capget(2) reads them.
fn raise_effective() -> Result<()> {
    let sets = crate::capget::capability_sets()
        .map_err(|e| Error::sys("capget", "reading the capability sets", e))?;
    capabilities::set_sets(sets.permitted, sets.permitted, sets.inheritable)
}

/// Gives the calling process the effective, permitted and inheritable sets of `sets` in one
/// capset(2), then its ambient set, one capability at a time (the bounding set is
/// `drop_bounding`'s). The kernel refuses an ambient capability that is not both
/// permitted and inheritable; such a one is left out, as runc does (runc's default config
/// names ambient capabilities and no inheritable ones).
pub fn apply_sets(sets: &Sets) -> Result<()> {
    capabilities::set_sets(sets.effective, sets.permitted, sets.inheritable)?;
    let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong;
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_CAP_AMBIENT, clear, 0, 0, 0) };
    for number in 0..=capabilities::last_capability() {
        let allowed = sets.permitted & sets.inheritable;
        if sets.ambient & allowed & (1 << number) != 0 {
            let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
            // SAFETY: as above.
            let rc = unsafe {
                libc::prctl(libc::PR_CAP_AMBIENT, raise, number as libc::c_ulong, 0, 0)
            };
            syscall_result(rc).map_err(|e| {
                let what = format!("raising capability {number} in the ambient set");
                Error::sys("prctl(PR_CAP_AMBIENT_RAISE)", what, e)
            })?;
        }
    }
    Ok(())
}

/// Keeps the permitted set across a change of uid away from 0 (PR_SET_KEEPCAPS): without
/// it, setuid(2) to a non-root uid empties the permitted and effective sets, and the
/// capabilities a non-root process was given could not be set afterwards.
pub fn keep_across_setuid(keep: bool) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, keep as libc::c_ulong, 0, 0, 0) };
    syscall_result(rc)
        .map_err(|e| Error::sys("prctl(PR_SET_KEEPCAPS)", "keeping capabilities", e))?;
    Ok(())
}
