//! The OCI seccomp profile (`linux.seccomp` of config.json), parsed once into types.
//!
//! The runtime spec's fields, nothing more: a field this runtime does not know is refused by
//! name (serde's `deny_unknown_fields`), so a profile never means less than it says.

use serde::Deserialize;

use crate::{Error, Result};

/// `linux.seccomp` as the spec writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    #[serde(default)]
    pub flags: Option<Vec<String>>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    #[serde(default)]
    pub syscalls: Option<Vec<SyscallRule>>,
}

/// One entry of `syscalls`: these names, when the conditions hold, get this action.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: String,
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Option<Vec<ArgCondition>>,
}

/// One argument condition; several in one rule must all hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgCondition {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

impl Profile {
    /// Reads the profile from config.json's `linux.seccomp` value.
    pub fn from_json(value: &serde_json::Value) -> Result<Profile> {
        Profile::deserialize(value).map_err(|e| {
            Error::Invalid(format!(
                "config.json's linux.seccomp cannot be used: {e} (this runtime reads the \
                 runtime spec's fields only)"
            ))
        })
    }
}
