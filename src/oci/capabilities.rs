//! The capability sets an OCI config gives, each set of its own: chapter 7's
//! `restrict_to` cuts all of them to one list, while a config names five sets and may
//! change the uid between the bounding set and the others, so they are applied in steps:
//! [`drop_bounding`], [`keep_across_setuid`] around the change of user, [`apply_sets`].

use crate::error::syscall_result;
use crate::security::capabilities;
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

/// Drops from the bounding set every capability outside `keep`. It needs CAP_SETPCAP in
/// the effective set, so it comes before a change of uid (which empties the effective
/// set) and before [`apply_sets`].
pub fn drop_bounding(keep: u64) -> Result<()> {
    for number in 0..=capabilities::last_capability() {
        if keep & (1 << number) == 0 {
            // SAFETY: prctl with integer arguments only.
            let n = number as libc::c_ulong;
            syscall_result(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n, 0, 0, 0) })
                .map_err(|e| {
                    let what =
                        format!("dropping capability {number} from the bounding set");
                    Error::sys("prctl(PR_CAPBSET_DROP)", what, e)
                })?;
        }
    }
    Ok(())
}

/// Gives the calling process the effective, permitted and inheritable sets of `sets` in one
/// capset(2), then its ambient set, one capability at a time (the bounding set is
/// [`drop_bounding`]'s). The kernel refuses an ambient capability that is not both
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
