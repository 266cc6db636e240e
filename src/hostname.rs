//! The host name, which a UTS namespace makes private.
//!
//! "UTS" is the `struct utsname` that uname(2) fills: the node name (host name) and NIS domain
//! name live in the UTS namespace, so sethostname(2) inside one changes only that one.

use crate::{Error, Result};

/// The kernel's limit on a host name, in bytes (HOST_NAME_MAX).
pub const MAX_LEN: usize = 64;

/// A host name the kernel will accept: 1 to 64 bytes, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

impl Hostname {
    /// Checks a user-given name once, before any namespace is made.
    pub fn parse(name: &str) -> Result<Hostname> {
        if name.is_empty() {
            return Err(Error::Invalid("the hostname is empty".into()));
        }
        if name.len() > MAX_LEN {
            return Err(Error::Invalid(format!(
                "the hostname is {} bytes long; the kernel allows at most {MAX_LEN} (HOST_NAME_MAX)",
                name.len()
            )));
        }
        if name.contains('\0') {
            return Err(Error::Invalid("the hostname contains a NUL byte".into()));
        }
        Ok(Hostname(name.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Sets it as the host name of the calling process's UTS namespace.
    pub fn apply(&self) -> Result<()> {
        nix::unistd::sethostname(&self.0).map_err(|e| {
            Error::sys(
                "sethostname",
                format!("setting the hostname to {}", self.0),
                e,
            )
        })
    }
}

impl std::str::FromStr for Hostname {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Hostname::parse(s)
    }
}

impl std::fmt::Display for Hostname {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host name of the calling process's UTS namespace, as uname(2) reports it.
pub fn current() -> Result<String> {
    nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .map_err(|e| Error::sys("uname", "reading the hostname", e))
}
