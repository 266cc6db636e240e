//! IPv4 addresses and routes: `ip addr add` and `ip route add default via`, as netlink
//! requests, and the host's routing table read to refuse a subnet that is already in use.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::Netlink;
use crate::Result;

/// Gives device `index` the address `ip/prefix`. The kernel adds the route to the prefix's
/// network through that device by itself (once the device is up). Returns false if the
/// device had that address already.
pub fn add(nl: &mut Netlink, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<bool> {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.prefix_len = prefix;
    m.header.index = index;
    // IFA_LOCAL is the address of the interface; IFA_ADDRESS the peer's on point-to-point
    // links and the same on all others.
    m.attributes.push(AddressAttribute::Local(IpAddr::V4(ip)));
    m.attributes.push(AddressAttribute::Address(IpAddr::V4(ip)));
    let what = format!("adding the address {ip}/{prefix}");
    nl.create_unless_present(RouteNetlinkMessage::NewAddress(m), &what)
}

/// The IPv4 addresses of device `index`, with their prefix lengths.
pub fn of_device(nl: &mut Netlink, index: u32) -> Result<Vec<(Ipv4Addr, u8)>> {
    let mut req = AddressMessage::default();
    req.header.family = AddressFamily::Inet;
    let replies = nl.dump(RouteNetlinkMessage::GetAddress(req), "listing addresses")?;
    let mut out = Vec::new();
    for r in replies {
        let RouteNetlinkMessage::NewAddress(m) = r else {
            continue;
        };
        if m.header.index != index {
            continue;
        }
        for a in &m.attributes {
            if let AddressAttribute::Local(IpAddr::V4(ip)) = a {
                out.push((*ip, m.header.prefix_len));
            }
        }
    }
    Ok(out)
}

/// Adds the default route (0.0.0.0/0) through `gateway`, which must be reachable on a
/// device that is up.
pub fn add_default_route(nl: &mut Netlink, gateway: Ipv4Addr) -> Result<()> {
    let mut m = RouteMessage::default();
    m.header.address_family = AddressFamily::Inet;
    m.header.destination_prefix_length = 0;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Boot;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    let what = format!("adding the default route via {gateway}");
    nl.create(RouteNetlinkMessage::NewRoute(m), &what)
}

/// An IPv4 route of the host: its destination network and the device it leaves by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub network: Ipv4Addr,
    pub prefix: u8,
    pub device: Option<u32>,
    pub table: u32,
}

/// Every IPv4 route of the socket's namespace (all tables), default routes left out.
pub fn routes(nl: &mut Netlink) -> Result<Vec<Route>> {
    let mut req = RouteMessage::default();
    req.header.address_family = AddressFamily::Inet;
    let replies = nl.dump(
        RouteNetlinkMessage::GetRoute(req),
        "reading the routing table",
    )?;
    let mut out = Vec::new();
    for r in replies {
        let RouteNetlinkMessage::NewRoute(m) = r else {
            continue;
        };
        if m.header.destination_prefix_length == 0 {
            continue;
        }
        let mut route = Route {
            network: Ipv4Addr::UNSPECIFIED,
            prefix: m.header.destination_prefix_length,
            device: None,
            table: m.header.table as u32,
        };
        for a in &m.attributes {
            match a {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => route.network = *ip,
                RouteAttribute::Oif(i) => route.device = Some(*i),
                RouteAttribute::Table(t) => route.table = *t,
                _ => {}
            }
        }
        out.push(route);
    }
    Ok(out)
}
