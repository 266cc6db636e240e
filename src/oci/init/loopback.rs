//! `lo` in a new network namespace: the kernel makes it down. runc brings it up when the
//! config asks for a network namespace of its own (one joined by path is the engine's,
//! set up by it): chapter 4's step (exercise 04.3), made by the init, which is root in
//! the namespace's owning user namespace by then.

use crate::oci::config::Spec;
use crate::Result;

/// Brings `lo` up when `spec` makes a new network namespace.
pub fn up_if_new(spec: &Spec) -> Result<()> {
    let new_net = spec.linux.iter().flat_map(|l| &l.namespaces).any(|ns| {
        ns.kind == "network" && !ns.path.as_ref().is_some_and(|p| !p.as_os_str().is_empty())
    });
    if new_net {
        crate::net::loopback_up()?;
    }
    Ok(())
}
