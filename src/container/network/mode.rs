//! What network a container gets, as the user chose it on the command line.

use std::fmt;
use std::str::FromStr;

use super::bridge::DEFAULT_BRIDGE;
use super::proxy::PortMapping;
use super::subnet::{Subnet, DEFAULT_SUBNET};

/// `--network none|bridge|host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// A network namespace with only `lo`: no way in or out.
    None,
    /// A network namespace with `eth0`, one end of a veth pair whose other end is plugged
    /// into the host's bridge; an address of the bridge's subnet; a default route.
    Bridge,
    /// No network namespace: the container uses the host's devices, addresses and ports.
    /// Unsafe: it can bind any host port and talk to every service listening on 127.0.0.1.
    Host,
}

impl FromStr for NetworkMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(NetworkMode::None),
            "bridge" => Ok(NetworkMode::Bridge),
            "host" => Ok(NetworkMode::Host),
            _ => Err(format!(
                "the network mode {s:?} is not one of none, bridge or host"
            )),
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkMode::None => "none",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
        })
    }
}

/// Everything about a container's network, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkOptions {
    pub mode: NetworkMode,
    pub bridge: String,
    pub subnet: Subnet,
    pub ports: Vec<PortMapping>,
    pub nat: bool,
}

impl NetworkOptions {
    /// A network of the given mode on the default bridge, nothing published, no NAT.
    pub fn new(mode: NetworkMode) -> NetworkOptions {
        NetworkOptions {
            mode,
            bridge: DEFAULT_BRIDGE.to_string(),
            // The default is a constant that parses.
            subnet: DEFAULT_SUBNET
                .parse()
                .unwrap_or_else(|e: String| unreachable!("{e}")),
            ports: Vec::new(),
            nat: false,
        }
    }

    /// Refuses combinations that cannot work, in one sentence.
    pub fn check(&self, rootless: bool) -> Result<(), String> {
        if self.mode != NetworkMode::Bridge {
            if let Some(p) = self.ports.first() {
                return Err(format!(
                    "-p {p} publishes a port of the container's own network, which --network {} does not have: use --network bridge",
                    self.mode
                ));
            }
            if self.nat {
                return Err(format!("--nat masquerades the bridge's subnet, which --network {} does not use: use --network bridge", self.mode));
            }
        }
        if rootless && self.mode == NetworkMode::Bridge {
            return Err(
                "--network bridge needs root on the host (the bridge and the veth are host devices): use --network none or host with --rootless".to_string(),
            );
        }
        Ok(())
    }
}
