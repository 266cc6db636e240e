//! `features`: what this runtime implements, as JSON in the shape runc 1.1 prints (the
//! runtime spec's features.md), so that an engine can ask before it sends a config.

use serde_json::{json, Value};

use super::init::capability_sets;
use super::seccomp;

/// The mount options [`super::init::mounts::parse_options`] understands.
const MOUNT_OPTIONS: [&str; 39] = [
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "unbindable",
    "tmpcopyup",
];

/// The features document.
pub fn features() -> Value {
    let caps: &[&str] = &capability_sets::NAMES;
    let mount_options: &[&str] = &MOUNT_OPTIONS;
    let namespaces: Vec<&str> = super::config::NAMESPACES.iter().map(|(n, _)| *n).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": super::state::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": namespaces,
            "capabilities": caps,
            "cgroup": { "v1": true, "v2": true, "systemd": true, "systemdUser": false },
            "seccomp": {
                "enabled": super::seccomp::ENABLED,
                "actions": seccomp::ACTIONS,
                "operators": seccomp::OPERATORS,
                "archs": seccomp::KNOWN_ARCHES,
                "knownFlags": seccomp::FLAGS,
                "supportedFlags": seccomp::FLAGS
            },
            // features-linux.md: what the runtime implements, "irrelevant to the
            // availability" on the host. A profile or label is applied where the host has
            // the module on and refused where it is off (see super::init::lsm); an RDT class
            // needs resctrl mounted (see super::intel_rdt).
            "apparmor": { "enabled": true },
            "selinux": { "enabled": true },
            "intelRdt": { "enabled": true, "schemata": true, "monitoring": true },
            "netDevices": { "enabled": true }
        },
        "annotations": { "org.opencontainers.runc.version": "none: container-workbook's 08-oci-runtime" }
    })
}
