//! The UTS namespace's two names: `hostname` (set by chapter 2's step) and `domainname`
//! (setdomainname(2), the NIS domain name `domainname` and `uname` print), as runc sets
//! them: in the container's UTS namespace, new or joined by path (a pod's containers
//! share the sandbox's, and each may set its names in it). Never in the runtime's own:
//! that is the host's, and every process on the machine would see the change
//! (`Spec::check` refuses it).

use crate::{Error, Result};

/// setdomainname(2) in the namespace the init is in by now.
pub fn set_domainname(name: Option<&str>) -> Result<()> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(());
    };
    // SAFETY: the pointer and length describe `name`, which lives across the call.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if r == -1 {
        return Err(Error::sys(
            "setdomainname",
            format!("setting the domainname {name:?}"),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}
