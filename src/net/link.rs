//! Network devices: find one, create a bridge or a veth pair, enslave, bring up, delete.
//!
//! Each function is one RTM_*LINK request, the same that `ip link` sends.

use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;
use nix::unistd::Pid;

use super::netlink::Netlink;
use crate::{Error, Result};

/// The longest device name the kernel takes (IFNAMSIZ is 16, with the NUL).
pub const MAX_NAME: usize = 15;

/// A device as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `bridge`, `veth`, … or empty for devices without a kind (lo, most hardware).
    pub kind: String,
    pub up: bool,
    /// The index of the bridge this device is a port of.
    pub master: Option<u32>,
}

impl Link {
    fn from_message(m: &LinkMessage) -> Link {
        let mut link = Link {
            index: m.header.index,
            name: String::new(),
            kind: String::new(),
            up: m.header.flags.contains(LinkFlags::Up),
            master: None,
        };
        for attr in &m.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name = n.clone(),
                LinkAttribute::Controller(i) => link.master = Some(*i),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(kind) = info {
                            link.kind = kind.to_string();
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }
}

/// Every device of the socket's namespace.
pub fn list(nl: &mut Netlink) -> Result<Vec<Link>> {
    let replies = nl.dump(
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        "listing network devices",
    )?;
    Ok(replies
        .iter()
        .filter_map(|r| match r {
            RouteNetlinkMessage::NewLink(m) => Some(Link::from_message(m)),
            _ => None,
        })
        .collect())
}

/// The device named `name`, if there is one: one RTM_GETLINK by name, as `ip link show dev
/// NAME` asks (a dump of every device could miss it while other runs add and delete
/// theirs).
pub fn find(nl: &mut Netlink, name: &str) -> Result<Option<Link>> {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    match nl.get(
        RouteNetlinkMessage::GetLink(m),
        &format!("looking up the device {name}"),
    ) {
        Ok(replies) => Ok(replies.iter().find_map(|r| match r {
            RouteNetlinkMessage::NewLink(m) => Some(Link::from_message(m)),
            _ => None,
        })),
        Err(Error::Sys {
            errno: Errno::ENODEV,
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates a bridge: a virtual switch in the host's namespace. Returns false if a device of
/// that name exists already (another run made it).
pub fn add_bridge(nl: &mut Netlink, name: &str) -> Result<bool> {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    let what = format!("creating the bridge {name}");
    nl.create_unless_present(RouteNetlinkMessage::NewLink(m), &what)
}

/// Creates a veth pair: two devices joined like the ends of a cable. `host` stays in the
/// caller's namespace; `peer` is born directly in the network namespace of process `pid`
/// (IFLA_NET_NS_PID on the peer), so its name (`eth0`) never meets the host's own devices.
/// `peer_mac` fixes the peer's hardware address (else the kernel picks a random one).
pub fn add_veth(
    nl: &mut Netlink,
    host: &str,
    peer: &str,
    pid: Pid,
    peer_mac: Option<[u8; 6]>,
) -> Result<()> {
    let mut inner = LinkMessage::default();
    inner
        .attributes
        .push(LinkAttribute::IfName(peer.to_string()));
    if let Some(mac) = peer_mac {
        inner.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    inner
        .attributes
        .push(LinkAttribute::NetNsPid(pid.as_raw() as u32));
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(host.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(inner))),
    ]));
    let what = format!("creating the veth pair {host} (host) / {peer} (process {pid})");
    nl.create(RouteNetlinkMessage::NewLink(m), &what)
}

/// Makes device `index` a port of the bridge `master`.
pub fn set_master(nl: &mut Netlink, index: u32, master: u32) -> Result<()> {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(LinkAttribute::Controller(master));
    nl.request(
        RouteNetlinkMessage::SetLink(m),
        0,
        "attaching a veth end to the bridge",
    )
}

/// Brings device `index` up (IFF_UP), as `ip link set DEV up`.
pub fn set_up(nl: &mut Netlink, index: u32) -> Result<()> {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    nl.request(RouteNetlinkMessage::SetLink(m), 0, "bringing a device up")
}

/// Deletes device `name`; a veth takes its peer along. Returns false if there was none.
pub fn delete(nl: &mut Netlink, name: &str) -> Result<bool> {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    match nl.request(
        RouteNetlinkMessage::DelLink(m),
        0,
        &format!("deleting the device {name}"),
    ) {
        Ok(()) => Ok(true),
        Err(Error::Sys {
            errno: Errno::ENODEV,
            ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup by name (no privilege needed to read the devices of one's own namespace).
    #[test]
    fn finds_lo_by_name_and_nothing_for_a_missing_name() {
        let mut nl = Netlink::open().expect("an rtnetlink socket");
        let lo = find(&mut nl, "lo")
            .expect("lookup")
            .expect("every namespace has lo");
        assert_eq!(lo.name, "lo");
        assert_eq!(lo.kind, "");
        assert!(list(&mut nl).expect("dump").contains(&lo));
        assert_eq!(find(&mut nl, "wbt-no-such").expect("lookup"), None);
    }
}
