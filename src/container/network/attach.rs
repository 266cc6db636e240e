//! Plugging one container into the bridge, and unplugging it on every way out.
//!
//! ```text
//!  host (network namespace of the runtime)           container (its own network namespace)
//!  ───────────────────────────────────────           ─────────────────────────────────────
//!  wb0: bridge, 10.203.0.1/24  ◀── port ── wbv0acb0002 ═══ veth ═══ eth0: 10.203.0.2/24
//!                                                                  default via 10.203.0.1
//!                              ◀── port ── wbv0acb0003 ═══ veth ═══ eth0: 10.203.0.3/24 (another)
//! ```
//!
//! The runtime does it all from the host while the child is held before its setup: lease an
//! address, make sure the bridge exists, create the veth pair with its `eth0` end born in
//! the child's namespace, plug the host end into the bridge, then — through a netlink
//! socket opened in the child's namespace — address `eth0`, bring it up and add the default
//! route. When the child is released its network is ready; it only brings up `lo`.

use std::net::Ipv4Addr;
use std::path::Path;

use nix::unistd::Pid;

use super::bridge;
use super::lease::{self, Lease};
use super::mode::NetworkOptions;
use super::nat::{self, NatRule};
use super::unplug::veth_gone;
use crate::net::netlink::Netlink;
use crate::net::veth::{self, Veth};
use crate::net::{address, link, netns};
use crate::{Error, Result};

/// A container's place on the bridge. Dropping it unplugs the container: the NAT rule goes
/// first; the veth is left to the kernel, which deletes it with the container's network
/// namespace; the address is given back once the veth is gone (see `unplug.rs`).
/// Drop it after the container's last process has been reaped.
#[derive(Debug)]
pub struct Attachment {
    nat: Option<NatRule>,
    veth: Option<Veth>,
    lease: Option<Lease>,
    ip: Ipv4Addr,
    veth_name: String,
}

impl Attachment {
    /// The container's address.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Whether its outbound traffic is masqueraded.
    pub fn nat(&self) -> bool {
        self.nat.is_some()
    }

    /// The host-side name of its veth.
    pub fn veth(&self) -> &str {
        &self.veth_name
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        drop(self.nat.take());
        // Deleting the veth here would make the runtime wait for RCU grace periods before
        // it could report the command's status; the kernel deletes the pair anyway when
        // the namespace dies.
        if let (Some(veth), Some(lease)) = (self.veth.take(), self.lease.take()) {
            let name = veth.leave_to_kernel();
            super::unplug::release_when_gone(lease, &name);
        }
    }
}

/// Where the leases live: `/run/workbook/net`, whatever the state root (`WORKBOOK_STATE`).
/// The bridge, its addresses and the veths' names exist once per host, so their leases must
/// too: with a lease file per state root, two runs would both get 10.203.0.2 on `wb0`, and
/// the second would delete the first one's veth as a leftover of a killed run.
pub const LEASE_DIR: &str = "/run/workbook/net";

/// What can be refused before a run makes anything: a `--bridge` that names a device which
/// is not a bridge. (`attach` checks again, before it takes the lease lock: the device may
/// have appeared in between.)
pub fn preflight(opts: &NetworkOptions) -> Result<()> {
    if opts.mode == super::NetworkMode::Bridge {
        bridge::existing_bridge(&mut Netlink::open()?, &opts.bridge)?;
    }
    Ok(())
}

/// Connects the (held) process `pid` to the bridge of `opts`, under the name `name`.
pub fn attach(opts: &NetworkOptions, pid: Pid, name: &str) -> Result<Attachment> {
    let dir = Path::new(LEASE_DIR);
    let mut host = Netlink::open()?;
    // Before the lock, whose file would stay: a device of that name that is not a bridge.
    bridge::existing_bridge(&mut host, &opts.bridge)?;
    // Under the lease lock: reclaim what killed runs left, make sure the bridge is there,
    // take the lowest free address. Nothing below holds the lock (a Lease dropped while it
    // is held would wait for it forever).
    let (lease, bridge_index) = {
        let mut locked = lease::lock(dir, &opts.bridge)?;
        // Only leases whose veth is gone: a dead run's veth that is still there is being
        // deleted by the kernel, and its address and name are not free before it is gone.
        let mut stale = locked.take_reclaimable(|e| veth_gone(&mut host, &e.veth));
        if locked
            .first_free(opts.subnet.container_addresses())
            .is_none()
        {
            // Every address is taken: delete the dead runs' veths ourselves, and wait.
            stale.extend(locked.take_stale());
        }
        reclaim(&mut host, &stale);
        let bridge_index = bridge::ensure(&mut host, &opts.bridge, &opts.subnet)?;
        let ip = locked.first_free(opts.subnet.container_addresses()).ok_or_else(|| {
            Error::Invalid(format!(
                "no free address is left in the subnet {} of {} (all {} in use); stop a container, or use a larger --subnet",
                opts.subnet,
                opts.bridge,
                opts.subnet.container_addresses().count()
            ))
        })?;
        if !stale.is_empty() {
            locked.save()?;
        }
        let name_of_veth = veth::host_name(ip);
        let lease = Lease::record(
            &mut locked,
            dir,
            &opts.bridge,
            ip,
            name,
            &name_of_veth,
            opts.nat,
        )?;
        (lease, bridge_index)
    };
    let ip = lease.entry.ip;
    let host_end = lease.entry.veth.clone();
    // A device of that name can only be left over from a killed run whose lease is gone.
    link::delete(&mut host, &host_end)?;
    link::add_veth(
        &mut host,
        &host_end,
        veth::CONTAINER_NAME,
        pid,
        Some(veth::mac_for(ip)),
    )?;
    let veth = Veth::created(host_end.clone());
    let index = link::find(&mut host, &host_end)?
        .map(|l| l.index)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the veth {host_end} vanished right after it was made"
            ))
        })?;
    link::set_master(&mut host, index, bridge_index)?;
    link::set_up(&mut host, index)?;

    let mut inside = netns::socket_in(pid)?;
    let eth0 = link::find(&mut inside, veth::CONTAINER_NAME)?.ok_or_else(|| {
        Error::Invalid(format!(
            "the container's end of {host_end} is not in its namespace"
        ))
    })?;
    address::add(&mut inside, eth0.index, ip, opts.subnet.prefix())?;
    link::set_up(&mut inside, eth0.index)?;
    address::add_default_route(&mut inside, opts.subnet.gateway())?;

    let nat = if opts.nat {
        Some(nat::install(ip, &opts.bridge)?)
    } else {
        None
    };
    Ok(Attachment {
        nat,
        veth: Some(veth),
        lease: Some(lease),
        ip,
        veth_name: host_end,
    })
}

/// Deletes the veth and the NAT rule of leases whose runs are gone.
fn reclaim(host: &mut Netlink, stale: &[lease::LeaseRecord]) {
    for entry in stale {
        if let Err(e) = link::delete(host, &entry.veth) {
            eprintln!(
                "warning: could not delete the stale veth {}: {e}",
                entry.veth
            );
        }
        if entry.nat {
            if let Err(e) = nat::remove(entry.ip) {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// What `cleanup` reclaimed: the stale leases of every bridge, with their veths and NAT
/// rules. (Only root has a bridge network, and may lock the leases.)
pub fn reclaim_stale() -> Result<Vec<lease::LeaseRecord>> {
    let dir = Path::new(LEASE_DIR);
    let bridges = lease::bridges(dir);
    if bridges.is_empty() || !nix::unistd::geteuid().is_root() {
        return Ok(Vec::new());
    }
    let mut host = Netlink::open()?;
    let mut all = Vec::new();
    for bridge in bridges {
        let mut locked = lease::lock(dir, &bridge)?;
        let stale = locked.take_stale();
        if !stale.is_empty() {
            reclaim(&mut host, &stale);
            locked.save()?;
        }
        all.extend(stale);
    }
    Ok(all)
}
