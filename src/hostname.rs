//! The host name, which a UTS namespace makes private.
//!
//! "UTS" is the `struct utsname` that uname(2) fills: the node name (host name) and NIS
//! domain name live in the UTS namespace, so sethostname(2) inside one changes only that
//! one.

use crate::{Error, Result};

/// The kernel's limit on a host name, in bytes (HOST_NAME_MAX).
pub const MAX_LEN: usize = 64;

/// The longest label (the part between dots) RFC 1123 allows.
pub const MAX_LABEL: usize = 63;

/// A host name as RFC 1123 defines it, that the kernel also accepts: dot-separated labels
/// of 1 to 63 letters, digits and `-`, none starting or ending with `-`; at most 64 bytes
/// in all (the kernel's limit, below the RFC's 253).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

impl Hostname {
    /// Checks a user-given name once, before any namespace is made.
    ///
    /// The kernel takes any bytes but NUL. A name like `a b;$(id)` or `../x` would reach
    /// `$HOSTNAME`, shell prompts, log lines and scripts that trust it to be a plain word;
    /// `-x` reads as an option to the tools it is passed to. Runtimes refuse them; so do
    /// we.
    pub fn parse(name: &str) -> Result<Hostname> {
        let refuse =
            |why: String| Err(Error::Invalid(format!("the hostname {name:?} {why}")));
        if name.is_empty() {
            return Err(Error::Invalid("the hostname is empty".into()));
        }
        if name.len() > MAX_LEN {
            return refuse(format!(
                "is {} bytes long; the kernel allows at most {MAX_LEN} (HOST_NAME_MAX)",
                name.len()
            ));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        {
            return refuse(format!(
                "holds {c:?}; a host name has only letters, digits, '-' and dots (RFC 1123)"
            ));
        }
        for label in name.split('.') {
            if label.is_empty() {
                return refuse("has an empty part between dots (RFC 1123)".into());
            }
            if label.len() > MAX_LABEL {
                return refuse(format!(
                    "has a part of {} characters between dots; RFC 1123 allows at most {MAX_LABEL}",
                    label.len()
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return refuse(format!(
                    "has a part {label:?} that starts or ends with '-', which RFC 1123 forbids"
                ));
            }
        }
        Ok(Hostname(name.to_string()))
    }

    /// A name whose giver answers for it (an engine's config.json), taken as the kernel
    /// takes it: at most 64 bytes, without NUL. runc sets such a name unchecked, and so
    /// does chapter 8; the checks above are for names a user types.
    pub fn as_given(name: &str) -> Result<Hostname> {
        if name.len() > MAX_LEN || name.contains('\0') {
            return Err(Error::Invalid(format!(
                "the hostname {name:?} is longer than {MAX_LEN} bytes or holds a NUL byte, which the kernel refuses"
            )));
        }
        Ok(Hostname(name.to_string()))
    }

    /// A host name made from a container's name, which may hold `_` and end in `-`: those
    /// become and lose `-`, and the result is cut to one label of at most 63 characters.
    pub fn from_container_name(name: &str) -> Result<Hostname> {
        let mapped: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(MAX_LABEL)
            .collect();
        Hostname::parse(mapped.trim_matches('-'))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Sets it as the host name of the calling process's UTS namespace.
    pub fn apply(&self) -> Result<()> {
        // exercise 02.1: set the host name inside the new UTS namespace
        nix::unistd::sethostname(&self.0).map_err(|e| {
            Error::sys(
                "sethostname",
                format!("setting the hostname to {}", self.0),
                e,
            )
        })
        // end of exercise 02.1
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("box")]
    #[case("a")]
    #[case("web-1")]
    #[case("1st")]
    #[case("db.example.org")]
    #[case("A-Z.09")]
    #[case(&"a".repeat(63))]
    #[case(&format!("{}.{}", "a".repeat(31), "b".repeat(32)))]
    fn rfc_1123_names_are_accepted(#[case] name: &str) {
        assert_eq!(Hostname::parse(name).expect(name).as_str(), name);
    }

    #[rstest]
    #[case("wb-1a2b", "wb-1a2b")]
    #[case("my_box_", "my-box")]
    #[case(&"a".repeat(64), &"a".repeat(63))]
    fn a_container_name_becomes_a_host_name(#[case] name: &str, #[case] host: &str) {
        assert_eq!(
            Hostname::from_container_name(name).expect(name).as_str(),
            host
        );
    }

    #[rstest]
    #[case("", "is empty")]
    #[case("a/b", "holds '/'")]
    #[case("-x", "starts or ends with '-'")]
    #[case("x-", "starts or ends with '-'")]
    #[case("a.-b", "starts or ends with '-'")]
    #[case("a b;$(id)", "holds ' '")]
    #[case("a\0b", "holds '\\0'")]
    #[case("under_score", "holds '_'")]
    #[case("caf\u{e9}", "holds '\u{e9}'")]
    #[case("a..b", "empty part between dots")]
    #[case(".a", "empty part between dots")]
    #[case("a.", "empty part between dots")]
    #[case(&"a".repeat(64), "part of 64 characters")]
    #[case(&format!("{}.{}", "a".repeat(32), "b".repeat(32)), "65 bytes long")]
    fn other_names_are_refused_in_one_sentence(#[case] name: &str, #[case] says: &str) {
        let message = Hostname::parse(name).expect_err(name).to_string();
        assert!(message.contains(says), "{name:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}
