//! `linux.seccomp`: the engine's system call filter.
//!
//! Until the OCI profile compiler (`security::oci_seccomp`) is merged, a filter is refused
//! by name: running the container without the filter its engine asked for would be a silent
//! loss of protection.

use crate::{Error, Result};

/// Whether this build can install `linux.seccomp` filters.
pub const ENABLED: bool = false;

/// The filter prepared in the parent, installed by the child just before exec.
pub struct Filter;

impl Filter {
    /// Prepares `linux.seccomp` (or nothing when absent).
    pub fn prepare(value: Option<&serde_json::Value>) -> Result<Option<Filter>> {
        check(value)?;
        Ok(None)
    }

    /// Installs the filter on the calling process (allocation-free).
    pub fn install(&self) -> Result<()> {
        Ok(())
    }
}

/// Refuses a filter this build cannot compile.
pub fn check(value: Option<&serde_json::Value>) -> Result<()> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(_) => Err(Error::Unsupported(
            "config.json asks for linux.seccomp, which this build of the runtime cannot compile yet \
             (the OCI profile compiler is not merged): remove it or use a runtime with seccomp"
                .into(),
        )),
    }
}
