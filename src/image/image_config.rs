//! What an image says about running it: the part of the image config a container needs.
//!
//! Docker's config file and the OCI image config share the field names:
//! `config.Entrypoint`, `config.Cmd`, `config.Env`, `config.WorkingDir`, and
//! `rootfs.diff_ids` (the digest of each layer's *uncompressed* tar, bottom first), which
//! is what lets us verify the layers we unpack.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How to run an image, read from its config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// `Entrypoint`: the program, if the image fixes one.
    pub entrypoint: Vec<String>,
    /// `Cmd`: the default arguments (or the default command, when there is no entrypoint).
    pub cmd: Vec<String>,
    /// `Env`: `NAME=value` strings.
    pub env: Vec<String>,
    /// `WorkingDir`: where the command starts (`/` when empty).
    pub workdir: Option<String>,
}

impl ImageConfig {
    /// The default command line: entrypoint followed by cmd.
    pub fn command(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    config: Option<RawRunConfig>,
    rootfs: Option<RawRootfs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawRunConfig {
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
}

#[derive(Deserialize)]
struct RawRootfs {
    diff_ids: Vec<String>,
}

/// Parses an image config file: how to run it, and the DiffIDs of its layers, bottom first.
pub fn parse(bytes: &[u8], what: &str) -> Result<(ImageConfig, Vec<String>)> {
    let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| {
        Error::Invalid(format!("the image config {what} is not valid JSON: {e}"))
    })?;
    let Some(rootfs) = raw.rootfs else {
        return Err(Error::Invalid(format!(
            "the image config {what} has no rootfs.diff_ids, so its layers cannot be verified"
        )));
    };
    let run = raw.config.unwrap_or_default();
    let config = ImageConfig {
        entrypoint: run.entrypoint.unwrap_or_default(),
        cmd: run.cmd.unwrap_or_default(),
        env: run.env.unwrap_or_default(),
        workdir: run.working_dir.filter(|w| !w.is_empty()),
    };
    Ok((config, rootfs.diff_ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_and_oci_field_names() {
        let json = br#"{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["sh","-c","echo hi"],
            "WorkingDir":"/srv","Entrypoint":null},"rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}"#;
        let (config, diff_ids) = parse(json, "test").unwrap();
        assert_eq!(config.command(), ["sh", "-c", "echo hi"]);
        assert_eq!(config.env, ["PATH=/bin"]);
        assert_eq!(config.workdir.as_deref(), Some("/srv"));
        assert_eq!(diff_ids, ["sha256:aa", "sha256:bb"]);
    }

    #[test]
    fn a_config_without_diff_ids_is_refused() {
        let err = parse(br#"{"config":{}}"#, "c.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("diff_ids"), "{err}");
    }
}
