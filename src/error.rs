//! One error type for the whole workbook.
//!
//! A learner who sees an error should learn what the kernel refused and where. So every
//! error that comes from a system call names the call and, where there is one, the path;
//! the binaries print it as one sentence. There is no `unwrap()` on a syscall result in the
//! library.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, with enough context to act on it.
#[derive(Debug)]
pub enum Error {
    /// A system call failed. `what` says what we were doing, in words.
    Sys {
        call: &'static str,
        what: String,
        path: Option<PathBuf>,
        errno: nix::errno::Errno,
    },
    /// Reading or writing a file failed (std I/O).
    Io {
        what: String,
        /// The file it was about; none for a pipe, a socket or a thread.
        path: Option<PathBuf>,
        source: std::io::Error,
    },
    /// Input from the user that cannot be used; the message says why and what to do.
    Invalid(String),
    /// Something the machine lacks (a package, a kernel feature, a privilege).
    Unsupported(String),
    /// A command to run inside could not be found or executed.
    Command {
        program: String,
        reason: String,
        code: u8,
    },
}

/// Shorthand used across the library.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failed syscall on a path.
    pub fn sys_path(
        call: &'static str,
        what: impl Into<String>,
        path: &Path,
        errno: nix::errno::Errno,
    ) -> Self {
        Error::Sys {
            call,
            what: what.into(),
            path: Some(path.to_path_buf()),
            errno,
        }
    }

    /// A failed syscall that is not about a path.
    pub fn sys(
        call: &'static str,
        what: impl Into<String>,
        errno: nix::errno::Errno,
    ) -> Self {
        Error::Sys {
            call,
            what: what.into(),
            path: None,
            errno,
        }
    }

    /// A failed file operation.
    pub fn io(what: impl Into<String>, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            path: Some(path.to_path_buf()),
            source,
        }
    }

    /// A failed operation on something without a path: a pipe, a socket, a thread.
    pub fn io_no_path(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            path: None,
            source,
        }
    }

    /// The exit status a binary uses for this error: 127 and 126 for a command that cannot
    /// be found or run (as shells do), 125 for an error of the tool itself (as `docker run`
    /// does).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Command { code, .. } => *code,
            _ => 125,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys {
                call,
                what,
                path,
                errno,
            } => {
                write!(f, "{what} failed: {call}")?;
                if let Some(p) = path {
                    write!(f, " on {}", p.display())?;
                }
                // nix prints an errno as "EINVAL: Invalid argument": name and text once.
                write!(f, " returned {errno}")?;
                if let Some(hint) = hint_for(*errno) {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
            Error::Io {
                what,
                path: Some(path),
                source,
            } => write!(f, "{what} failed on {}: {source}", path.display()),
            Error::Io {
                what,
                path: None,
                source,
            } => write!(f, "{what} failed: {source}"),
            Error::Invalid(msg) | Error::Unsupported(msg) => f.write_str(msg),
            Error::Command {
                program, reason, ..
            } => write!(f, "{program}: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A raw system call's return value as a `Result`: by the kernel's (and libc's) convention
/// a negative value means failure, with the reason in errno; any other value is the answer.
pub fn syscall_result(rc: impl Into<i64>) -> std::result::Result<i64, nix::errno::Errno> {
    let rc = rc.into();
    if rc < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(rc)
    }
}

/// A word of advice for the errnos a learner meets most. "Run it with sudo" only helps a
/// caller who lacks the capability: root refused (a capability dropped, a limit above the
/// kernel's ceiling, a seccomp filter, a security module) needs the error's own sentence,
/// not a wrong hint. The capability is read with capget(2), not guessed from the uid: a
/// seccomp filter that refuses getuid(2) makes it return -1, which is not 0.
fn hint_for(errno: nix::errno::Errno) -> Option<&'static str> {
    use nix::errno::Errno;
    const CAP_DAC_OVERRIDE: u32 = 1;
    const CAP_SYS_ADMIN: u32 = 21;
    let lacks = |cap| effective_capability(cap) == Some(false);
    match errno {
        Errno::EPERM if !lacks(CAP_SYS_ADMIN) => None,
        Errno::EACCES if !lacks(CAP_DAC_OVERRIDE) => None,
        Errno::EPERM => Some(
            "this needs root (CAP_SYS_ADMIN): run it with sudo, or in the VM (see vm/README.md)",
        ),
        Errno::EACCES => Some("permission denied: check the path's owner and mode, or run as root"),
        _ => None,
    }
}

/// Whether capability `cap` is in this thread's effective set, or `None` when capget(2)
/// itself is refused (a seccomp filter).
fn effective_capability(cap: u32) -> Option<bool> {
    let sets = crate::capget::capability_sets().ok()?;
    Some(sets.effective & (1 << cap) != 0)
}
