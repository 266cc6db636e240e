//! `process.terminal`: the container's stdio is a pseudo-terminal, and the engine holds
//! the other end.
//!
//! The runtime opens a new pty in the container's own devpts (`/dev/ptmx` after the pivot),
//! makes the slave side the container's stdin, stdout, stderr and controlling terminal, and
//! sends the master to the engine over the unix socket it named with `--console-socket`, as
//! an fd in an SCM_RIGHTS message: a file descriptor can cross from one process to another
//! only that way. conmon and containerd's shim then copy between it and the user.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use super::config::ConsoleSize;
use crate::{Error, Result};

/// Connects to the engine's socket (before the container's root hides the host's paths).
pub fn connect(socket: &Path) -> Result<UnixStream> {
    UnixStream::connect(socket)
        .map_err(|e| Error::io("connecting to the console socket", socket, e))
}

// ANCHOR: console
/// Makes the pty, sends its master over `socket`, and makes the slave this process's
/// stdio and controlling terminal. Runs in the container, after the pivot and setsid(2).
pub fn attach(socket: &UnixStream, size: Option<ConsoleSize>) -> Result<()> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| {
            Error::sys_path(
                "posix_openpt",
                "opening a new pty",
                Path::new("/dev/ptmx"),
                e,
            )
        })?;
    nix::pty::grantpt(&master).map_err(|e| Error::sys("grantpt", "granting the pty", e))?;
    nix::pty::unlockpt(&master)
        .map_err(|e| Error::sys("unlockpt", "unlocking the pty", e))?;
    let name = nix::pty::ptsname_r(&master)
        .map_err(|e| Error::sys("ptsname", "naming the pty", e))?;
    let slave: OwnedFd = nix::fcntl::open(
        Path::new(&name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys_path("open", "opening the pty's slave", Path::new(&name), e))?;
    if let Some(size) = size {
        let ws = libc::winsize {
            ws_row: size.height,
            ws_col: size.width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize that outlives the call.
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    send_fd(socket, master.as_raw_fd(), &name)?;
    drop(master);
    for target in 0..=2 {
        // SAFETY: dup2 on fds we own; the target numbers are stdio's.
        let rc = unsafe { libc::dup2(slave.as_raw_fd(), target) };
        crate::error::syscall_result(rc)
            .map_err(|e| Error::sys("dup2", "making the pty the container's stdio", e))?;
    }
    // SAFETY: TIOCSCTTY with an integer argument; we are a session leader without a tty.
    let rc = unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) };
    crate::error::syscall_result(rc).map_err(|e| {
        Error::sys(
            "ioctl(TIOCSCTTY)",
            "making the pty the controlling terminal",
            e,
        )
    })?;
    Ok(())
}
// ANCHOR_END: console

/// Sends `fd` with one SCM_RIGHTS message; the payload is the pty's name, as runc sends it.
pub fn send_fd(socket: &UnixStream, fd: RawFd, name: &str) -> Result<()> {
    let fds = [fd];
    let iov = [std::io::IoSlice::new(name.as_bytes())];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).map_err(
        |e| {
            Error::sys(
                "sendmsg",
                "sending the pty master over the console socket",
                e,
            )
        },
    )?;
    Ok(())
}
