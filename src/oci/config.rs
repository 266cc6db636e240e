//! `config.json`, the bundle's description of the container (the OCI runtime spec's
//! config.md and config-linux.md), parsed once into types.
//!
//! The spec lets a runtime ignore what it does not know; this one refuses it instead, by
//! name: a container that silently lacks the limit or the mount its engine asked for is
//! worse than one that does not start. Every struct denies unknown fields, and
//! [`Spec::check`] refuses the known fields whose values this runtime cannot honour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// The whole config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub oci_version: String,
    pub process: Option<Process>,
    pub root: Option<Root>,
    pub hostname: Option<String>,
    /// The NIS domain name, set in the container's UTS namespace (see [`super::init::uts`]).
    pub domainname: Option<String>,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    #[serde(default)]
    pub hooks: Hooks,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub linux: Option<Linux>,
}

/// The program to run and the identity it runs with. `exec --process` reads the same.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    pub console_size: Option<ConsoleSize>,
    pub user: User,
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    pub cwd: String,
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub apparmor_profile: Option<String>,
    pub selinux_label: Option<String>,
    /// personality(2), ioprio_set(2), sched_setattr(2): see [`super::init::process_attrs`].
    pub personality: Option<super::init::process_attrs::Personality>,
    pub io_priority: Option<super::init::process_attrs::IoPriority>,
    pub scheduler: Option<super::init::process_attrs::Scheduler>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
}

/// The five capability sets, by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub bounding: Vec<String>,
    #[serde(default)]
    pub effective: Vec<String>,
    #[serde(default)]
    pub inheritable: Vec<String>,
    #[serde(default)]
    pub permitted: Vec<String>,
    #[serde(default)]
    pub ambient: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    pub path: PathBuf,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    pub destination: PathBuf,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<PathBuf>,
    #[serde(default)]
    pub options: Vec<String>,
}

/// Programs the runtime runs at points of the container's life, with its state on stdin.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Hooks {
    /// Deprecated by the spec, still sent by some engines: run with createRuntime.
    #[serde(default)]
    pub prestart: Vec<Hook>,
    #[serde(default)]
    pub create_runtime: Vec<Hook>,
    #[serde(default)]
    pub create_container: Vec<Hook>,
    #[serde(default)]
    pub start_container: Vec<Hook>,
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// Each hook's path is absolute and its timeout, when set, above zero (config.md).
    pub fn check(&self) -> Result<()> {
        let stages = [
            ("prestart", &self.prestart),
            ("createRuntime", &self.create_runtime),
            ("createContainer", &self.create_container),
            ("startContainer", &self.start_container),
            ("poststart", &self.poststart),
            ("poststop", &self.poststop),
        ];
        for (stage, hooks) in stages {
            for hook in hooks {
                if !hook.path.is_absolute() {
                    return Err(Error::Invalid(format!(
                        "the {stage} hook {} must be given by an absolute path",
                        hook.path.display()
                    )));
                }
                if hook.timeout.is_some_and(|t| t <= 0) {
                    return Err(Error::Invalid(format!(
                        "the {stage} hook {} has a timeout of {} s: a timeout must be above zero (leave it out for none)",
                        hook.path.display(),
                        hook.timeout.unwrap_or(0)
                    )));
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    pub path: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    pub timeout: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Linux {
    #[serde(default)]
    pub namespaces: Vec<NamespaceEntry>,
    #[serde(default)]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default)]
    pub gid_mappings: Vec<IdMapping>,
    #[serde(default)]
    pub devices: Vec<Device>,
    pub resources: Option<Resources>,
    pub cgroups_path: Option<PathBuf>,
    #[serde(default)]
    pub masked_paths: Vec<String>,
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    pub rootfs_propagation: Option<String>,
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
    pub seccomp: Option<serde_json::Value>,
    pub mount_label: Option<String>,
    /// The clocks of a time namespace of its own: see [`super::time_namespace`].
    #[serde(default)]
    pub time_offsets: super::time_namespace::Offsets,
    /// The container's class of Intel RDT: see [`super::intel_rdt`].
    pub intel_rdt: Option<super::intel_rdt::IntelRdt>,
    /// Host devices moved into the container: see [`super::net_devices`].
    #[serde(default)]
    pub net_devices: super::net_devices::NetDevices,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdMapping {
    #[serde(rename = "containerID")]
    pub container_id: u32,
    #[serde(rename = "hostID")]
    pub host_id: u32,
    pub size: u32,
}

/// A device node to make in the container's /dev.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Device {
    pub path: PathBuf,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    #[serde(default)]
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
    #[serde(rename = "blockIO")]
    pub block_io: Option<BlockIo>,
    #[serde(default)]
    pub hugepage_limits: Vec<HugepageLimit>,
    /// Accepted only empty (engines send `{}`); anything in it is refused.
    #[serde(default)]
    pub unified: BTreeMap<String, String>,
}

/// `linux.resources.blockIO`: I/O weights and throttles, per cgroup or per device.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlockIo {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    #[serde(default)]
    pub weight_device: Vec<WeightDevice>,
    #[serde(default)]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    #[serde(default)]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    #[serde(default, rename = "throttleReadIOPSDevice")]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    #[serde(default, rename = "throttleWriteIOPSDevice")]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

/// The weight of one block device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
}

/// A rate limit (bytes or operations per second) on one block device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

/// The most memory of one huge page size the cgroup may use (`pageSize` as the kernel
/// names it in the hugetlb files: `2MB`, `1GB`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HugepageLimit {
    pub page_size: String,
    pub limit: u64,
}

/// One rule of the device cgroup.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Memory {
    pub limit: Option<i64>,
    pub swap: Option<i64>,
    pub reservation: Option<i64>,
    /// `-1` (what Docker sent for "unset") is taken as unset, as runc does.
    pub swappiness: Option<i64>,
    pub kernel: Option<i64>,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: Option<i64>,
    #[serde(rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pids {
    pub limit: i64,
}

/// serde's "unknown field `x`, expected one of `a`, `b`, … at line L column C" without the
/// list: the field named and where it is.
fn refusal(file: &Path, error: serde_json::Error) -> Error {
    let text = error.to_string();
    let text = match (text.find(", expected"), text.rfind(" at line")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &text[..a], &text[b..]),
        _ => text,
    };
    if text.starts_with("unknown field") {
        Error::Unsupported(format!(
            "{}: {text} is not supported by this runtime, which refuses it rather than ignore it",
            file.display()
        ))
    } else {
        Error::Invalid(format!(
            "{} is not a valid OCI config: {text}",
            file.display()
        ))
    }
}

impl Spec {
    /// Reads and checks `<bundle>/config.json`.
    pub fn load(bundle: &Path) -> Result<Spec> {
        let file = bundle.join("config.json");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::io("reading the bundle's config", &file, e))?;
        let spec: Spec = serde_json::from_str(&text).map_err(|e| refusal(&file, e))?;
        spec.check()?;
        Ok(spec)
    }

    /// The process, which `create` needs.
    pub fn process(&self) -> Result<&Process> {
        self.process.as_ref().ok_or_else(|| {
            Error::Invalid("config.json has no process: there is nothing to run".into())
        })
    }

    /// Refuses, by name, the values this runtime would otherwise have to ignore.
    pub fn check(&self) -> Result<()> {
        let refuse = |what: &str, why: &str| {
            Err(Error::Unsupported(format!(
                "config.json asks for {what}, which this runtime does not support ({why})"
            )))
        };
        if !self.oci_version.starts_with("1.") {
            return refuse(
                &format!("ociVersion {}", self.oci_version),
                "it speaks version 1 of the spec",
            );
        }
        if let Some(p) = &self.process {
            p.check()?;
        }
        for mount in &self.mounts {
            if !mount.destination.is_absolute() {
                return Err(Error::Invalid(format!(
                    "config.json mounts something on {}: a mount's destination must be an absolute path in the container",
                    mount.destination.display()
                )));
            }
        }
        self.hooks.check()?;
        if self.root.is_none() {
            return Err(Error::Invalid(
                "config.json has no root: give root.path".into(),
            ));
        }
        let linux = self.linux.clone().unwrap_or_default();
        linux.check_namespaces()?;
        if linux.mount_label.as_deref().is_some_and(|l| !l.is_empty()) {
            return refuse("linux.mountLabel", "SELinux labels are not implemented");
        }
        if let Some(r) = &linux.resources {
            if !r.unified.is_empty() {
                return refuse(
                    "linux.resources.unified",
                    "raw cgroup v2 files are not written",
                );
            }
            if let Some(m) = &r.memory {
                if m.kernel.is_some() || m.kernel_tcp.is_some() {
                    return refuse(
                        "linux.resources.memory.kernel/kernelTCP",
                        "kernel memory limits are deprecated and not implemented",
                    );
                }
            }
            if let Some(c) = &r.cpu {
                if c.realtime_runtime.is_some_and(|v| v != 0)
                    || c.realtime_period.is_some_and(|v| v != 0)
                {
                    return refuse(
                        "linux.resources.cpu.realtimeRuntime",
                        "real-time scheduling groups are not implemented",
                    );
                }
            }
        }
        for key in linux.sysctl.keys() {
            linux.check_sysctl(key)?;
        }
        self.check_uts(&linux)?;
        let time = linux.namespaces.iter().find(|n| n.kind == "time");
        let time = time.map(|n| n.path.as_deref().filter(|p| !p.as_os_str().is_empty()));
        super::time_namespace::check(&linux.time_offsets, time)?;
        if let Some(rdt) = super::intel_rdt::IntelRdt::asked(linux.intel_rdt.as_ref()) {
            rdt.check()?;
            // config-linux.md: without resctrl mounted, the runtime MUST generate an error.
            super::intel_rdt::host_resctrl()?;
        }
        let net = linux.namespaces.iter().find(|n| n.kind == "network");
        let new_net = net
            .is_some_and(|n| n.path.as_deref().map_or(true, |p| p.as_os_str().is_empty()));
        super::net_devices::check(&linux.net_devices, new_net)?;
        // linux.seccomp is compiled (and refused when it cannot be) by `create`, once.
        Ok(())
    }
}

impl Spec {
    /// The hostname and the domainname need a UTS namespace of the container's own, new
    /// or joined by path (as runc's validator asks), and never the runtime's own: the
    /// host's, where every process on the machine would see the change.
    fn check_uts(&self, linux: &Linux) -> Result<()> {
        let uts = linux.namespaces.iter().find(|n| n.kind == "uts");
        let joined = uts
            .and_then(|n| n.path.as_deref())
            .filter(|p| !p.as_os_str().is_empty());
        let asked = |f: &Option<String>| f.as_deref().is_some_and(|s| !s.is_empty());
        for (field, set) in [
            ("hostname", asked(&self.hostname)),
            ("domainname", asked(&self.domainname)),
        ] {
            if !set {
                continue;
            }
            if uts.is_none() {
                return Err(Error::Invalid(format!(
                    "config.json sets a {field} without a uts namespace of its own: add {{\"type\": \"uts\"}} to linux.namespaces"
                )));
            }
            if let Some(path) = joined.filter(|p| is_the_runtimes_namespace("uts", p)) {
                return Err(Error::Invalid(format!(
                    "config.json sets a {field}, but linux.namespaces joins {}, the host's uts namespace, so it would change the host's",
                    path.display()
                )));
            }
        }
        if let Some(name) = self.domainname.as_deref() {
            if name.len() > 64 || name.contains('\0') {
                return Err(Error::Invalid(format!(
                    "config.json's domainname {name:?} is longer than the kernel's 64 bytes or holds a NUL"
                )));
            }
        }
        Ok(())
    }
}

/// The namespace (by the spec's name) that holds the sysctl `key`, or `None` when the
/// kernel keeps it for the whole machine: runc's list. The kernel shows these in
/// /proc/sys per namespace of the process that opens the file.
pub fn sysctl_namespace(key: &str) -> Option<&'static str> {
    let key = key.replace('/', ".");
    if key.starts_with("kernel.msg")
        || key == "kernel.sem"
        || key.starts_with("kernel.shm")
        || key.starts_with("fs.mqueue.")
    {
        Some("ipc")
    } else if key.starts_with("net.") {
        Some("network")
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some("uts")
    } else {
        None
    }
}

/// The file of sysctl `key` under /proc/sys: `net.ipv4.ip_forward` or, for names with
/// dots (`eth0.100`), `net/ipv4/conf/eth0.100/forwarding`. No component may be empty, `.`
/// or `..`.
pub fn sysctl_file(key: &str) -> Result<PathBuf> {
    let parts: Vec<&str> = if key.contains('/') {
        key.split('/').collect()
    } else {
        key.split('.').collect()
    };
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(Error::Invalid(format!(
            "linux.sysctl has the key '{key}', which names no sysctl: use the dotted name, e.g. net.ipv4.ip_forward"
        )));
    }
    Ok(parts
        .iter()
        .fold(PathBuf::from("/proc/sys"), |p, c| p.join(c)))
}

/// The namespaces of `linux.namespaces` this runtime makes or joins, by the spec's names,
/// with the clone(2) flag the kernel reports for each (ioctl NS_GET_NSTYPE).
pub const NAMESPACES: [(&str, libc::c_int); 8] = [
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("ipc", libc::CLONE_NEWIPC),
    ("mount", libc::CLONE_NEWNS),
    ("network", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("time", libc::CLONE_NEWTIME),
    ("user", libc::CLONE_NEWUSER),
    ("uts", libc::CLONE_NEWUTS),
];

/// ioctl(2) on a namespace file: which kind of namespace it is (linux/nsfs.h).
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// The kind (a CLONE_NEW* flag) of the namespace file `path`.
fn namespace_type(path: &Path) -> Result<libc::c_int> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io("opening the namespace file", path, e))?;
    // SAFETY: NS_GET_NSTYPE takes no argument and only returns a value.
    let kind = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) };
    if kind < 0 {
        return Err(Error::Invalid(format!(
            "{} is not a namespace file (ioctl NS_GET_NSTYPE: {}): give /proc/PID/ns/KIND or a bind mount of one",
            path.display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(kind)
}

impl Linux {
    /// `linux.namespaces`: each a kind this runtime knows, none twice, and a `path` that is
    /// a namespace of that kind (setns(2) with no type given would join any kind).
    pub fn check_namespaces(&self) -> Result<()> {
        for (i, entry) in self.namespaces.iter().enumerate() {
            let Some(&(_, flag)) = NAMESPACES.iter().find(|(name, _)| *name == entry.kind)
            else {
                return Err(Error::Unsupported(format!(
                    "config.json asks for a namespace of type '{}', which this runtime does not support",
                    entry.kind
                )));
            };
            if self.namespaces[..i].iter().any(|e| e.kind == entry.kind) {
                return Err(Error::Invalid(format!(
                    "linux.namespaces lists the {} namespace twice: give each type once",
                    entry.kind
                )));
            }
            let Some(path) = entry.path.as_deref().filter(|p| !p.as_os_str().is_empty())
            else {
                continue;
            };
            if !path.is_absolute() {
                return Err(Error::Invalid(format!(
                    "linux.namespaces gives the {} namespace the path {}, which must be absolute",
                    entry.kind,
                    path.display()
                )));
            }
            let found = namespace_type(path)?;
            if found != flag {
                let kind = NAMESPACES
                    .iter()
                    .find(|(_, f)| *f == found)
                    .map_or("another kind of", |(name, _)| name);
                return Err(Error::Invalid(format!(
                    "linux.namespaces gives the {} namespace the path {}, which is {kind} namespace: give a {} namespace's file",
                    entry.kind,
                    path.display(),
                    entry.kind
                )));
            }
        }
        Ok(())
    }

    /// A sysctl is set only in a namespace the container has of its own: any other is the
    /// host's, and a container could change the whole machine with it (issue 21:
    /// `kernel.core_pattern` set to `|/payload` runs the payload as root on the host).
    fn check_sysctl(&self, key: &str) -> Result<()> {
        sysctl_file(key)?;
        let Some(kind) = sysctl_namespace(key) else {
            return Err(Error::Invalid(format!(
                "linux.sysctl sets {key}, which is not namespaced: the kernel keeps it for the whole machine, so only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* (with an ipc namespace), net.* (with a network namespace), kernel.hostname and kernel.domainname (with a uts namespace) may be set"
            )));
        };
        let entry = self.namespaces.iter().find(|n| n.kind == kind);
        match entry.and_then(|e| e.path.as_deref()).filter(|p| !p.as_os_str().is_empty()) {
            None if entry.is_some() => Ok(()),
            None => Err(Error::Invalid(format!(
                "linux.sysctl sets {key}, but the container has no {kind} namespace of its own, so it would change the host's: add {{\"type\": \"{kind}\"}} to linux.namespaces"
            ))),
            Some(path) if is_the_runtimes_namespace(kind, path) => Err(Error::Invalid(format!(
                "linux.sysctl sets {key}, but linux.namespaces joins {}, the host's {kind} namespace, so it would change the host's",
                path.display()
            ))),
            Some(_) => Ok(()),
        }
    }
}

/// Whether the namespace file `path` is the one this runtime runs in (the host's).
fn is_the_runtimes_namespace(kind: &str, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let own = match kind {
        "network" => "net",
        other => other,
    };
    let id = |p: &Path| std::fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
    let own = id(&Path::new("/proc/self/ns").join(own));
    own.is_some() && own == id(path)
}

impl Process {
    /// Refuses what the process asks for and this runtime cannot do.
    pub fn check(&self) -> Result<()> {
        if self.args.is_empty() {
            return Err(Error::Invalid(
                "process.args is empty: there is nothing to run".into(),
            ));
        }
        if !self.cwd.starts_with('/') {
            return Err(Error::Invalid(format!(
                "process.cwd is '{}': it must be an absolute path in the container",
                self.cwd
            )));
        }
        for (i, rlimit) in self.rlimits.iter().enumerate() {
            if self.rlimits[..i].iter().any(|r| r.kind == rlimit.kind) {
                return Err(Error::Invalid(format!(
                    "process.rlimits sets {} twice: give each type once",
                    rlimit.kind
                )));
            }
        }
        super::init::lsm::check(self.labels())?;
        super::init::process_attrs::check(self.attrs())
    }

    /// `apparmorProfile` and `selinuxLabel`, for [`super::init::lsm`].
    pub fn labels(&self) -> super::init::lsm::Labels<'_> {
        super::init::lsm::Labels {
            apparmor_profile: self.apparmor_profile.as_deref(),
            selinux_label: self.selinux_label.as_deref(),
        }
    }

    /// `personality`, `ioPriority` and `scheduler`, for [`super::init::process_attrs`].
    pub fn attrs(&self) -> super::init::process_attrs::Attrs<'_> {
        super::init::process_attrs::Attrs {
            personality: self.personality.as_ref(),
            io_priority: self.io_priority.as_ref(),
            scheduler: self.scheduler.as_ref(),
        }
    }

    /// Parses a `process.json` given to `exec --process`.
    pub fn load(file: &Path) -> Result<Process> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::io("reading the process description", file, e))?;
        let process: Process = serde_json::from_str(&text).map_err(|e| refusal(file, e))?;
        process.check()?;
        Ok(process)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux(namespaces: &[(&str, Option<&str>)]) -> Linux {
        Linux {
            namespaces: namespaces
                .iter()
                .map(|(kind, path)| NamespaceEntry {
                    kind: kind.to_string(),
                    path: path.map(PathBuf::from),
                })
                .collect(),
            ..Linux::default()
        }
    }

    #[test]
    fn only_sysctls_of_the_containers_own_namespaces_are_accepted() {
        let own = linux(&[("ipc", None), ("network", None), ("uts", None)]);
        for key in [
            "kernel.shmmax",
            "kernel.msgmnb",
            "kernel.sem",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
            "net/ipv4/conf/eth0.100/forwarding",
            "kernel.hostname",
        ] {
            assert!(own.check_sysctl(key).is_ok(), "{key}");
        }
        for key in [
            "kernel.core_pattern",
            "kernel.printk_ratelimit_burst",
            "vm.drop_caches",
            "kernel.shm/../../core_pattern",
            "net..x",
        ] {
            assert!(own.check_sysctl(key).is_err(), "{key}");
        }
        let none = linux(&[("mount", None)]);
        let err = none
            .check_sysctl("net.ipv4.ip_forward")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no network namespace of its own"), "{err}");
        let host = linux(&[("ipc", Some("/proc/self/ns/ipc"))]);
        let err = host.check_sysctl("kernel.shmmax").unwrap_err().to_string();
        assert!(err.contains("the host's ipc namespace"), "{err}");
    }

    #[test]
    fn a_sysctl_names_its_file_under_proc_sys() {
        assert_eq!(
            sysctl_file("net.ipv4.ip_forward").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            sysctl_file("net/ipv4/conf/eth0.100/forwarding").unwrap(),
            Path::new("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
        assert!(sysctl_file("kernel.").is_err());
    }
}
