//! Capabilities: root's power, cut into pieces the kernel checks one by one.
//!
//! A process has five sets: *bounding* (the most it can ever get again across exec),
//! *permitted*, *effective* (what the kernel checks now), *inheritable* and *ambient* (what
//! may pass through exec). For uid 0, execve(2) gives permitted = inheritable ∪ bounding,
//! so the bounding set is the real ceiling: we drop from it everything outside the default
//! set, set effective and permitted to that default, and leave inheritable and ambient
//! empty.
//!
//! Why inheritable must be empty (CVE-2022-24769): across exec, a program file that carries
//! *file-inheritable* capabilities (`setcap cap_net_admin+ei prog`) gets every capability
//! that is in both its file set and the process's inheritable set, whatever uid runs it.
//! With the container's 14 in the inheritable set, a non-root user inside could gain them
//! by running such a file from the image. Docker, podman, CRI-O and containerd stopped
//! setting the inheritable set in 2022 for that reason.

use crate::error::syscall_result;
use crate::{Error, Result};

/// A capability, by its number (capabilities(7); `/proc/sys/kernel/cap_last_cap` is the
/// last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub name: &'static str,
    pub number: u32,
}

const fn cap(name: &'static str, number: u32) -> Capability {
    Capability { name, number }
}

/// The 14 capabilities Docker (and the OCI default) leaves a container.
pub const DOCKER_DEFAULT: [Capability; 14] = [
    cap("CAP_CHOWN", 0),
    cap("CAP_DAC_OVERRIDE", 1),
    cap("CAP_FOWNER", 3),
    cap("CAP_FSETID", 4),
    cap("CAP_KILL", 5),
    cap("CAP_SETGID", 6),
    cap("CAP_SETUID", 7),
    cap("CAP_SETPCAP", 8),
    cap("CAP_NET_BIND_SERVICE", 10),
    cap("CAP_NET_RAW", 13),
    cap("CAP_SYS_CHROOT", 18),
    cap("CAP_MKNOD", 27),
    cap("CAP_AUDIT_WRITE", 29),
    cap("CAP_SETFCAP", 31),
];

/// The set as a bit mask, as /proc/PID/status shows `CapEff` and friends.
pub fn mask(caps: &[Capability]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1 << c.number)
}

/// The number of the last capability this kernel knows.
pub fn last_capability() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Reduces the bounding, permitted and effective sets of the calling process to `keep`, and
/// empties the inheritable and ambient sets: nothing passes through exec by them.
pub fn restrict_to(keep: &[Capability]) -> Result<()> {
    // exercise 07.2: cut the capability sets down to the ones to keep
    let keep_mask = mask(keep);
    // 1. The bounding set, one capability at a time (this needs CAP_SETPCAP, so it goes
    //    first).
    for number in 0..=last_capability() {
        if keep_mask & (1 << number) == 0 {
            // SAFETY: prctl with integer arguments only.
            let number = number as libc::c_ulong;
            syscall_result(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, number, 0, 0, 0) })
                .map_err(|e| {
                    let what =
                        format!("dropping capability {number} from the bounding set");
                    Error::sys("prctl(PR_CAPBSET_DROP)", what, e)
                })?;
        }
    }
    // 2. Ambient: cleared, so nothing passes through exec for a non-root uid.
    // SAFETY: as above.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // 3. Effective and permitted to the default, inheritable empty, in one capset(2).
    set_sets(keep_mask, keep_mask, 0)
    // end of exercise 07.2
}

/// capset(2) with the version-3 (64-bit) layout: two 32-bit halves per set.
pub(crate) fn set_sets(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |v: u64, i: u32| (v >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data {
        effective: half(effective, i),
        permitted: half(permitted, i),
        inheritable: half(inheritable, i),
    });
    // SAFETY: header and data have the layout capset(2) expects and outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    syscall_result(rc)
        .map_err(|e| Error::sys("capset", "setting the capability sets", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mask_is_dockers() {
        // Docker's default, as /proc/PID/status shows it inside `docker run`.
        assert_eq!(mask(&DOCKER_DEFAULT), 0x00000000a80425fb);
    }
}
