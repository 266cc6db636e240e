//! `linux.seccomp`: the engine's system call filter, compiled by
//! [`OciSeccomp`] in the parent (where allocating is safe) and installed
//! by the child just before exec.

use super::OciSeccomp;
use crate::Result;

/// Whether this build can install `linux.seccomp` filters.
pub const ENABLED: bool = true;

/// The filter prepared in the parent, installed by the child just before exec.
pub struct Filter(OciSeccomp);

impl Filter {
    /// Compiles `linux.seccomp` (or nothing when absent).
    pub fn prepare(value: Option<&serde_json::Value>) -> Result<Option<Filter>> {
        match value {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(profile) => OciSeccomp::from_json(profile).map(|f| Some(Filter(f))),
        }
    }

    /// Installs the filter on the calling process.
    pub fn install(&self) -> Result<()> {
        self.0.install()
    }
}

/// Refuses a profile that cannot be compiled, while config.json is checked.
pub fn check(value: Option<&serde_json::Value>) -> Result<()> {
    Filter::prepare(value).map(drop)
}
