//! `process.terminal`: the container's stdio is a pseudo-terminal, and the engine holds
//! the other end.
//!
//! The runtime opens a new pty in the container's own devpts (`/dev/ptmx` after the pivot),
//! makes the slave side the container's stdin, stdout, stderr and controlling terminal, and
//! sends the master to the engine over the unix socket it named with `--console-socket`, as
//! an fd in an SCM_RIGHTS message: a file descriptor can cross from one process to another
//! only that way. conmon and containerd's shim then copy between it and the user.

use std::os::unix::net::UnixStream;
use std::path::Path;

use super::config::ConsoleSize;
use crate::container::tty;
use crate::{Error, Result};

/// Connects to the engine's socket (before the container's root hides the host's paths).
pub fn connect(socket: &Path) -> Result<UnixStream> {
    UnixStream::connect(socket)
        .map_err(|e| Error::io("connecting to the console socket", socket, e))
}

/// The config's console size in the terms of chapter 7's pty, which the init makes after
/// the pivot and setsid(2), and whose master goes over the socket: chapter 7's `run -t`
/// does the same with the runtime at the other end.
pub fn size(size: Option<ConsoleSize>) -> Option<tty::Size> {
    size.map(|s| tty::Size {
        rows: s.height,
        cols: s.width,
    })
}
