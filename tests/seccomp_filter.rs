//! The default seccomp filter, installed in a forked child, against calls Docker's default
//! profile refuses a container: the io_uring calls (always refused), kcmp,
//! process_vm_readv/writev, pidfd_getfd and process_madvise (refused without
//! CAP_SYS_PTRACE, which the container lacks). Busybox has no way to make these calls, so
//! the test makes them itself.
//!
//! No privilege is needed: with no_new_privs set, any process may install a filter on
//! itself. The child is forked from the multi-threaded test harness, so it makes only
//! system calls (no allocation, no lock) between fork and _exit. The same calls are made in
//! a child without the filter too: the kernel's own answer there must not be EPERM, or the
//! test could not tell the filter's refusal from the kernel's.

mod common;

use workbook::security::seccomp;

/// The calls, with arguments the kernel answers cheaply (and harmlessly) without a filter.
const CALLS: [&str; 8] = [
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kcmp",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "process_madvise",
];

fn run_in_child(filter: Option<&[libc::sock_filter]>) -> [i32; 8] {
    common::forked::errnos_in_a_child(
        || match filter {
            None => true,
            Some(program) => {
                // SAFETY: prctl with integer arguments only.
                let nnp = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                if let Err(workbook::Error::Sys { errno, .. }) = seccomp::install(program) {
                    // The errno as the child's status, for the parent's sentence.
                    // SAFETY: _exit in the forked child, as errnos_in_a_child does.
                    unsafe { libc::_exit(errno as i32) };
                }
                nnp == 0
            }
        },
        errnos,
    )
}

/// Each call's errno (0 on success), one syscall after the other so errno is read at once.
fn errnos() -> [i32; 8] {
    let mut out = [0i32; 8];
    for (i, slot) in out.iter_mut().enumerate() {
        // SAFETY: as in make_calls.
        let ret = unsafe { call(i) };
        *slot = if ret == -1 {
            // SAFETY: errno of this thread, read right after the call.
            unsafe { *libc::__errno_location() }
        } else {
            0
        };
    }
    out
}

/// The i-th call of [`CALLS`].
///
/// # Safety
/// Raw system calls with integer or NULL arguments, which the kernel checks.
unsafe fn call(i: usize) -> libc::c_long {
    let pid = libc::getpid() as libc::c_long;
    let null = std::ptr::null::<libc::c_void>();
    match i {
        // One entry, and a NULL params struct: EFAULT from the kernel.
        0 => libc::syscall(libc::SYS_io_uring_setup, 1 as libc::c_long, null),
        // fd -1: EBADF from the kernel.
        1 => libc::syscall(
            libc::SYS_io_uring_enter,
            -1 as libc::c_long,
            0,
            0,
            0,
            null,
            0,
        ),
        2 => libc::syscall(libc::SYS_io_uring_register, -1 as libc::c_long, 0, null, 0),
        // KCMP_VM (1): do the two share an address space? Ours with itself: yes, 0.
        3 => libc::syscall(libc::SYS_kcmp, pid, pid, 1 as libc::c_long, 0, 0),
        // Nothing to copy from or to ourselves: 0 bytes.
        4 => libc::syscall(libc::SYS_process_vm_readv, pid, null, 0, null, 0, 0),
        5 => libc::syscall(libc::SYS_process_vm_writev, pid, null, 0, null, 0, 0),
        // pidfd -1: EBADF from the kernel.
        6 => libc::syscall(libc::SYS_pidfd_getfd, -1 as libc::c_long, 0, 0),
        _ => libc::syscall(libc::SYS_process_madvise, -1 as libc::c_long, null, 0, 0, 0),
    }
}

#[test]
fn io_uring_kcmp_and_process_vm_calls_get_eperm() {
    let program = seccomp::compile(&seccomp::default_rules());
    let without = run_in_child(None);
    let with = run_in_child(Some(&program));
    for (i, name) in CALLS.iter().enumerate() {
        assert_ne!(
            without[i],
            libc::EPERM,
            "{name}: this kernel refuses it without any filter, so the test cannot see the filter's answer"
        );
        assert_eq!(
            with[i],
            libc::EPERM,
            "{name} ran under the filter ({}): the default filter must answer it with EPERM",
            if with[i] == 0 {
                "it succeeded".to_string()
            } else {
                format!("errno {}", nix::errno::Errno::from_raw(with[i]))
            }
        );
    }
}
