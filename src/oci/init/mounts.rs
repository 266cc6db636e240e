//! `mounts` of config.json: each entry mounted under the new root, in order, before the
//! pivot. An entry is `{destination, type, source, options}` as in fstab, with the options
//! split into mount(2) flags, propagation changes and the filesystem's own data string.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat, readlinkat, AtFlags, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::{fstat, fstatat, mkdirat, Mode};

use crate::oci::config::Mount;
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
            "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
            "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
            "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
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

/// What [`open_in_root`] makes where the path ends and nothing is there yet (the
/// directories on the way are made in any case but [`Make::Nothing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Make {
    Nothing,
    Dir,
    File,
}

/// An `O_PATH` fd of what `path` (a path inside the container) names under `root`,
/// following symlinks as the container would see them: an absolute link target starts
/// again at the root, and `..` never climbs above it. Joining naively
/// (`root.join("proc/kcore")`) follows the image's links as the *host* sees them: a rootfs
/// with `etc -> /etc` would make the runtime mount over the host's /etc (issue 21).
///
/// The walk goes one component at a time from an fd of the root: each component is opened
/// with `O_NOFOLLOW`, a link is read from its own fd and resolved by hand, `..` drops the
/// last fd. No name is looked up from `/` again, so a link swapped in after a check has
/// nothing to race (runc's CVE-2021-30465; openat2's `RESOLVE_IN_ROOT`, by hand, for any
/// kernel). Mount onto the fd through [`fd_path`].
pub fn open_in_root(root: &Path, path: &Path, make: Make) -> Result<OwnedFd> {
    let fail = |call, e| {
        let what = format!("resolving {} inside the root", path.display());
        Error::sys_path(call, what, root, e)
    };
    let root_fd = open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail("open", e))?;
    let mut dirs: Vec<OwnedFd> = Vec::new();
    let mut pending = components_reversed(path);
    let (mut links, mut steps) = (0, 0);
    while let Some(part) = pending.pop() {
        steps += 1;
        if part == ".." {
            dirs.pop();
            continue;
        }
        let cur = dirs.last().unwrap_or(&root_fd);
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(cur, part.as_os_str(), flags, Mode::empty()) {
            Ok(fd) => {
                let kind = fstat(&fd).map_err(|e| fail("fstat", e))?.st_mode & libc::S_IFMT;
                if kind == libc::S_IFLNK {
                    links += 1;
                    if links > 40 {
                        return Err(fail("openat", Errno::ELOOP));
                    }
                    let target = readlinkat(&fd, "").map_err(|e| fail("readlinkat", e))?;
                    if Path::new(&target).is_absolute() {
                        dirs.clear();
                    }
                    pending.extend(components_reversed(Path::new(&target)));
                } else if kind != libc::S_IFDIR && !pending.is_empty() {
                    return Err(fail("openat", Errno::ENOTDIR));
                } else {
                    dirs.push(fd);
                }
            }
            Err(Errno::ENOENT) if make != Make::Nothing && steps < 4096 => {
                let file = pending.is_empty() && make == Make::File;
                let made = if file {
                    // Not O_PATH, which would ignore O_CREAT.
                    let create = OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC;
                    openat(
                        cur,
                        part.as_os_str(),
                        create,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map(drop)
                } else {
                    mkdirat(cur, part.as_os_str(), Mode::from_bits_truncate(0o755))
                };
                match made {
                    Ok(()) | Err(Errno::EEXIST) => pending.push(part),
                    Err(e) => return Err(fail(if file { "openat" } else { "mkdirat" }, e)),
                }
            }
            Err(e) => return Err(fail("openat", e)),
        }
    }
    Ok(dirs.pop().unwrap_or(root_fd))
}

/// The path through which the kernel reaches what `fd` holds: mount(2) and open(2) on it
/// act on that very object, wherever its name now leads.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The error of a syscall on an [`fd_path`], naming the place as the user wrote it.
fn named(error: Error, shown: &Path) -> Error {
    match error {
        Error::Sys {
            call, what, errno, ..
        } => Error::Sys {
            call,
            what,
            path: Some(shown.to_path_buf()),
            errno,
        },
        other => other,
    }
}

/// The normal and `..` components of `path`, last first (a stack to pop).
fn components_reversed(path: &Path) -> Vec<std::ffi::OsString> {
    path.components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// Mounts one entry under `root`. `cgroup_dirs` are the container's own cgroup
/// directories, which a `cgroup` entry shows (see `mount_cgroup`).
pub fn mount_entry(root: &Path, entry: &Mount, cgroup_dirs: &[PathBuf]) -> Result<()> {
    let options = parse_options(&entry.options)?;
    let kind = entry.kind.as_deref().unwrap_or("none");
    if kind == "proc" || kind == "sysfs" {
        // An image's `proc -> /p`, followed, carries procfs to where the image chose and
        // takes the masks with it (issue 21): /proc and /sys must be plain directories, as
        // runc requires.
        let dest = &entry.destination;
        if let (Some(parent), Some(Component::Normal(name))) =
            (dest.parent(), dest.components().next_back())
        {
            let dir = open_in_root(root, parent, Make::Nothing)?;
            if let Ok(st) = fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                    let at = fd_path(&dir).join(name);
                    let shown = dest.to_string_lossy();
                    return Err(crate::rootfs::not_a_plain_directory(
                        shown.trim_start_matches('/'),
                        &at,
                        st.st_mode & libc::S_IFMT == libc::S_IFLNK,
                    ));
                }
            }
        }
    }
    let dest = &entry.destination;
    // Each step opens the destination again: after a mount, the name leads to the new
    // mount's root, while an fd opened before still holds the directory below it.
    let at = |make| open_in_root(root, dest, make);
    let shown = root.join(dest.strip_prefix("/").unwrap_or(dest));
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
        let point = at(if source.is_dir() {
            Make::Dir
        } else {
            Make::File
        })?;
        nix::mount::mount(
            Some(source),
            &fd_path(&point),
            None::<&str>,
            bind,
            None::<&str>,
        )
        .map_err(|e| {
            Error::sys_path(
                "mount",
                format!("bind-mounting {}", source.display()),
                &shown,
                e,
            )
        })?;
        // A bind mount ignores the other flags until it is remounted with them.
        let rest = options.flags & !MsFlags::MS_REC;
        if !rest.is_empty() {
            nix::mount::mount(
                None::<&str>,
                &fd_path(&at(Make::Nothing)?),
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | rest,
                None::<&str>,
            )
            .map_err(|e| {
                Error::sys_path(
                    "mount",
                    "remounting a bind mount with its options",
                    &shown,
                    e,
                )
            })?;
        }
    } else if kind == "cgroup" {
        mount_cgroup(&at, &shown, cgroup_dirs, options.flags)?;
    } else {
        let point = at(Make::Dir)?;
        // tmpcopyup: hold the directory below before the tmpfs hides it, copy it up after.
        let below = match options.copy_up && kind == "tmpfs" {
            true => Some(
                std::fs::File::open(fd_path(&point))
                    .map_err(|e| Error::io("opening a directory to copy up", &shown, e))?,
            ),
            false => None,
        };
        let source = entry.source.clone().unwrap_or_else(|| PathBuf::from(kind));
        nix::mount::mount(
            Some(&source),
            &fd_path(&point),
            Some(kind),
            options.flags,
            data,
        )
        .map_err(|e| Error::sys_path("mount", format!("mounting {kind}"), &shown, e))?;
        if let Some(below) = below {
            let from = PathBuf::from(format!("/proc/self/fd/{}", below.as_raw_fd()));
            copy_tree(&from, &fd_path(&at(Make::Nothing)?))?;
        }
    }
    for flag in &options.propagation {
        let top = at(Make::Nothing)?;
        nix::mount::mount(
            None::<&str>,
            &fd_path(&top),
            None::<&str>,
            *flag,
            None::<&str>,
        )
        .map_err(|e| Error::sys_path("mount", "changing the propagation", &shown, e))?;
    }
    Ok(())
}

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
fn mount_cgroup(
    at: &dyn Fn(Make) -> Result<OwnedFd>,
    shown: &Path,
    dirs: &[PathBuf],
    flags: MsFlags,
) -> Result<()> {
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
            mount::bind(one, &fd_path(&at(Make::Dir)?)).map_err(|e| named(e, shown))?;
            remount(&fd_path(&at(Make::Nothing)?)).map_err(|e| named(e, shown))
        }
        _ => {
            mount::filesystem(
                "tmpfs",
                &fd_path(&at(Make::Dir)?),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("mode=755,size=64k"),
            )
            .map_err(|e| named(e, shown))?;
            // The fresh tmpfs is the runtime's own: below it, plain paths are safe.
            let top = at(Make::Nothing)?;
            let target = &fd_path(&top);
            for dir in dirs {
                // /sys/fs/cgroup/<hierarchy>/<path…>: the hierarchy's mount name.
                let Some(name) = hierarchy_name(dir) else {
                    continue;
                };
                let point = target.join(&name);
                std::fs::create_dir(&point)
                    .map_err(|e| Error::io("creating a mount point", &point, e))?;
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
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("real/x")).unwrap();
        std::fs::create_dir_all(root.join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../etc", root.join("climb")).unwrap();
        let same = |inside: &str, want: &Path| {
            let fd = open_in_root(root, Path::new(inside), Make::Nothing).unwrap();
            let got = fstat(&fd).unwrap();
            let want = std::fs::metadata(want).unwrap();
            assert_eq!(
                (got.st_dev, got.st_ino),
                (want.dev(), want.ino()),
                "{inside}"
            );
        };
        same("/abs/x", &root.join("real/x"));
        same("/climb/passwd", &root.join("etc/passwd"));
        same("/../../real", &root.join("real"));
        // Made on the way, inside the root: never at the link's target on the host.
        open_in_root(root, Path::new("/abs/new/deeper"), Make::File).unwrap();
        assert!(root.join("real/new/deeper").is_file());
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(open_in_root(root, Path::new("/loop/x"), Make::Dir).is_err());
    }
}
