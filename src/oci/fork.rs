//! The init's fork: a child that outlives the runtime.

use nix::unistd::Pid;

use crate::namespace::Namespaces;
use crate::process::spawn::{clone_like_fork, explain_clone_error};
use crate::Result;

/// clone(2) into new `namespaces` like fork(2), with nothing else: no pipes, no held
/// signals, no death signal. For a runtime whose child must outlive it (an OCI `create`
/// returns while the container's init waits); the caller makes its own pipes. Returns
/// `None` in the child.
pub fn fork_into(namespaces: Namespaces) -> Result<Option<Pid>> {
    clone_like_fork(namespaces.clone_flags())
        .map_err(|e| explain_clone_error(namespaces, e))
}
