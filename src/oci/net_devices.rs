//! `linux.netDevices` (runtime spec 1.2): host network devices moved into the container's
//! network namespace, each under its name there (`{"eth1": {"name": "net0"}}`). The
//! runtime sends chapter 4's RTM_SETLINK with IFLA_NET_NS_PID (the init's pid) and
//! IFLA_IFNAME: the kernel moves the device and renames it in the one step `ip link set
//! eth1 netns PID name net0` takes, so the new name never meets the host's devices. When
//! the namespace dies, the kernel gives a physical device back to the host's namespace and
//! deletes a virtual one.

use std::collections::BTreeMap;

use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use nix::unistd::Pid;
use serde::Deserialize;

use crate::net::link::{self, MAX_NAME};
use crate::net::netlink::Netlink;
use crate::{Error, Result};

/// One device's entry: its name in the container (the host's name when left out).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetDevice {
    pub name: Option<String>,
}

/// `linux.netDevices`, by the host's name.
pub type NetDevices = BTreeMap<String, NetDevice>;

/// The name a device takes in the container.
fn new_name<'a>(host: &'a str, device: &'a NetDevice) -> &'a str {
    device
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(host)
}

/// Refuses devices without a new network namespace to go to (`new_net`), and names the
/// kernel would refuse. A namespace joined by path outlives the container, and the device
/// with it: runc moves it back to the host at `delete`, which this runtime does not, so
/// that case is refused.
pub fn check(devices: &NetDevices, new_net: bool) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    if !new_net {
        return Err(Error::Unsupported(
            "config.json's linux.netDevices moves host devices into the container, which this runtime does only into a new network namespace (one joined by path would keep them after the container): use {\"type\": \"network\"} without a path".into(),
        ));
    }
    for (host, device) in devices {
        for name in [host.as_str(), new_name(host, device)] {
            if name.is_empty()
                || name.len() > MAX_NAME
                || name == "."
                || name == ".."
                || name.contains(['/', ':'])
                || name.chars().any(char::is_whitespace)
            {
                return Err(Error::Invalid(format!(
                    "config.json's linux.netDevices names the device {name:?}, which the kernel would refuse: 1 to {MAX_NAME} bytes, without '/', ':' or spaces"
                )));
            }
        }
    }
    Ok(())
}

/// Moves each device into the network namespace of process `pid`, renamed.
pub fn move_into(devices: &NetDevices, pid: Pid) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let mut nl = Netlink::open()?;
    for (host, device) in devices {
        let found = link::find(&mut nl, host)?.ok_or_else(|| {
            Error::Invalid(format!(
                "config.json's linux.netDevices names {host}, which is not a network device of the host: see `ip link`"
            ))
        })?;
        let name = new_name(host, device);
        let mut m = LinkMessage::default();
        m.header.index = found.index;
        m.attributes
            .push(LinkAttribute::NetNsPid(pid.as_raw() as u32));
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        nl.request(
            RouteNetlinkMessage::SetLink(m),
            0,
            &format!("moving the host's {host} into the container as {name}"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_need_a_network_namespace_and_names_the_kernel_takes() {
        let mut devices = NetDevices::new();
        check(&devices, false).unwrap();
        devices.insert("eth1".into(), NetDevice::default());
        assert!(check(&devices, false).is_err());
        check(&devices, true).unwrap();
        devices.insert(
            "eth2".into(),
            NetDevice {
                name: Some("a-name-of-17-byte".into()),
            },
        );
        assert!(check(&devices, true).is_err());
    }
}
