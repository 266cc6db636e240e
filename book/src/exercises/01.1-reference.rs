/// clone(2) with a NULL stack behaves like fork(2): the child runs on a copy of the
/// parent's stack and returns from the same call. The flags add the new namespaces; SIGCHLD
/// is the signal the parent gets when the child ends, as with fork.
pub fn clone_like_fork(flags: CloneFlags) -> std::result::Result<Option<Pid>, Errno> {
    use crate::error::syscall_result;

    let flags = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a NULL stack clone returns twice like fork; the binaries that call this
    // are single-threaded, so no lock can be held by a thread that does not exist in the
    // child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            0 as libc::c_ulong,
        )
    };
    match syscall_result(ret)? {
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}
