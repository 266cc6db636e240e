//! The allow-list: every device access not named here is refused.

use super::rule::{DeviceKind, DeviceRule};

/// An ordered list of allow rules. The kernel refuses every access that no rule allows,
/// with EPERM, on open(2) and mknod(2) alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceAllowList(Vec<DeviceRule>);

// ANCHOR: docker_default
/// What Docker (through runc) and podman allow a container by default. Open and use: the
/// nodes the OCI spec puts into every /dev, and the terminals. Make but not open: any node.
/// runc also allows /dev/net/tun (c 10:200), "added by mistake early in Docker's history":
/// removed in runc 1.2.0, put back in 1.2.4 because users relied on it. We leave it out.
const DOCKER_DEFAULT: [DeviceRule; 11] = [
    DeviceRule::char(1, 3),      // /dev/null
    DeviceRule::char(1, 5),      // /dev/zero
    DeviceRule::char(1, 7),      // /dev/full
    DeviceRule::char(1, 8),      // /dev/random
    DeviceRule::char(1, 9),      // /dev/urandom
    DeviceRule::char(5, 0),      // /dev/tty
    DeviceRule::char(5, 1),      // /dev/console
    DeviceRule::char(5, 2),      // /dev/ptmx
    DeviceRule::char_major(136), // /dev/pts/N
    // CAP_MKNOD is one of Docker's 14 default capabilities: image builds and package
    // scripts mknod, and a node by itself is only a name with two numbers. What makes that
    // safe is the rest of this list: the node can be made, but open(2) on it is refused.
    DeviceRule::mknod_any(DeviceKind::Char),
    DeviceRule::mknod_any(DeviceKind::Block),
];
// ANCHOR_END: docker_default

impl DeviceAllowList {
    /// A list of the given rules.
    pub fn new(rules: Vec<DeviceRule>) -> DeviceAllowList {
        DeviceAllowList(rules)
    }

    /// Docker's default list (see `DOCKER_DEFAULT`).
    pub fn docker_default() -> DeviceAllowList {
        DeviceAllowList(DOCKER_DEFAULT.to_vec())
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[DeviceRule] {
        &self.0
    }

    /// Whether the list allows `access` to `kind major:minor`.
    pub fn allows(
        &self,
        kind: DeviceKind,
        major: u32,
        minor: u32,
        access: super::Access,
    ) -> bool {
        self.0.iter().any(|r| r.allows(kind, major, minor, access))
    }
}
