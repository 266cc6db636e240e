//! How a process ended, and the exit status a binary passes on.
//!
//! Shells report a process killed by signal N as status 128+N (130 for SIGINT, 137 for
//! SIGKILL, 143 for SIGTERM); the chapter binaries pass on their command's status the same
//! way, so `07-full-container run -- false; echo $?` behaves like running `false` directly.

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

/// How the command in the container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It called exit with this code.
    Exited(u8),
    /// A signal ended it.
    Signaled(Signal),
}

impl Status {
    /// Converts what waitpid(2) said, or `None` while the process still runs or is stopped.
    pub fn from_wait(status: WaitStatus) -> Option<Status> {
        match status {
            WaitStatus::Exited(_, code) => Some(Status::Exited(code as u8)),
            WaitStatus::Signaled(_, signal, _) => Some(Status::Signaled(signal)),
            _ => None,
        }
    }

    /// The exit status a shell would show: the code, or 128 + the signal number.
    pub fn code(self) -> u8 {
        match self {
            Status::Exited(code) => code,
            Status::Signaled(signal) => 128u8.wrapping_add(signal as i32 as u8),
        }
    }

    /// A few words for the report a binary prints.
    pub fn describe(self) -> String {
        match self {
            Status::Exited(code) => format!("exited with status {code}"),
            Status::Signaled(signal) => {
                format!("was killed by {} (status {})", signal.as_str(), self.code())
            }
        }
    }
}

impl From<Status> for std::process::ExitCode {
    fn from(status: Status) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_become_128_plus_n() {
        assert_eq!(Status::Signaled(Signal::SIGINT).code(), 130);
        assert_eq!(Status::Signaled(Signal::SIGKILL).code(), 137);
        assert_eq!(Status::Signaled(Signal::SIGTERM).code(), 143);
        assert_eq!(Status::Exited(42).code(), 42);
    }
}
