/// Brings up `lo` in the calling process's network namespace.
pub fn loopback_up() -> Result<()> {
    use crate::error::syscall_result;
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    use std::os::fd::{AsRawFd, OwnedFd};

    let sock: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::sys("socket", "opening a socket to configure lo", e))?;
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    syscall_result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })
        .map_err(|e| Error::sys("ioctl(SIOCGIFFLAGS)", "reading lo's flags", e))?;
    // SAFETY: the flags member of the union is the one SIOCGIFFLAGS filled.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    syscall_result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) })
        .map_err(|e| Error::sys("ioctl(SIOCSIFFLAGS)", "bringing lo up", e))?;
    Ok(())
}
