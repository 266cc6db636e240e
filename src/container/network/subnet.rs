//! The bridge's subnet, parsed once: `10.203.0.1/24` is the bridge's own address (the
//! containers' gateway) and the prefix length of the network the containers share.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 subnet with the bridge's address in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    gateway: Ipv4Addr,
    prefix: u8,
}

/// The default: a private range that Docker (172.17/16) and libvirt (192.168.122/24) do not
/// use.
pub const DEFAULT_SUBNET: &str = "10.203.0.1/24";

impl Subnet {
    /// The bridge's address, which the containers route through.
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn mask(&self) -> u32 {
        u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0)
    }

    /// The network's own address (host bits zero).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.gateway) & self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Whether two networks share an address (one holds the other's network address).
    pub fn overlaps(&self, network: Ipv4Addr, prefix: u8) -> bool {
        let shorter = self.prefix.min(prefix);
        let mask = u32::MAX.checked_shl(32 - shorter as u32).unwrap_or(0);
        u32::from(self.network()) & mask == u32::from(network) & mask
    }

    /// The addresses a container may get: every host address but the gateway (the network
    /// address and the broadcast address are not host addresses), lowest first.
    pub fn container_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let first = u32::from(self.network()) + 1;
        let broadcast = u32::from(self.network()) | !self.mask();
        (first..broadcast)
            .map(Ipv4Addr::from)
            .filter(move |ip| *ip != self.gateway)
    }
}

impl FromStr for Subnet {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!("the subnet {s:?} is not an IPv4 address with a prefix length, like {DEFAULT_SUBNET}")
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let gateway: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(format!(
                "the subnet {s} has a prefix length of {prefix}: use 8 to 30, so that there is room for the bridge and containers"
            ));
        }
        let subnet = Subnet { gateway, prefix };
        let host = u32::from(gateway) & !subnet.mask();
        if host == 0 || host == !subnet.mask() {
            return Err(format!(
                "the subnet {s} names its network or broadcast address: give the bridge's own address, like {DEFAULT_SUBNET}"
            ));
        }
        Ok(subnet)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lists_the_container_addresses() {
        let s: Subnet = "10.9.0.1/30".parse().unwrap();
        assert_eq!(s.network(), Ipv4Addr::new(10, 9, 0, 0));
        let all: Vec<_> = s.container_addresses().collect();
        assert_eq!(all, [Ipv4Addr::new(10, 9, 0, 2)]);
        assert_eq!(s.to_string(), "10.9.0.0/30");
    }

    #[test]
    fn overlap_is_symmetric_in_size() {
        let s: Subnet = "10.203.0.1/24".parse().unwrap();
        assert!(s.overlaps(Ipv4Addr::new(10, 0, 0, 0), 8));
        assert!(s.overlaps(Ipv4Addr::new(10, 203, 0, 128), 25));
        assert!(!s.overlaps(Ipv4Addr::new(10, 204, 0, 0), 24));
        assert!(!s.overlaps(Ipv4Addr::new(0, 0, 0, 0), 32));
    }

    #[test]
    fn refuses_what_cannot_work() {
        for bad in [
            "10.0.0.1",
            "10.0.0.0/24",
            "10.0.0.255/24",
            "10.0.0.1/31",
            "x/24",
            "10.0.0.1/7",
        ] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }
}
