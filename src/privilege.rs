//! Who may do what: most chapters need CAP_SYS_ADMIN, the capability the kernel checks
//! before it creates a namespace other than a user namespace, mounts a filesystem or calls
//! pivot_root.
//!
//! We read the effective capability set from `/proc/self/status` instead of comparing the
//! uid with 0: a process can be uid 0 without the capability (inside a container, say) and
//! hold it without being uid 0.

use crate::{Error, Result};

/// Bit number of CAP_SYS_ADMIN in the capability sets (see capabilities(7)).
pub const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability set of this process, as the kernel reports it.
pub fn effective_capabilities() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_field_hex(&status, "CapEff")
}

/// Reads a hexadecimal field such as `CapEff:\t000001ffffffffff` from a `/proc/PID/status`
/// text.
pub fn status_field_hex(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field)
            .then(|| u64::from_str_radix(value.trim(), 16).ok())
            .flatten()
    })
}

/// Whether this process holds CAP_SYS_ADMIN in its effective set.
pub fn has_cap_sys_admin() -> bool {
    effective_capabilities().is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// Fails with one sentence when the process lacks CAP_SYS_ADMIN. `tool` is the binary's
/// name, `because` says what the kernel wants it for.
pub fn require_cap_sys_admin(tool: &str, because: &str) -> Result<()> {
    if has_cap_sys_admin() {
        return Ok(());
    }
    Err(Error::Unsupported(format!(
        "root (CAP_SYS_ADMIN) is needed {because}: run {tool} with sudo (`cargo run` does that \
         for you through .cargo/runner), or in the VM (see vm/README.md)"
    )))
}

/// Explains, naming the sysctl, why this machine refuses user namespaces, if a known
/// setting does. `None` when no such setting is found.
pub fn user_namespace_restriction() -> Option<String> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Some("user namespaces are disabled on this machine (sysctl user.max_user_namespaces=0); raise it, e.g. sysctl -w user.max_user_namespaces=15000".into());
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
        == Some("1")
        && !has_cap_sys_admin()
    {
        return Some("AppArmor restricts unprivileged user namespaces here (sysctl kernel.apparmor_restrict_unprivileged_userns=1); run with sudo, or set it to 0 (the VM does)".into());
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0")
        && !has_cap_sys_admin()
    {
        return Some("unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0); run with sudo, or set it to 1".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_effective_set() {
        let status = "Name:\tsh\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(status_field_hex(status, "CapEff"), Some(0x1ff_ffff_ffff));
        assert_eq!(status_field_hex(status, "CapPrm"), None);
    }
}
