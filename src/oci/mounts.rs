//! `mounts` of config.json: each entry mounted under the new root, in order, before the
//! pivot. An entry is `{destination, type, source, options}` as in fstab, with the options
//! split into mount(2) flags, propagation changes and the filesystem's own data string.

use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;

use super::config::Mount;
use crate::{mount, Error, Result};

/// An entry's options, sorted for mount(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Flags of the mount itself (MS_RDONLY, MS_NOSUID, …).
    pub flags: MsFlags,
    /// Propagation changes applied afterwards (MS_PRIVATE, MS_SLAVE, … with MS_REC).
    pub propagation: Vec<MsFlags>,
    /// `bind` or `rbind`.
    pub bind: Option<MsFlags>,
    /// What the filesystem parses itself: `mode=755,size=65536k`.
    pub data: Vec<String>,
    /// `tmpcopyup`: a tmpfs starts with a copy of what was in the directory below it.
    pub copy_up: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            bind: None,
            data: Vec::new(),
            copy_up: false,
        }
    }
}

// ANCHOR: options
/// Sorts the options of one entry, as mount(8) reads them.
pub fn parse_options(options: &[String]) -> Result<Options> {
    let mut o = Options::default();
    for option in options {
        let (set, clear) = match option.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "bind" => {
                o.bind = Some(MsFlags::MS_BIND);
                continue;
            }
            "rbind" => {
                o.bind = Some(MsFlags::MS_BIND | MsFlags::MS_REC);
                continue;
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"
            | "unbindable" | "runbindable" => {
                o.propagation.push(propagation(option)?);
                continue;
            }
            "tmpcopyup" => {
                o.copy_up = true;
                continue;
            }
            "idmap" | "ridmap" | "remount" => {
                return Err(Error::Unsupported(format!(
                    "config.json asks for the mount option '{option}', which this runtime does not support"
                )))
            }
            data => {
                o.data.push(data.to_string());
                continue;
            }
        };
        o.flags = (o.flags | set) & !clear;
    }
    Ok(o)
}
// ANCHOR_END: options

/// The propagation flag of `private`, `rshared`, … (the `r` makes it recursive).
pub fn propagation(name: &str) -> Result<MsFlags> {
    let (rec, base) = match name.strip_prefix('r') {
        Some(rest) if !rest.is_empty() && name != "rw" => (MsFlags::MS_REC, rest),
        _ => (MsFlags::empty(), name),
    };
    let flag = match base {
        "private" => MsFlags::MS_PRIVATE,
        "shared" => MsFlags::MS_SHARED,
        "slave" => MsFlags::MS_SLAVE,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        _ => {
            return Err(Error::Invalid(format!(
                "'{name}' is no mount propagation: use private, shared, slave or unbindable, with or without r"
            )))
        }
    };
    Ok(rec | flag)
}

// ANCHOR: resolve
/// Where `path` (a path inside the container) is under `root`, following symlinks as the
/// container would see them: an absolute link target starts again at `root`, and `..`
/// never climbs above it. Joining naively would let a rootfs that holds `etc -> /etc` make
/// the runtime mount over the host's /etc (runc's CVE-2021-30465 was a race on this).
pub fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    let mut pending: Vec<std::ffi::OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            parts.pop();
            continue;
        }
        let here: PathBuf = parts.iter().collect();
        let candidate = root.join(&here).join(&part);
        match std::fs::read_link(&candidate) {
            Ok(target) => {
                links += 1;
                if links > 40 {
                    return Err(Error::Invalid(format!(
                        "too many symlinks under the root resolving {}",
                        path.display()
                    )));
                }
                if target.is_absolute() {
                    parts.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push(n.to_os_string()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            Err(_) => parts.push(part),
        }
    }
    Ok(parts.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}
// ANCHOR_END: resolve

/// [`resolve_in_root`] for all but the last component, which is joined as it is: the path
/// where something is to be *made* (a device node, a link) or looked at with lstat. Following
/// the last component would make a node at the target of whatever link the image (or the
/// runtime itself: `/dev/ptmx -> pts/ptmx`) left there.
pub fn resolve_parent_in_root(root: &Path, path: &Path) -> Result<PathBuf> {
    match (path.parent(), path.components().next_back()) {
        (Some(parent), Some(Component::Normal(name))) => {
            Ok(resolve_in_root(root, parent)?.join(name))
        }
        _ => resolve_in_root(root, path),
    }
}

/// Makes the mount point: a file when a file is bind-mounted, a directory otherwise.
fn mount_point(target: &Path, file: bool) -> Result<()> {
    if target.symlink_metadata().is_ok() {
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("creating a mount point's directory", parent, e))?;
    }
    let made = if file {
        std::fs::File::create(target).map(drop)
    } else {
        std::fs::create_dir(target)
    };
    made.map_err(|e| Error::io("creating a mount point", target, e))
}

// ANCHOR: mount_entry
/// Mounts one entry under `root`. `cgroup_dirs` are the container's own cgroup
/// directories, which a `cgroup` entry shows (see [`mount_cgroup`]).
pub fn mount_entry(root: &Path, entry: &Mount, cgroup_dirs: &[PathBuf]) -> Result<()> {
    let options = parse_options(&entry.options)?;
    let kind = entry.kind.as_deref().unwrap_or("none");
    if kind == "proc" || kind == "sysfs" {
        // An image's `proc -> /p`, followed, carries procfs to where the image chose and
        // takes the masks with it (issue 21): /proc and /sys must be plain directories, as
        // runc requires.
        let at = resolve_parent_in_root(root, &entry.destination)?;
        if let Ok(meta) = at.symlink_metadata() {
            if !meta.is_dir() {
                let name = entry.destination.to_string_lossy();
                return Err(crate::rootfs::not_a_plain_directory(
                    name.trim_start_matches('/'),
                    &at,
                    meta.file_type().is_symlink(),
                ));
            }
        }
    }
    let target = resolve_in_root(root, &entry.destination)?;
    let data = options.data.join(",");
    let data = (!data.is_empty()).then_some(data.as_str());
    if let Some(bind) = options
        .bind
        .or((kind == "bind").then_some(MsFlags::MS_BIND))
    {
        let source = entry.source.as_deref().ok_or_else(|| {
            Error::Invalid(format!(
                "the bind mount on {} has no source",
                entry.destination.display()
            ))
        })?;
        mount_point(&target, !source.is_dir())?;
        nix::mount::mount(Some(source), &target, None::<&str>, bind, None::<&str>)
            .map_err(|e| {
                Error::sys_path(
                    "mount",
                    format!("bind-mounting {}", source.display()),
                    &target,
                    e,
                )
            })?;
        // A bind mount ignores the other flags until it is remounted with them.
        let rest = options.flags & !MsFlags::MS_REC;
        if !rest.is_empty() {
            nix::mount::mount(
                None::<&str>,
                &target,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest,
                None::<&str>,
            )
            .map_err(|e| {
                Error::sys_path(
                    "mount",
                    "remounting a bind mount with its options",
                    &target,
                    e,
                )
            })?;
        }
    } else if kind == "cgroup" {
        mount_point(&target, false)?;
        mount_cgroup(&target, cgroup_dirs, options.flags)?;
    } else {
        mount_point(&target, false)?;
        // tmpcopyup: hold the directory below before the tmpfs hides it, copy it up after.
        let below = match options.copy_up && kind == "tmpfs" {
            true => Some(
                std::fs::File::open(&target)
                    .map_err(|e| Error::io("opening a directory to copy up", &target, e))?,
            ),
            false => None,
        };
        let source = entry.source.clone().unwrap_or_else(|| PathBuf::from(kind));
        nix::mount::mount(Some(&source), &target, Some(kind), options.flags, data)
            .map_err(|e| {
                Error::sys_path("mount", format!("mounting {kind}"), &target, e)
            })?;
        if let Some(below) = below {
            use std::os::fd::AsRawFd;
            let from = PathBuf::from(format!("/proc/self/fd/{}", below.as_raw_fd()));
            copy_tree(&from, &target)?;
        }
    }
    for flag in &options.propagation {
        nix::mount::mount(None::<&str>, &target, None::<&str>, *flag, None::<&str>)
            .map_err(|e| {
                Error::sys_path("mount", "changing the propagation", &target, e)
            })?;
    }
    Ok(())
}
// ANCHOR_END: mount_entry

/// Copies the tree `from` into the directory `to`: files, directories and symlinks, with
/// their modes and owners (podman's `--read-only` asks for it on /tmp, /run, /var/tmp).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let entries = std::fs::read_dir(from)
        .map_err(|e| Error::io("reading a directory to copy up", from, e))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::io("reading a directory to copy up", from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = src
            .symlink_metadata()
            .map_err(|e| Error::io("copying up", &src, e))?;
        if meta.file_type().is_symlink() {
            let target =
                std::fs::read_link(&src).map_err(|e| Error::io("copying up", &src, e))?;
            std::os::unix::fs::symlink(target, &dst)
                .map_err(|e| Error::io("copying up", &dst, e))?;
        } else if meta.is_dir() {
            std::fs::create_dir(&dst).map_err(|e| Error::io("copying up", &dst, e))?;
            copy_tree(&src, &dst)?;
        } else if meta.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| Error::io("copying up", &dst, e))?;
        } else {
            continue;
        }
        if !meta.file_type().is_symlink() {
            std::fs::set_permissions(
                &dst,
                std::fs::Permissions::from_mode(meta.mode() & 0o7777),
            )
            .map_err(|e| Error::io("copying up", &dst, e))?;
        }
        let _ = std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid()));
    }
    Ok(())
}

/// A `cgroup` entry: the container's own cgroup directories, one per hierarchy, bound
/// under a small tmpfs (v1) or directly (v2), so the container reads its limits and not the
/// host's tree. `flags` is usually `ro,nosuid,nodev,noexec`.
fn mount_cgroup(target: &Path, dirs: &[PathBuf], flags: MsFlags) -> Result<()> {
    let ro = flags.contains(MsFlags::MS_RDONLY);
    let remount = |at: &Path| -> Result<()> {
        let f = MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | (flags & !MsFlags::MS_RDONLY)
            | if ro {
                MsFlags::MS_RDONLY
            } else {
                MsFlags::empty()
            };
        nix::mount::mount(None::<&str>, at, None::<&str>, f, None::<&str>)
            .map_err(|e| Error::sys_path("mount", "remounting the cgroup view", at, e))
    };
    match dirs {
        [one] if is_cgroup2(one) => {
            mount::bind(one, target)?;
            remount(target)
        }
        _ => {
            mount::filesystem(
                "tmpfs",
                target,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("mode=755,size=64k"),
            )?;
            for dir in dirs {
                // /sys/fs/cgroup/<hierarchy>/<path…>: the hierarchy's mount name.
                let Some(name) = hierarchy_name(dir) else {
                    continue;
                };
                let point = target.join(&name);
                mount_point(&point, false)?;
                mount::bind(dir, &point)?;
                remount(&point)?;
                // `cpu,cpuacct` is also reached as `cpu` and `cpuacct`, as on the host.
                for part in name.split(',').filter(|_| name.contains(',')) {
                    let link = target.join(part);
                    if link.symlink_metadata().is_err() {
                        std::os::unix::fs::symlink(&name, &link).map_err(|e| {
                            Error::io("linking a cgroup hierarchy", &link, e)
                        })?;
                    }
                }
            }
            if ro {
                mount::remount_read_only(
                    target,
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                )?;
            }
            Ok(())
        }
    }
}

fn is_cgroup2(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .map(|s| s.filesystem_type().0 == crate::cgroup::layout::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// The hierarchy's directory name: `memory` of `/sys/fs/cgroup/memory/libpod_parent/x`,
/// `cpu,cpuacct` of `/sys/fs/cgroup/cpu,cpuacct/…`.
fn hierarchy_name(dir: &Path) -> Option<String> {
    let rest = dir.strip_prefix(crate::cgroup::layout::CGROUP_ROOT).ok()?;
    rest.components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_propagation_and_data() {
        let o = parse_options(&[
            "nosuid".into(),
            "ro".into(),
            "mode=755".into(),
            "rprivate".into(),
            "rbind".into(),
        ])
        .unwrap();
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY);
        assert_eq!(o.propagation, vec![MsFlags::MS_REC | MsFlags::MS_PRIVATE]);
        assert_eq!(o.bind, Some(MsFlags::MS_BIND | MsFlags::MS_REC));
        assert_eq!(o.data, vec!["mode=755".to_string()]);
        assert!(parse_options(&["tmpcopyup".into()]).unwrap().copy_up);
        assert!(parse_options(&["idmap".into()]).is_err());
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../etc", root.join("climb")).unwrap();
        assert_eq!(
            resolve_in_root(root, Path::new("/abs/x")).unwrap(),
            root.join("real/x")
        );
        assert_eq!(
            resolve_in_root(root, Path::new("/climb/passwd")).unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(
            resolve_in_root(root, Path::new("/../../x")).unwrap(),
            root.join("x")
        );
    }
}
