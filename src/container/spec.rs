//! The user's wishes for one container, parsed and checked once, before the kernel is
//! touched.

use std::path::PathBuf;

use crate::{Error, Result};

/// A container's name: 1 to 64 of `[A-Za-z0-9_-]`, starting with a letter or digit (it
/// names a directory and a cgroup, so it must be a safe path component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Checks a user-given name.
    pub fn parse(text: &str) -> Result<Name> {
        let ok_first = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let ok_rest = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !ok_first || !ok_rest || text.len() > 64 {
            return Err(Error::Invalid(format!(
                "the container name {text:?} is not valid: use 1 to 64 letters, digits, '_' \
                 or '-', starting with a letter or digit"
            )));
        }
        Ok(Name(text.to_string()))
    }

    /// A fresh name for a container the user did not name: `wb-<pid>-<nanoseconds>`.
    pub fn generate() -> Name {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Name(format!("wb-{}-{nanos:x}", std::process::id()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Name {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Name::parse(s)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `KEY=VALUE` of the container's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for EnvVar {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once('=') {
            Some((key, value)) if !key.is_empty() && !s.contains('\0') => Ok(EnvVar {
                key: key.to_string(),
                value: value.to_string(),
            }),
            _ => Err(Error::Invalid(format!(
                "-e {s:?} is not KEY=VALUE (a non-empty key, an '=', then the value)"
            ))),
        }
    }
}

/// The working directory inside: an absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// The path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl std::str::FromStr for WorkDir {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if !s.starts_with('/') || s.contains('\0') {
            return Err(Error::Invalid(format!(
                "the working directory {s:?} must be an absolute path inside the container"
            )));
        }
        Ok(WorkDir(PathBuf::from(s)))
    }
}

/// The environment a container starts with when the image says nothing else.
pub fn default_env(hostname: &str) -> Vec<EnvVar> {
    [
        ("PATH", crate::process::DEFAULT_PATH),
        ("HOME", "/root"),
        ("TERM", "xterm"),
        ("HOSTNAME", hostname),
    ]
    .into_iter()
    .map(|(k, v)| EnvVar {
        key: k.into(),
        value: v.into(),
    })
    .collect()
}

/// Merges environments: later entries replace earlier ones with the same key.
pub fn merge_env(layers: &[&[EnvVar]]) -> Vec<EnvVar> {
    let mut out: Vec<EnvVar> = Vec::new();
    for var in layers.iter().flat_map(|l| l.iter()) {
        match out.iter_mut().find(|v| v.key == var.key) {
            Some(existing) => existing.value = var.value.clone(),
            None => out.push(var.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(Name::parse("web-1_b").is_ok());
        for bad in ["", "-x", "a/b", "..", "a.b", "a b", &"x".repeat(65)] {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Name::parse(Name::generate().as_str()).is_ok());
    }

    #[test]
    fn env_vars() {
        let v: EnvVar = "A=b=c".parse().expect("valid");
        assert_eq!((v.key.as_str(), v.value.as_str()), ("A", "b=c"));
        assert!("=x".parse::<EnvVar>().is_err());
        assert!("novalue".parse::<EnvVar>().is_err());
        let merged =
            merge_env(&[std::slice::from_ref(&v), &["A=z".parse().expect("valid")]]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].value, "z");
    }

    #[test]
    fn workdirs_are_absolute() {
        assert!("/srv".parse::<WorkDir>().is_ok());
        assert!("srv".parse::<WorkDir>().is_err());
    }
}
