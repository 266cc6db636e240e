//! Work a run finishes after it has reported the command's status.
//!
//! Some of what a run leaves makes the kernel wait: a network device is deleted after RCU
//! grace periods, and removing a directory on a disk mounted with `discard` waits for the
//! TRIM of its block (a writable layer is six directories; bench/README.md has the cost).
//! Neither is in anybody's way once the container is gone: the layer's directory is
//! private (0700) and named after the run that made it, and a lease stays taken until its
//! device is gone. So the runtime hands such work to a small process of
//! its own and exits with the command's status at once.
//!
//! The helper holds none of the runtime's descriptors (whoever reads the runtime's output
//! sees the end at once) and leaves its session. If it is killed halfway, what it was
//! removing still names an owner that is dead, and the next run or `cleanup` removes it.

use std::os::fd::AsRawFd;

use nix::unistd::{fork, ForkResult};

/// Runs `job` in a detached child process, and returns at once. What `job` captured
/// belongs to that process now: here it is forgotten, never dropped (a `Drop` that undoes
/// something, as a lease's does, must run once, in the helper). If the fork fails, `job`
/// runs here, before this returns.
pub fn finish_later<F: FnOnce()>(job: F) {
    // SAFETY: the child only makes system calls and allocates (glibc's fork leaves the
    // allocator usable in a single-threaded child), then leaves with _exit, running none of
    // the parent's destructors.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => std::mem::forget(job),
        Ok(ForkResult::Child) => {
            detach();
            job();
            // SAFETY: ends the helper without running the runtime's other guards.
            unsafe { libc::_exit(0) }
        }
        Err(_) => job(),
    }
}

/// Lets go of the caller's session, terminal, pipes and every other descriptor.
fn detach() {
    let _ = nix::unistd::setsid();
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors of this process.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    // SAFETY: closes descriptors this process no longer uses (the Rust objects that own
    // some of them are never dropped: the process ends in _exit).
    unsafe { libc::close_range(3, u32::MAX, 0) };
}
