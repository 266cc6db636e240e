//! `exec`: another process in a running container. It joins the init's namespaces with
//! setns(2) through `/proc/PID/ns/*`, its cgroup, and gets the same hardening
//! (capabilities, no_new_privs, seccomp) before its exec.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::unistd::Pid;

use super::config::Process;
use super::init::last_steps::{self, PassedFds};
use super::seccomp::Filter;
use super::state::{StateDir, Status};
use crate::container::cgroup_join::SelfJoin;
use crate::container::init::{self, Init};
use crate::container::tty;
use crate::exit;
use crate::hostname::Hostname;
use crate::namespace::Namespace;
use crate::{Error, Result};

/// What `exec` was given.
pub struct ExecOptions {
    pub state: StateDir,
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// `--preserve-fds`: fds 3 to 3+N-1 reach the process.
    pub preserve_fds: u32,
}

/// The namespaces to join, in order: user first (the others are joined with its powers),
/// mount last (after it, the host's /proc is gone).
const ORDER: [Namespace; 8] = [
    Namespace::User,
    Namespace::Time,
    Namespace::Ipc,
    Namespace::Uts,
    Namespace::Net,
    Namespace::Pid,
    Namespace::Cgroup,
    Namespace::Mount,
];

/// Runs `options.process` in the container; returns its status, or `None` when detached.
pub fn exec(options: ExecOptions) -> Result<Option<exit::Status>> {
    let passed = PassedFds::of_caller(options.preserve_fds, false)?;
    let record = options.state.load()?;
    let status = record.status(&options.state);
    if !matches!(status, Status::Created | Status::Running) {
        return Err(Error::Invalid(format!(
            "container '{}' is {}: exec needs a running container",
            record.id,
            status.as_str()
        )));
    }
    let pid = Pid::from_raw(record.pid.unwrap_or(0));
    // Open every namespace that differs from ours now, while /proc is still the host's.
    let mut namespaces: Vec<(Namespace, OwnedFd)> = Vec::new();
    for kind in ORDER {
        let theirs = kind.proc_path(Some(pid));
        let (Ok(a), Ok(b)) = (
            std::fs::metadata(&theirs),
            std::fs::metadata(kind.proc_path(None)),
        ) else {
            continue;
        };
        if a.ino() != b.ino() || a.dev() != b.dev() {
            let file = std::fs::File::open(&theirs).map_err(|e| {
                Error::io(
                    format!("opening the container's {kind} namespace"),
                    &theirs,
                    e,
                )
            })?;
            namespaces.push((kind, file.into()));
        }
    }
    let seccomp = Filter::prepare(record.seccomp.as_ref())?;
    let console = match (&options.console_socket, options.process.terminal) {
        (Some(path), true) => Some(super::console::connect(path)?),
        (None, true) => {
            return Err(Error::Invalid(
                "a terminal was asked for: give --console-socket".into(),
            ))
        }
        _ => None,
    };
    if !options.detach {
        super::foreground::block()?;
    }
    // The PID and time namespaces take effect for our children: join them before the fork.
    for (kind, fd) in &namespaces {
        if matches!(kind, Namespace::Pid | Namespace::Time) {
            nix::sched::setns(fd.as_fd(), kind.clone_flag()).map_err(|e| {
                Error::sys(
                    "setns",
                    format!("joining the container's {kind} namespace"),
                    e,
                )
            })?;
        }
    }
    let (report_r, report_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe2", "creating the exec report pipe", e))?;
    let (go_r, go_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe2", "creating the exec release pipe", e))?;
    let child = match super::fork::fork_into(crate::namespace::Namespaces::default())? {
        None => {
            drop((report_r, go_w));
            let mut go = std::fs::File::from(go_r);
            let mut byte = [0u8; 1];
            let _ = go.read(&mut byte);
            let error = match child_side(
                &options.process,
                &namespaces,
                console.as_ref(),
                seccomp.as_ref(),
                passed,
            ) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            if let Error::Command { code: 1, .. } = &error {
                // execve itself failed, the last step: as with runc, the process reports it
                // on its own stderr and exits 1, so that the engine shows a status, not a
                // runtime error. The report pipe closes unwritten.
                eprintln!("{error}");
                // SAFETY: _exit runs no destructor of the parent's state.
                unsafe { libc::_exit(1) }
            }
            let mut report = std::fs::File::from(report_w);
            let _ = match &error {
                // The program could not be run: its status and words, as runc gives them.
                Error::Command {
                    program,
                    reason,
                    code,
                } => write!(report, "{code}\0{program}\0{reason}"),
                other => write!(report, "{}\0{other}", other.exit_code()),
            };
            // SAFETY: _exit runs no destructor of the parent's state.
            unsafe { libc::_exit(error.exit_code() as i32) }
        }
        Some(child) => child,
    };
    drop((report_w, go_r));
    let released =
        super::resources::attach(&record.cgroup_dirs, child.as_raw()).and_then(|()| {
            std::fs::File::from(go_w)
                .write_all(&[1])
                .map_err(|e| Error::io_no_path("releasing the exec'd process", e))
        });
    if let Err(e) = released {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
        return Err(e);
    }
    // The report pipe closes at the exec (close-on-exec): empty means it ran.
    let mut report = String::new();
    let _ = std::fs::File::from(report_r).read_to_string(&mut report);
    if !report.is_empty() {
        let _ = nix::sys::wait::waitpid(child, None);
        let mut parts = report.splitn(3, '\0');
        let (code, first, rest) = (parts.next(), parts.next(), parts.next());
        return Err(match (code.and_then(|c| c.parse().ok()), first, rest) {
            (Some(code), Some(program), Some(reason)) => Error::Command {
                program: program.to_string(),
                reason: reason.to_string(),
                code,
            },
            _ => Error::Invalid(first.unwrap_or(&report).to_string()),
        });
    }
    if let Some(file) = &options.pid_file {
        super::create::write_pid_file(file, child)?;
    }
    if options.detach {
        return Ok(None);
    }
    super::foreground::wait_forwarding(child).map(Some)
}

/// In the child: chapter 7's init, with the container's namespaces joined instead of made.
fn child_side(
    process: &Process,
    namespaces: &[(Namespace, OwnedFd)],
    console: Option<&std::os::unix::net::UnixStream>,
    seccomp: Option<&Filter>,
    passed: PassedFds,
) -> Result<std::convert::Infallible> {
    super::foreground::unblock_all();
    init::init(&mut Joined {
        process,
        namespaces,
        console,
        seccomp,
        passed,
    })
}

/// Chapter 8's kind of container for `exec`: a process that joins a running container's
/// namespaces (its cgroup is the parent's to join, its root the mount namespace's).
struct Joined<'a> {
    process: &'a Process,
    namespaces: &'a [(Namespace, OwnedFd)],
    console: Option<&'a std::os::unix::net::UnixStream>,
    seccomp: Option<&'a Filter>,
    passed: PassedFds,
}

impl Init for Joined<'_> {
    fn cgroup_join(&self) -> Option<&SelfJoin> {
        None
    }

    /// The container's namespaces but the PID and time ones (the parent joined those
    /// before the fork), and a session of its own, with a terminal or without: the caller's terminal
    /// must not be the process's controlling terminal (TIOCSTI), nor the caller's group its
    /// own (`kill 0`), as runc exec does.
    fn enter_namespaces(&mut self) -> Result<()> {
        for (kind, fd) in self.namespaces {
            if matches!(kind, Namespace::Pid | Namespace::Time) {
                continue;
            }
            nix::sched::setns(fd.as_fd(), kind.clone_flag()).map_err(|e| {
                Error::sys(
                    "setns",
                    format!("joining the container's {kind} namespace"),
                    e,
                )
            })?;
        }
        nix::unistd::setsid()
            .map_err(|e| Error::sys("setsid", "starting a new session", e))?;
        Ok(())
    }

    fn new_cgroup_namespace(&self) -> bool {
        false
    }

    /// Joining the mount namespace made its root ours.
    fn enter_root(&self) -> Result<()> {
        Ok(())
    }

    fn terminal(&self) -> Option<(&std::os::unix::net::UnixStream, Option<tty::Size>)> {
        let size = super::console::size(self.process.console_size);
        self.console.map(|socket| (socket, size))
    }

    fn hostname(&self) -> Option<&Hostname> {
        None
    }

    fn set_up_process(&self) -> Result<()> {
        super::init::created::set_up_process(self.process)?;
        last_steps::look_up(self.process).map(drop)
    }

    fn command(&self) -> &[String] {
        &self.process.args
    }

    fn not_found(&self) -> &'static str {
        super::init::created::NOT_FOUND
    }

    fn harden(&self) -> Result<()> {
        super::init::created::harden(self.process, self.seccomp)
    }

    /// As `create`'s: the filter (with no_new_privs) right before execve.
    fn exec(&mut self) -> Result<std::convert::Infallible> {
        let program = last_steps::look_up(self.process)?;
        let filter = super::init::created::late_filter(self.process, self.seccomp);
        last_steps::exec(&program, &self.process.args, self.passed, filter)
    }
}
