/// Installs a compiled program.
pub fn install(program: &[libc::sock_filter]) -> Result<()> {
    use crate::error::syscall_result;
    use crate::Error;

    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `program`, which outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        )
    };
    syscall_result(rc).map_err(|e| {
        Error::sys("prctl(PR_SET_SECCOMP)", "installing the seccomp filter", e)
    })?;
    Ok(())
}
