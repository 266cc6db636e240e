/// Sets `no_new_privs`: from now on execve(2) never grants privileges this process lacks
/// (setuid bits and file capabilities are ignored). It also lets an unprivileged process
/// install a seccomp filter. `NoNewPrivs: 1` in /proc/self/status shows it.
pub fn set_no_new_privs() -> Result<()> {
    use crate::error::syscall_result;
    use crate::Error;

    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    syscall_result(rc)
        .map_err(|e| Error::sys("prctl(PR_SET_NO_NEW_PRIVS)", "setting no_new_privs", e))?;
    Ok(())
}
