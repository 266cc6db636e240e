//! `run -t`: a terminal of the container's own, as `docker run -t` gives.
//!
//! The container's command leads a session of its own (see `process::spawn`), so the
//! caller's terminal is not its controlling terminal: it cannot push input into it with
//! ioctl(TIOCSTI), and `kill 0` does not reach the caller. An interactive shell still wants
//! a controlling terminal (job control, Ctrl-C, line editing), so it gets a new one: the
//! child opens a pty in the container's own devpts (`/dev/ptmx` after the pivot), makes
//! the slave its stdio and controlling terminal, and sends the master back over a socket
//! pair. The runtime puts the caller's terminal in raw mode (every key goes through as
//! typed, Ctrl-C included, and the container's pty does the line editing) and copies
//! between the two until the command ends; the caller's settings come back on every path.
//! The caller's window size goes to the pty at the start and at each SIGWINCH.
//! Chapter 8's `--console-socket` uses the same pty code, with the engine at the other end.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

use crate::{Error, Result};

/// A terminal's window size, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

/// The size of the caller's terminal on stdin, when stdin is one.
pub fn caller_size() -> Option<Size> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize that outlives the call.
    let rc = unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0).then_some(Size {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Makes a new pty, sends its master over `socket`, and makes the slave this process's
/// stdio and controlling terminal. Runs in the container, after the pivot (so the pty is
/// the container's devpts's) and after setsid(2) (only a session leader without a
/// terminal may take one).
pub fn attach(socket: &UnixStream, size: Option<Size>) -> Result<()> {
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let ptmx = Path::new("/dev/ptmx");
    let master = nix::pty::posix_openpt(flags)
        .map_err(|e| Error::sys_path("posix_openpt", "opening a new pty", ptmx, e))?;
    nix::pty::grantpt(&master).map_err(|e| Error::sys("grantpt", "granting the pty", e))?;
    nix::pty::unlockpt(&master)
        .map_err(|e| Error::sys("unlockpt", "unlocking the pty", e))?;
    let name = nix::pty::ptsname_r(&master)
        .map_err(|e| Error::sys("ptsname", "naming the pty", e))?;
    let slave: OwnedFd =
        nix::fcntl::open(Path::new(&name), flags, nix::sys::stat::Mode::empty()).map_err(
            |e| Error::sys_path("open", "opening the pty's slave", Path::new(&name), e),
        )?;
    if let Some(size) = size {
        set_size(slave.as_fd(), size);
    }
    send_fd(socket, master.as_raw_fd(), &name)?;
    drop(master);
    for target in 0..=2 {
        // SAFETY: dup2 on fds we own; the target numbers are stdio's.
        let rc = unsafe { libc::dup2(slave.as_raw_fd(), target) };
        crate::error::syscall_result(rc)
            .map_err(|e| Error::sys("dup2", "making the pty the container's stdio", e))?;
    }
    // SAFETY: TIOCSCTTY with an integer argument; we lead a session without a terminal.
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

/// TIOCSWINSZ: tells the terminal (and so the programs on it) its size.
pub fn set_size(fd: BorrowedFd<'_>, size: Size) {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize that outlives the call.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// Sends `fd` with one SCM_RIGHTS message; the payload is the pty's name, as runc sends it.
/// A file descriptor can cross from one process to another only that way.
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

/// Receives the fd that [`send_fd`] sent; `None` when the other end closed first (the
/// child failed before it made the pty: its error comes with its status).
pub fn receive_fd(socket: &UnixStream) -> Result<Option<OwnedFd>> {
    let mut name = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let flags = MsgFlags::MSG_CMSG_CLOEXEC;
    let msg = loop {
        match recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other,
        }
    }
    .map_err(|e| Error::sys("recvmsg", "receiving the container's pty master", e))?;
    let mut fds = Vec::new();
    for cmsg in msg
        .cmsgs()
        .map_err(|e| Error::sys("recvmsg", "reading the pty master's message", e))?
    {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            fds.extend(received);
        }
    }
    // SAFETY: the kernel just installed these fds in this process; nothing else owns them.
    let mut owned = fds
        .into_iter()
        .map(|fd| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    Ok(owned.next())
}

/// The caller's terminal in raw mode; its settings are restored on drop.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode on stdin when it is a terminal; `None` when it is not (a pipe, a file).
    pub fn enter() -> Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return Ok(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
            .map_err(|e| Error::sys("tcsetattr", "putting the terminal in raw mode", e))?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// The copy between the caller's stdin/stdout and the container's pty master, in a thread
/// of its own. Dropping it drains what the container wrote last, stops the thread, then
/// restores the caller's terminal.
pub struct Copying {
    stop: Option<OwnedFd>,
    thread: Option<std::thread::JoinHandle<()>>,
    _raw: Option<RawMode>,
}

impl Copying {
    /// Starts copying to and from `master`, with the caller's terminal in raw mode.
    pub fn start(master: OwnedFd) -> Result<Copying> {
        let (stop_r, stop_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| {
            Error::sys("pipe2", "creating the terminal copy's stop pipe", e)
        })?;
        let raw = RawMode::enter()?;
        // SIGWINCH (the caller's window changed size) is blocked here, and so in the copy
        // thread too, which reads it from a signalfd and passes the new size on.
        let mut winch = SigSet::empty();
        winch.add(Signal::SIGWINCH);
        let resized = winch
            .thread_block()
            .and_then(|()| SignalFd::with_flags(&winch, SfdFlags::SFD_CLOEXEC))
            .ok();
        let thread = std::thread::Builder::new()
            .name("tty-copy".into())
            .spawn(move || copy(&master, &stop_r, resized.as_ref()))
            .map_err(|e| Error::io_no_path("starting the terminal copy thread", e))?;
        Ok(Copying {
            stop: Some(stop_w),
            thread: Some(thread),
            _raw: raw,
        })
    }

    /// Receives the pty's master over `socket` and starts copying; `None` when the child
    /// closed its end without sending one (it failed: its error comes with its status).
    pub fn receive(socket: &UnixStream) -> Result<Option<Copying>> {
        receive_fd(socket)?.map(Copying::start).transpose()
    }
}

impl Drop for Copying {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies stdin → `master` and `master` → stdout until the pty's last slave is closed or
/// `stop` is closed (then it drains what is left). At the end of stdin it sends the
/// terminal's end-of-file character (Ctrl-D), as a user would. A SIGWINCH on `resized`
/// copies the caller's new window size to the pty, whose kernel then signals the
/// container's foreground process group in turn.
fn copy(master: &OwnedFd, stop: &OwnedFd, resized: Option<&SignalFd>) {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut buf = [0u8; 4096];
    let mut stdin_open = true;
    loop {
        let mut fds = vec![
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        if let Some(resized) = resized {
            fds.push(PollFd::new(resized.as_fd(), PollFlags::POLLIN));
        }
        let stdin_at = fds.len();
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(PollFd::revents)
                .unwrap_or(PollFlags::empty())
        };
        let (from_master, stopped) = (ready(0), ready(1));
        let from_stdin = if stdin_open {
            ready(stdin_at)
        } else {
            PollFlags::empty()
        };
        if let Some(resized) = resized.filter(|_| !ready(2).is_empty()) {
            let _ = resized.read_signal();
            if let Some(size) = caller_size() {
                set_size(master.as_fd(), size);
            }
        }
        if !from_master.is_empty() && !pass(master.as_fd(), stdout.as_fd(), &mut buf) {
            return; // EIO: every slave is closed, the container's terminal is gone.
        }
        if !from_stdin.is_empty() && !pass(stdin.as_fd(), master.as_fd(), &mut buf) {
            stdin_open = false;
            let _ = write_all(master.as_fd(), &[4]);
        }
        if !stopped.is_empty() {
            drain(master, stdout.as_fd(), &mut buf);
            return;
        }
    }
}

/// One read from `from` written to `to`; false at end of input or on an error.
fn pass(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    match nix::unistd::read(from, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => write_all(to, &buf[..n]),
    }
}

/// What is still buffered in the master, without waiting for more.
fn drain(master: &OwnedFd, to: BorrowedFd<'_>, buf: &mut [u8]) {
    let _ = nix::fcntl::fcntl(master, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    while pass(master.as_fd(), to, buf) {}
}

fn write_all(to: BorrowedFd<'_>, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match nix::unistd::write(to, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}
