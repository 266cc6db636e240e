//! clone(2) into new namespaces, with a pipe that holds the child until the parent lets it
//! go.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{pipe2, Pid};

use crate::exit::Status;
use crate::namespace::{Namespace, Namespaces};
use crate::{Error, Result};

/// A child process in new namespaces, held at its start until [`Child::release`].
pub struct Child {
    pid: Pid,
    namespaces: Namespaces,
    release: Option<File>,
    report: File,
    saved_mask: SigSet,
    reaped: bool,
}

/// Clones a child into new `namespaces`. The child blocks until [`Child::release`]; then it
/// runs `child_main` and exits with the code it returns (normally `child_main` ends in
/// [`super::exec`] and never returns). An error that `child_main` returns is sent to the
/// parent, which returns it from [`Child::wait`].
pub fn spawn<F>(namespaces: Namespaces, child_main: F) -> Result<Child>
where
    F: FnOnce() -> Result<u8>,
{
    if namespaces.contains(Namespace::Time) {
        // clone(2) cannot take CLONE_NEWTIME (see `Namespace::clone_flag`).
        return Err(Error::Invalid(
            "clone(2) cannot make a time namespace: use container::spawn_with_time_namespace"
                .into(),
        ));
    }
    start(namespaces, clone_like_fork, child_main)
}

// ANCHOR: start
/// What every spawn does around the clone itself, which `clone` makes (from the flags of
/// `namespaces`): the release and report pipes, and the parent's signals held so that
/// none is lost before it waits. In the child it never returns.
pub fn start<F>(
    namespaces: Namespaces,
    clone: impl FnOnce(CloneFlags) -> std::result::Result<Option<Pid>, Errno>,
    child_main: F,
) -> Result<Child>
where
    F: FnOnce() -> Result<u8>,
{
    let (release_r, release_w) = pipe()?;
    let (report_r, report_w) = pipe()?;
    let mut saved_mask = SigSet::empty();
    let held = super::held::parent_signals();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&held), Some(&mut saved_mask))
        .map_err(|e| Error::sys("sigprocmask", "blocking signals in the parent", e))?;
    match clone(namespaces.clone_flags()) {
        Err(errno) => {
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&saved_mask), None);
            Err(explain_clone_error(namespaces, errno))
        }
        Ok(None) => {
            // In the child. Nothing here returns: it ends in exec or _exit.
            drop((release_w, report_r));
            child_side(release_r, report_w, child_main)
        }
        Ok(Some(pid)) => Ok(Child {
            pid,
            namespaces,
            release: Some(File::from(release_w)),
            report: File::from(report_r),
            saved_mask,
            reaped: false,
        }),
    }
}
// ANCHOR_END: start

/// clone(2) with a NULL stack behaves like fork(2): the child runs on a copy of the
/// parent's stack and returns from the same call. The flags add the new namespaces; SIGCHLD
/// is the signal the parent gets when the child ends, as with fork.
pub fn clone_like_fork(flags: CloneFlags) -> std::result::Result<Option<Pid>, Errno> {
    // exercise 01.1: clone into a new PID namespace
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
    // end of exercise 01.1
}

// ANCHOR: child_side
fn child_side<F>(release: OwnedFd, report: OwnedFd, child_main: F) -> !
where
    F: FnOnce() -> Result<u8>,
{
    // If the tool dies, the kernel kills the child (and, as it is PID 1 of its PID
    // namespace, everything in it): nothing is left running on the host.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut byte = [0u8; 1];
    let mut release = File::from(release);
    if !matches!(release.read(&mut byte), Ok(1)) {
        // The parent closed the pipe without releasing us: it gave up, so do we.
        // SAFETY: _exit never returns and runs no destructors of the parent's state.
        unsafe { libc::_exit(125) };
    }
    // The command starts with no signal blocked, whatever the parent holds (exec keeps the
    // mask, and a blocked SIGTERM would never reach a PID 1 that handles it).
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // A session of its own, and so a process group of its own and no controlling terminal:
    // the command cannot type into the caller's terminal with ioctl(TIOCSTI) (lxc-attach's
    // CVE-2016-10124, bubblewrap's CVE-2017-5226) nor signal the caller's group (kill 0).
    let code = match new_session().and_then(|()| child_main()) {
        Ok(code) => code,
        Err(error) => {
            let mut report = File::from(report);
            let message = format!("{}\0{}", error.exit_code(), error);
            let _ = report.write_all(message.as_bytes());
            error.exit_code()
        }
    };
    let _ = std::io::stdout().flush();
    // SAFETY: as above.
    unsafe { libc::_exit(code as i32) }
}
// ANCHOR_END: child_side

/// setsid(2): a new session and process group, led by this process, with no terminal.
fn new_session() -> Result<()> {
    nix::unistd::setsid()
        .map(drop)
        .map_err(|e| Error::sys("setsid", "starting a session of the child's own", e))
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe2", "creating the parent-child pipe", e))
}

/// Turns a failed clone into advice: the common reasons are a missing privilege and a
/// distribution that restricts user namespaces.
pub fn explain_clone_error(namespaces: Namespaces, errno: nix::errno::Errno) -> Error {
    use nix::errno::Errno;
    let kinds: Vec<&str> = namespaces.iter().map(|k| k.name()).collect();
    let what = format!("creating new namespaces ({})", kinds.join(", "));
    if namespaces.contains(Namespace::User)
        && matches!(errno, Errno::EPERM | Errno::ENOSPC | Errno::EACCES)
    {
        if let Some(reason) = crate::privilege::user_namespace_restriction() {
            return Error::Unsupported(format!("{what} failed: {reason}"));
        }
    }
    Error::sys("clone", what, errno)
}

impl Child {
    /// The child's PID as the host (the parent's PID namespace) sees it.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The namespaces the child was created in.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// Lets the child go on: everything the parent had to do from outside is done.
    pub fn release(&mut self) -> Result<()> {
        let Some(mut pipe) = self.release.take() else {
            return Ok(());
        };
        pipe.write_all(&[1])
            .map_err(|e| Error::io_no_path("releasing the child", e))
    }

    /// The error the child sent before it could exec, if any.
    fn take_report(&mut self) -> Option<Error> {
        let mut text = String::new();
        let _ = self.report.read_to_string(&mut text);
        let (code, message) = text.split_once('\0')?;
        let code: u8 = code.parse().unwrap_or(125);
        Some(if matches!(code, 126 | 127) {
            let (program, reason) =
                message.split_once(": ").unwrap_or(("command", message));
            Error::Command {
                program: program.to_string(),
                reason: reason.to_string(),
                code,
            }
        } else {
            Error::Invalid(message.to_string())
        })
    }

    fn mark_reaped(&mut self) {
        self.reaped = true;
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.saved_mask), None);
    }

    /// Waits for the child, forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, and
    /// returns how it ended. See `process::wait` for the rules of PID 1.
    pub fn wait(mut self) -> Result<Status> {
        self.release()?;
        let is_init = self.namespaces.contains(Namespace::Pid);
        let ended = super::wait::wait_forwarding(self.pid, is_init)?;
        self.mark_reaped();
        match self.take_report() {
            Some(error) => Err(error),
            None => Ok(ended),
        }
    }
}

impl Drop for Child {
    /// A child that was never waited for (an error in the parent) is killed and reaped, so
    /// that no process is left behind.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
            self.mark_reaped();
        }
    }
}
