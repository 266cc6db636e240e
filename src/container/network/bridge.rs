//! The host's bridge: a virtual switch that every container's veth is plugged into.
//!
//! The bridge has an address of its own in the subnet (10.203.0.1): through it the host
//! reaches the containers, and the containers reach the host and, with NAT, the rest of the
//! world (it is their default gateway). The bridge is made once, by the first run that
//! needs it, and then stays, like Docker's `docker0`: it costs nothing idle, and removing
//! it while another container starts would be a race. `ip link del wb0` removes it by hand.

use super::subnet::Subnet;
use crate::net::address;
use crate::net::link::{self, MAX_NAME};
use crate::net::netlink::Netlink;
use crate::{Error, Result};

/// The default bridge name.
pub const DEFAULT_BRIDGE: &str = "wb0";

/// Checks a bridge name the user gave: what the kernel takes as a device name.
pub fn check_name(name: &str) -> std::result::Result<String, String> {
    let fine = !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fine {
        Ok(name.to_string())
    } else {
        Err(format!(
            "the bridge name {name:?} is not a device name: use 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"
        ))
    }
}

/// Makes sure the bridge `name` exists, holds the subnet's gateway address and is up;
/// returns its index. A new subnet must not overlap a route the host has already: packets
/// for those addresses would go two ways.
pub fn ensure(nl: &mut Netlink, name: &str, subnet: &Subnet) -> Result<u32> {
    let existing = existing_bridge(nl, name)?;
    if let Some(l) = &existing {
        let addresses = address::of_device(nl, l.index)?;
        if addresses.contains(&(subnet.gateway(), subnet.prefix())) {
            if !l.up {
                link::set_up(nl, l.index)?;
            }
            return Ok(l.index);
        }
        if let Some((ip, prefix)) = addresses.first() {
            return Err(Error::Invalid(format!(
                "the bridge {name} already has the address {ip}/{prefix}: run with --subnet {ip}/{prefix}, or choose another --bridge"
            )));
        }
    }
    check_no_overlap(nl, name, subnet)?;
    link::add_bridge(nl, name)?;
    let index = link::find(nl, name)?.map(|l| l.index).ok_or_else(|| {
        Error::Invalid(format!(
            "the bridge {name} vanished right after it was made"
        ))
    })?;
    address::add(nl, index, subnet.gateway(), subnet.prefix())?;
    link::set_up(nl, index)?;
    Ok(index)
}

/// The bridge `name` if the host has one; refuses a device of that name that is not a
/// bridge (`--bridge lo`, `--bridge eth0`). A run checks this before it makes anything, so
/// that a refused name leaves no file and no device behind.
pub fn existing_bridge(nl: &mut Netlink, name: &str) -> Result<Option<link::Link>> {
    let existing = link::find(nl, name)?;
    if let Some(l) = &existing {
        if l.kind != "bridge" {
            return Err(Error::Invalid(format!(
                "the host already has a device named {name} that is not a bridge (it is a {}); choose another with --bridge",
                if l.kind.is_empty() { "device" } else { &l.kind }
            )));
        }
    }
    Ok(existing)
}

/// Refuses a subnet that a route of the host (on another device) overlaps.
fn check_no_overlap(nl: &mut Netlink, bridge: &str, subnet: &Subnet) -> Result<()> {
    let links = link::list(nl)?;
    let ours = links.iter().find(|l| l.name == bridge).map(|l| l.index);
    for route in address::routes(nl)? {
        if route.device.is_some() && route.device == ours {
            continue;
        }
        if subnet.overlaps(route.network, route.prefix) {
            let device = route
                .device
                .and_then(|i| links.iter().find(|l| l.index == i))
                .map_or("another device".to_string(), |l| l.name.clone());
            return Err(Error::Invalid(format!(
                "the subnet {subnet} overlaps the host's route to {}/{} on {device}; choose another with --subnet",
                route.network, route.prefix
            )));
        }
    }
    Ok(())
}
