//! System calls made in a forked child, their answers sent back: for filters (seccomp) that
//! a test must not install on its own harness.
//!
//! The child is forked from the multi-threaded test harness, so between fork and _exit it
//! makes only system calls: no allocation, no lock (another thread may hold the allocator's).

use std::os::fd::{AsRawFd, OwnedFd};

/// Forks a child that runs `setup` (false: it failed), then `calls`, and sends back what
/// they returned (each call's errno, 0 when it worked). Panics when `setup` failed.
pub fn errnos_in_a_child<const N: usize>(
    setup: impl FnOnce() -> bool,
    calls: fn() -> [i32; N],
) -> [i32; N] {
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().expect("pipe");
    // SAFETY: the child makes only system calls and ends in _exit (see the module comment).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = setup();
        let answers = if ok { calls() } else { [-1; N] };
        // SAFETY: write(2) of an array on the stack, then _exit, which runs no destructor
        // of the parent's state.
        unsafe {
            let bytes = answers.as_ptr() as *const libc::c_void;
            libc::write(write.as_raw_fd(), bytes, std::mem::size_of_val(&answers));
            libc::_exit(if ok { 0 } else { 100 });
        }
    }
    drop(write);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child could not install the filter ({})",
        match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
            (true, 100) => "its setup failed".to_string(),
            // A setup may end the child with the errno of its failed call as the status.
            (true, errno) => format!("{}", nix::errno::Errno::from_raw(errno)),
            _ => format!("wait status {status:#x}"),
        }
    );
    let mut buf = vec![0u8; 4 * N];
    let got = nix::unistd::read(&read, &mut buf).expect("read the answers");
    assert_eq!(got, buf.len(), "the child sent {got} bytes");
    let mut answers = [0i32; N];
    for (slot, chunk) in answers.iter_mut().zip(buf.chunks_exact(4)) {
        *slot = i32::from_ne_bytes(chunk.try_into().expect("4 bytes"));
    }
    answers
}
