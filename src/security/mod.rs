//! Hardening: what a container's root may no longer do, even inside its namespaces.
//!
//! Namespaces change what a process *sees*; they do not take away what root *may do*. A
//! root process in a container still holds every capability, may load kernel modules,
//! reboot the machine or mount filesystems, unless the runtime takes that away. The last
//! steps before exec, in this order (each one needs the powers the next one removes):
//!
//! ```text
//! 1. masked and read-only paths   mounts: needs CAP_SYS_ADMIN, so before the drop
//! 2. no_new_privs                 exec can never again grant privileges (setuid, file caps)
//! 3. capabilities                 the bounding set and the others cut to Docker's default 14
//! 4. seccomp                      a filter on the system calls themselves; last, because it
//!                                 forbids mount(2) and friends that steps 1–3 still used
//! ```

pub mod capabilities;
pub mod paths;
pub mod seccomp;

use crate::Result;

/// Sets `no_new_privs`: from now on execve(2) never grants privileges this process lacks
/// (setuid bits and file capabilities are ignored). It also lets an unprivileged process
/// install a seccomp filter. `NoNewPrivs: 1` in /proc/self/status shows it.
pub fn set_no_new_privs() -> Result<()> {
    // exercise 07.1: set no_new_privs, so exec can never grant privileges again
    use crate::error::syscall_result;
    use crate::Error;

    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    syscall_result(rc)
        .map_err(|e| Error::sys("prctl(PR_SET_NO_NEW_PRIVS)", "setting no_new_privs", e))?;
    Ok(())
    // end of exercise 07.1
}

/// Runs the hardening steps 2–4 in the child, right before exec (step 1 belongs to the
/// rootfs setup, while /proc is being mounted).
// ANCHOR: harden_fn
pub fn harden() -> Result<()> {
    set_no_new_privs()?;
    capabilities::restrict_to(&capabilities::DOCKER_DEFAULT)?;
    seccomp::install_default_filter()
}
// ANCHOR_END: harden_fn
