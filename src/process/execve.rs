//! Replacing the child with the command, as a shell would: search PATH, then execve(2).

use std::convert::Infallible;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::error::syscall_result;
use crate::{Error, Result};

/// The PATH used to find a command inside a container, where the host's PATH means nothing.
pub const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds `program` as execvp(3) would, but under `root`: a name with a slash is taken as it
/// is; otherwise each directory of `path` is tried. Returns the path inside the root.
///
/// Used before the container starts, so that "not found in the rootfs" is said in one clear
/// sentence by the parent rather than discovered by the child after all the setup.
pub fn find_in_path(root: &Path, program: &str, path: &str) -> Option<PathBuf> {
    let inside = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&inside(&p)).then_some(p);
    }
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|p| is_executable(&inside(p)))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // Follows symlinks; a symlink inside a rootfs that is absolute points into the host
    // here, which is why the check is advice and the child's exec has the last word.
    std::fs::metadata(path)
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Replaces the current process with `argv[0]`, searched in PATH. Returns only on failure:
/// "not found" (status 127) or "cannot run" (status 126), as shells report them.
///
/// Every chapter's command goes through here, so this is also where the caller's file
/// descriptors are kept out of the command: only stdin, stdout and stderr survive the exec.
pub fn exec(argv: &[String]) -> Result<Infallible> {
    let program = argv
        .first()
        .ok_or_else(|| Error::Invalid("no command was given to run".into()))?;
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Invalid(format!("{program}: an argument holds a NUL byte")))?;
    close_on_exec_above_stderr()?;
    check_cwd_is_inside_root()?;
    let Err(errno) = nix::unistd::execvp(&args[0], &args);
    use nix::errno::Errno;
    let (code, reason) = match errno {
        Errno::ENOENT => (127, "command not found".to_string()),
        Errno::EACCES | Errno::ENOEXEC | Errno::EISDIR => {
            (126, format!("cannot run it ({})", errno.desc()))
        }
        other => (126, format!("execve failed: {}", other.desc())),
    };
    Err(Error::Command {
        program: program.clone(),
        reason,
        code,
    })
}

/// Runs `argv` in the child, as the last step of a [`super::spawn()`] closure: [`exec`],
/// whose error is the closure's. Never returns on success.
pub fn exec_command(argv: &[String]) -> Result<u8> {
    match exec(argv)? {}
}

/// Marks every fd above 2 close-on-exec, so that none of them reaches the command.
///
/// A process keeps every fd across fork and exec unless it is marked close-on-exec.
/// The tool was started by someone: a shell that did `exec 7</`, a daemon holding a
/// directory open. An fd opened outside the container's root points outside it, whatever
/// pivot_root did: `ls /proc/self/fd/7/` lists the host's `/` (runc's CVE-2024-21626).
///
/// Marked, not closed: until the exec the runtime still needs some (the pipe that reports
/// an exec failure to the parent is one), and the kernel closes them all at the exec.
/// close_range(2) with CLOSE_RANGE_CLOEXEC does it in one call (Linux 5.11). An older
/// kernel answers ENOSYS (no close_range, before 5.9) or EINVAL (no such flag); then each
/// fd is marked with fcntl(2). Neither allocates: this runs in the child after clone.
fn close_on_exec_above_stderr() -> Result<()> {
    close_on_exec_from(3)
}

/// Marks every fd from `first` up close-on-exec (as `close_on_exec_above_stderr` does):
/// chapter 8 passes the fds below `first` to the container (`--preserve-fds`).
pub fn close_on_exec_from(first: libc::c_uint) -> Result<()> {
    // SAFETY: close_range with integer arguments; it only sets flags on our own fds.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let Err(errno) = syscall_result(rc) else {
        return Ok(());
    };
    if !matches!(errno, nix::errno::Errno::ENOSYS | nix::errno::Errno::EINVAL) {
        return Err(Error::sys(
            "close_range",
            "marking the inherited fds close-on-exec",
            errno,
        ));
    }
    // Every fd number was below the hard RLIMIT_NOFILE when it was opened. The trap: a
    // process that lowered its hard limit since keeps fds above it, which this loop misses;
    // close_range has no such gap, and every kernel since 5.11 has it.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    syscall_result(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }).map_err(
        |e| {
            let what = "finding the highest fd to mark close-on-exec";
            Error::sys("getrlimit(RLIMIT_NOFILE)", what, e)
        },
    )?;
    let highest = limit.rlim_max.min(i32::MAX as libc::rlim_t) as i32;
    for fd in first.min(i32::MAX as libc::c_uint) as i32..highest {
        // SAFETY: fcntl on an fd number; a closed one answers EBADF, which is fine.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
    Ok(())
}

/// Refuses to exec when the working directory lies outside the process's root.
///
/// A working directory given as `/proc/self/fd/N` (by `-w`, or by an image's config) is
/// entered through fd N: if N is an fd of the host that is still open, the command starts
/// in the host's tree, whatever the root is, and `ls ..` walks the host (runc's
/// CVE-2024-21626, "attack 1"). The kernel tells: getcwd(2) of a directory that cannot be
/// reached from the root answers a path that starts with "(unreachable)", not with `/`.
/// A stack buffer: this runs in the child after clone, where nothing should allocate.
pub fn check_cwd_is_inside_root() -> Result<()> {
    let mut buf = [0u8; libc::PATH_MAX as usize];
    // SAFETY: the raw getcwd syscall writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    if let Err(errno) = syscall_result(rc) {
        // A path longer than PATH_MAX cannot be checked this way, but is no fd trick.
        if errno == nix::errno::Errno::ERANGE {
            return Ok(());
        }
        return Err(Error::sys(
            "getcwd",
            "checking the working directory",
            errno,
        ));
    }
    if buf[0] == b'/' {
        return Ok(());
    }
    Err(Error::Invalid(
        "the working directory is outside the container's root (a path through an fd of \
         the host, such as /proc/self/fd/N?); refusing to run the command there"
            .into(),
    ))
}
