//! The host's end of a container's veth pair, deleted when dropped.
//!
//! A veth pair is a cable with two plugs: what one end sends, the other receives. One end
//! (`eth0`) lives in the container's network namespace; the other stays on the host,
//! plugged into the bridge. Deleting either end deletes both. The kernel also deletes them
//! when the container's namespace dies, later, in a work queue. On an error path the
//! runtime deletes its end itself, at once; after a run that ended, it leaves the pair to
//! the namespace's teardown ([`Veth::leave_to_kernel`], see `attach::Attachment`).

use std::net::Ipv4Addr;

use super::link;
use super::netlink::Netlink;
use crate::Result;

/// The host-side name of the veth of the container with address `ip`: `wbv` and the address
/// in hex (`wbv0acb0002` for 10.203.0.2). Unique while the lease is held, within the 15
/// characters the kernel allows, and found again from a stale lease.
pub fn host_name(ip: Ipv4Addr) -> String {
    format!("wbv{:08x}", u32::from(ip))
}

/// The hardware address of the container's `eth0`: derived from its IP address, as Docker
/// does (02 marks a locally administered, unicast address). When an address is leased
/// again, the host's neighbour (ARP) entry for it, made for the earlier container, is still
/// right; with a random MAC the host would send to the old one until the entry expires.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x57, a, b, c, d]
}

/// The name the container sees.
pub const CONTAINER_NAME: &str = "eth0";

/// A veth end on the host. Dropping it deletes the pair.
#[derive(Debug)]
pub struct Veth {
    pub name: String,
}

impl Veth {
    /// Wraps a device that was just created, so that it is deleted on every way out.
    pub fn created(name: String) -> Veth {
        Veth { name }
    }

    /// Gives up the deletion: the kernel deletes the pair when the container's network
    /// namespace dies. Returns the name, to see when it is gone.
    pub fn leave_to_kernel(mut self) -> String {
        let name = std::mem::take(&mut self.name);
        std::mem::forget(self);
        name
    }
}

/// Deletes the veth named `name` if it is there.
pub fn remove(name: &str) -> Result<bool> {
    link::delete(&mut Netlink::open()?, name)
}

impl Drop for Veth {
    fn drop(&mut self) {
        if let Err(e) = remove(&self.name) {
            eprintln!("warning: could not delete the veth {}: {e}", self.name);
        }
    }
}

/// A veth pair straight between the host and the namespace of process `pid`, no bridge:
/// `host` gets `host_ip`, the namespace's end (`eth0`) gets `inside_ip`, both with
/// `prefix`, both up. Chapter 4 shows the idea with this; chapter 7 puts a bridge in
/// between.
pub fn pair(
    pid: nix::unistd::Pid,
    host: &str,
    host_ip: Ipv4Addr,
    inside_ip: Ipv4Addr,
    prefix: u8,
) -> Result<Veth> {
    use super::address;
    let mut nl = Netlink::open()?;
    if link::find(&mut nl, host)?.is_some() {
        return Err(crate::Error::Invalid(format!(
            "a device named {host} exists already: another run uses it, or remove it with `ip link del {host}`"
        )));
    }
    // ANCHOR: pair_steps
    link::add_veth(&mut nl, host, CONTAINER_NAME, pid, None)?;
    let veth = Veth::created(host.to_string());
    let index = link::find(&mut nl, host)?.map(|l| l.index).ok_or_else(|| {
        crate::Error::Invalid(format!("the veth {host} vanished right after it was made"))
    })?;
    address::add(&mut nl, index, host_ip, prefix)?;
    link::set_up(&mut nl, index)?;
    let mut inside = super::netns::socket_in(pid)?;
    let eth0 = link::find(&mut inside, CONTAINER_NAME)?.ok_or_else(|| {
        crate::Error::Invalid(format!("the other end of {host} is not in the namespace"))
    })?;
    address::add(&mut inside, eth0.index, inside_ip, prefix)?;
    link::set_up(&mut inside, eth0.index)?;
    Ok(veth)
    // ANCHOR_END: pair_steps
}
