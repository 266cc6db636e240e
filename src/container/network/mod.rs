//! Chapter 7's network: every container on one host bridge, with an address, a way out and
//! published ports, built on chapter 4's netlink, links and veth pairs ([`crate::net`]).
//!
//! The runtime connects the container's namespace to a bridge on the host with a veth pair
//! ([`attach()`]). One idea per file:
//!
//! | file | what |
//! | --- | --- |
//! | `subnet.rs` | the bridge's subnet, parsed once |
//! | `bridge.rs` | the host bridge, made once and kept |
//! | `lease.rs` | which container holds which address, under a lock |
//! | `nat.rs` | outbound masquerade, one nftables table per container |
//! | `proxy.rs` | published ports: a TCP proxy in the runtime |
//! | `mode.rs` | `--network none|bridge|host` and the options that go with it |
//! | `attach.rs` | all of it for one container, undone on drop |
//! | `unplug.rs` | the address given back once the kernel has deleted the veth |

pub mod attach;
pub mod bridge;
pub mod lease;
pub mod mode;
pub mod nat;
pub mod proxy;
pub mod subnet;
mod unplug;

pub use attach::{attach, preflight, reclaim_stale, Attachment};
pub use mode::{NetworkMode, NetworkOptions};
pub use proxy::PortMapping;
pub use subnet::Subnet;
