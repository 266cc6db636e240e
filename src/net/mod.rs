//! Networking, chapter 4: the namespace's own loopback device, and a cable to the host.
//!
//! A new network namespace has its own devices, addresses, routes and ports, and holds just
//! one device, `lo`, which starts *down*: even 127.0.0.1 does not work until it is brought
//! up. We set IFF_UP with the same ioctl that `ip link set lo up` ends in.
//!
//! A veth pair is the cable between the container's namespace and the host, set up over
//! rtnetlink ([`netlink`]): the protocol `ip` itself speaks. One idea per file:
//!
//! | file | what |
//! | --- | --- |
//! | `netlink.rs` | a blocking rtnetlink socket: request and acknowledgement, dumps |
//! | `netns.rs` | a netlink socket inside another process's network namespace (setns) |
//! | `link.rs` | devices: bridge, veth pair, master, up, delete |
//! | `address.rs` | addresses, the default route, the host's routes |
//! | `veth.rs` | the host end of a container's veth, deleted on drop |
//!
//! Chapter 7 plugs every container into a bridge with these parts: `container::network`.

pub mod address;
pub mod link;
pub mod netlink;
pub mod netns;
pub mod veth;

use std::path::Path;

use crate::{Error, Result};

/// Brings up `lo` in the calling process's network namespace.
pub fn loopback_up() -> Result<()> {
    // exercise 04.3: bring lo up in the new network namespace
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
    // end of exercise 04.3
}

/// The names of the network devices this namespace has, from `/proc/net/dev`.
pub fn interfaces() -> Result<Vec<String>> {
    let path = Path::new("/proc/net/dev");
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io("reading the device list", path, e))?;
    Ok(parse_interfaces(&text))
}

/// The device names of a `/proc/net/dev` table (two header lines, then `NAME: counters…`).
pub fn parse_interfaces(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(2)
        .filter_map(|l| Some(l.split_once(':')?.0.trim().to_string()))
        .collect()
}
