//! The init's last steps, in runc's order. Chapter 7's exec searches `$PATH` as a shell
//! does and hands a file without `#!` to `/bin/sh` (execvp's ENOEXEC fallback); an OCI
//! runtime runs exactly the program named, so:
//!
//! ```text
//!  before the wait for `start`:  the program looked up in $PATH, as runc's LookPath does
//!                                (a file that is not executable fails `create`)
//!  after it:                     the fds the caller passed kept, every other one
//!                                close-on-exec; the cwd checked; the seccomp filter;
//!                                execve(2), and nothing between the filter and it
//! ```
//!
//! After the filter the init makes no system call but execve: a profile needs to allow
//! only what the container's program needs (runc: "as close to execve as possible").

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::oci::config::Process;
use crate::oci::seccomp::Filter;
use crate::{process, Error, Result};

/// runc's words for a program missing from `$PATH`, which engines turn into exit 127.
pub const NOT_FOUND: &str = "executable file not found in $PATH";

/// The program, as `exec.LookPath` finds it in runc: a name with a slash is taken as it
/// is, any other searched in the container's `$PATH` (set by now). A file that exists but
/// is not executable, or a directory, is refused here, while the error still reaches
/// `create` (exit status 126, "permission denied", as engines expect).
pub fn look_up(process: &Process) -> Result<PathBuf> {
    let Some(program) = process.args.first() else {
        return Err(Error::Invalid(
            "process.args is empty: give the program to run".into(),
        ));
    };
    let path = std::env::var("PATH").unwrap_or_else(|_| process::DEFAULT_PATH.into());
    if let Some(found) = process::find_in_path(Path::new("/"), program, &path) {
        return Ok(found);
    }
    let refused = |reason: &str| Error::Command {
        program: format!("exec: \"{program}\""),
        reason: reason.into(),
        code: 126,
    };
    if program.contains('/') {
        match std::fs::metadata(program) {
            Ok(m) if m.is_dir() => return Err(refused("is a directory")),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                return Err(refused("permission denied"))
            }
            _ => {}
        }
    }
    Err(Error::Command {
        program: format!("exec: \"{program}\""),
        reason: if program.contains('/') {
            "no such file or directory".into()
        } else {
            NOT_FOUND.into()
        },
        code: 127,
    })
}

/// The fds from 3 up that the caller passes on: `--preserve-fds N`, and the sockets of
/// systemd's socket activation (`LISTEN_FDS`, when `LISTEN_PID` is the runtime's pid).
/// runc gives the container `LISTEN_FDS` and `LISTEN_PID=1` then; fds are passed in the
/// order activation, preserved.
#[derive(Clone, Copy, Debug, Default)]
pub struct PassedFds {
    pub listen: u32,
    pub preserved: u32,
}

impl PassedFds {
    /// `--preserve-fds N`, and activation when `activation` (create and run: runc's exec
    /// passes only the preserved ones). Each fd must be open in the runtime: checked first
    /// thing, before the runtime opens an fd of its own, which could take one of the numbers.
    pub fn of_caller(preserved: u32, activation: bool) -> Result<PassedFds> {
        let listen = activation.then(listen_fds).flatten().unwrap_or(0);
        let passed = PassedFds { listen, preserved };
        for fd in 3..3 + passed.count() {
            // SAFETY: F_GETFD on an fd number only reads its flags.
            if unsafe { libc::fcntl(fd as i32, libc::F_GETFD) } < 0 {
                return Err(Error::Invalid(format!(
                    "fd {fd} is not open: --preserve-fds {preserved} (and LISTEN_FDS {listen}) \
                     pass fds 3 to {}, which the caller must open",
                    2 + passed.count()
                )));
            }
        }
        Ok(passed)
    }

    pub fn count(&self) -> u32 {
        self.listen + self.preserved
    }

    /// The environment runc adds for socket activation.
    pub fn env(&self) -> Vec<String> {
        if self.listen == 0 {
            return Vec::new();
        }
        vec![format!("LISTEN_FDS={}", self.listen), "LISTEN_PID=1".into()]
    }
}

/// systemd's `LISTEN_FDS`, when `LISTEN_PID` names this process (sd_listen_fds(3)).
fn listen_fds() -> Option<u32> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    std::env::var("LISTEN_FDS").ok()?.parse().ok()
}

/// The last steps: the passed fds kept open across the exec and every other one marked
/// close-on-exec, the cwd checked, the filter (when `seccomp` is given: with
/// no_new_privs; without, it went before the capabilities), execve. Every allocation and
/// every call but execve come before the filter.
pub fn exec(
    program: &Path,
    args: &[String],
    passed: PassedFds,
    seccomp: Option<&Filter>,
) -> Result<Infallible> {
    let shown = program.display().to_string();
    let cstring = |bytes: &[u8]| {
        CString::new(bytes)
            .map_err(|_| Error::Invalid(format!("{shown}: an argument holds a NUL byte")))
    };
    let path = cstring(program.as_os_str().as_bytes())?;
    let argv: Vec<CString> = args
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<_>>()?;
    let envp: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<_>>()?;
    for fd in 3..3 + passed.count() {
        // SAFETY: F_SETFD on an fd the caller passed: it stays open across the exec.
        unsafe { libc::fcntl(fd as i32, libc::F_SETFD, 0) };
    }
    process::close_on_exec_from(3 + passed.count())?;
    process::check_cwd_is_inside_root()?;
    if let Some(filter) = seccomp {
        filter.install()?;
    }
    let Err(errno) = nix::unistd::execve(&path, &argv, &envp);
    // runc's words and status: the engine shows them and reports 1.
    Err(Error::Command {
        program: format!("exec {shown}"),
        reason: errno.desc().to_lowercase(),
        code: 1,
    })
}
