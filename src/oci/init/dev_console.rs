//! `/dev/console` with a terminal (`process.terminal: true`): the container's pty, bound
//! over a `/dev/console` file as runc does. Programs write boot messages there; without
//! it, `echo > /dev/console` makes a regular file in the container's /dev.

use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::{mount, Error, Result};

/// Binds the pty that is the init's stdin by now (`tty::attach`) on `/dev/console`, made
/// as an empty file of mode 0666 if missing. After the pivot: the path is the container's.
pub fn bind_pty() -> Result<()> {
    let stdin = Path::new("/proc/self/fd/0");
    let pty = std::fs::read_link(stdin)
        .map_err(|e| Error::io("finding the container's pty", stdin, e))?;
    let console = Path::new("/dev/console");
    // O_NOFOLLOW: an image's /dev/console link is not followed to make a file elsewhere.
    let flags = OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match nix::fcntl::open(console, flags, Mode::from_bits_truncate(0o666)) {
        // open applies the umask: the mode asked for, again.
        Ok(file) => nix::sys::stat::fchmod(&file, Mode::from_bits_truncate(0o666))
            .map_err(|e| {
                Error::sys_path("fchmod", "setting /dev/console's mode", console, e)
            })?,
        // A device node (a /dev the image brought) is bound over as it is.
        Err(nix::errno::Errno::ENXIO | nix::errno::Errno::ENODEV) => {}
        Err(e) => {
            return Err(Error::sys_path(
                "open",
                "making the /dev/console mount point",
                console,
                e,
            ))
        }
    }
    mount::bind(&pty, console)
}
