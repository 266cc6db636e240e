//! Where a running container keeps its files on the host, and how a killed run is found
//! later.
//!
//! Two places, as engines have them: small runtime state on `/run` (a tmpfs on most
//! systems, emptied at boot), and the writable layer on disk. The writable layer must not
//! live on a tmpfs: every byte a container writes there is host memory, so one `dd` in a
//! container could fill the host's RAM (and a reboot would lose it anyway).
//!
//! `<state root>/containers/<name>/` (`/run/workbook`; see [`state_root`]):
//!
//! ```text
//! owner      "<pid of the tool> <its start time>": who runs it (a dead owner means stale)
//! command    the command line, for `ps`
//! address    the container's IP address on the bridge, for `ps` (bridge network only)
//! ```
//!
//! `<data root>/containers/<pid>-<start>-<name>/` (`/var/lib/container-workbook`; see
//! [`data_root`]), mode 0700 so that no other user of the host reaches what the container
//! wrote (its root may make setuid-root files):
//!
//! ```text
//! upper/     overlayfs upper layer: every write of the container
//! work/      overlayfs work dir (same filesystem as upper/, which overlayfs requires)
//! ```
//!
//! The state directory is made complete under a staging name
//! (`.staging-<pid>-<start>-<name>`, which names its owner) and then renamed into place:
//! rename(2) onto an existing directory fails, so it is the lock on the name, and nobody
//! ever sees a directory without its owner file. Only then is the layer directory made; its
//! name holds its owner too, so it belongs to one process only, and once that process is
//! dead nobody makes it again. A run killed with SIGKILL cannot remove either; its owner
//! pid is then dead (or reused by another process, which the start time tells apart), and
//! `cleanup` or the next `run` removes both, each by its own owner record (the layer dir
//! even when `/run` was emptied by a reboot).

use std::path::{Path, PathBuf};

use super::spec::Name;
use crate::owner::{owner_alive, owner_record};
use crate::{Error, Result};

/// The root of the workbook's state: `$WORKBOOK_STATE`, else `/run/workbook` for root, else
/// `$XDG_RUNTIME_DIR/workbook`, else the temp dir.
pub fn state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WORKBOOK_STATE") {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/run/workbook");
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("workbook")
}

/// The root of the writable layers: `$WORKBOOK_DATA`, else `/var/lib/container-workbook`
/// for root, else `$XDG_DATA_HOME/container-workbook`, else
/// `~/.local/share/container-workbook` (the XDG base directories: data that must survive,
/// on disk), else the temp dir.
pub fn data_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WORKBOOK_DATA").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/container-workbook");
    }
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("container-workbook")
}

fn layers_dir() -> PathBuf {
    data_root().join("containers")
}

/// The prefix of a directory still being filled in.
const STAGING: &str = ".staging-";

/// Where the containers' state directories are: `<state root>/containers`.
pub fn containers_dir() -> PathBuf {
    state_root().join("containers")
}

/// The directory the union of every container is mounted on, `<state root>/rootfs`, made
/// once. Each container mounts it in its own mount namespace, and mounts belong to their
/// namespace: one directory serves every container at once, and none is ever seen on the
/// host. (A directory per run would be one more to make and remove each time; on a disk
/// mounted with `discard`, removing one waits for a TRIM of its block.)
pub fn mount_point() -> Result<PathBuf> {
    let path = state_root().join("rootfs");
    std::fs::create_dir_all(&path)
        .map_err(|e| Error::io("creating the containers' mount point", &path, e))?;
    Ok(path)
}

/// One container's directories. Dropping it removes both and everything in them.
#[derive(Debug)]
pub struct ContainerDir {
    path: PathBuf,
    name: Name,
    /// The writable layer's directory on disk, once made.
    layer: Option<PathBuf>,
}

impl ContainerDir {
    /// Claims `name`: creates its directory, or fails if a live container has it. A stale
    /// directory of a dead owner is removed first.
    pub fn create(name: &Name, command: &[String]) -> Result<ContainerDir> {
        let parent = containers_dir();
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::io("creating the state directory", &parent, e))?;
        let owner = owner_record();
        let staging = parent.join(format!("{STAGING}{}-{name}", owner.replace(' ', "-")));
        std::fs::create_dir(&staging)
            .map_err(|e| Error::io("creating the container's directory", &staging, e))?;
        // Until the rename, this guard removes the staging directory on any error.
        let mut dir = ContainerDir {
            path: staging,
            name: name.clone(),
            layer: None,
        };
        dir.write("owner", &owner)?;
        dir.write("command", &command.join(" "))?;
        let path = parent.join(name.as_str());
        for attempt in 0..2 {
            match std::fs::rename(&dir.path, &path) {
                Ok(()) => {
                    dir.path = path;
                    dir.layer = Some(make_layer_dir(name)?);
                    return Ok(dir);
                }
                Err(_) if path.is_dir() && attempt == 0 => {
                    let owner =
                        std::fs::read_to_string(path.join("owner")).unwrap_or_default();
                    if owner_alive(&owner) {
                        return Err(Error::Invalid(format!(
                            "the name {name} is already in use by a running container; choose \
                             another with --name"
                        )));
                    }
                    remove_tree(&path)?;
                }
                Err(e) => return Err(Error::io("claiming the container's name", &path, e)),
            }
        }
        Err(Error::Invalid(format!(
            "the name {name} was taken while this run claimed it; choose another with --name"
        )))
    }

    fn write(&self, file: &str, text: &str) -> Result<()> {
        let p = self.path.join(file);
        std::fs::write(&p, text)
            .map_err(|e| Error::io("writing the container's state", &p, e))
    }

    /// Records the container's init process (its PID on the host), for `ps`.
    pub fn record_init(&self, pid: i32) -> Result<()> {
        self.write("init", &pid.to_string())
    }

    /// Records the container's IP address (bridge network), for `ps`.
    pub fn record_address(&self, ip: &str) -> Result<()> {
        self.write("address", ip)
    }

    /// The container's name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// A directory of the container: `upper` or `work` (on disk), or one in its state
    /// directory.
    pub fn sub(&self, which: &str) -> PathBuf {
        match (&self.layer, which) {
            (Some(layer), "upper" | "work") => layer.join(which),
            _ => self.path.join(which),
        }
    }

    /// The directory on disk holding `upper` and `work`.
    pub fn layer_dir(&self) -> Option<&Path> {
        self.layer.as_deref()
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Makes `<data root>/containers/<pid>-<start>-<name>/{upper,work}`: on disk, never on
/// the tmpfs of `/run`, and named after this process, so that only it ever makes it.
/// Mode 0700: what the container writes (setuid files too) is out of other users' reach.
fn make_layer_dir(name: &Name) -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let parent = layers_dir();
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io("creating the directory of writable layers", &parent, e))?;
    // 0711: a rootless run's mapped root (another uid) must pass through to its own layer.
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| Error::io("setting the mode of the layers' dir", &parent, e))?;
    let layer = parent.join(format!("{}-{name}", crate::owner::owner_tag()));
    remove_tree(&layer)?; // only a dead earlier run of this very pid and start time
                          // Made 0700 at once (a umask only removes bits): never reachable by others meanwhile.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&layer)
        .map_err(|e| Error::io("creating the container's writable layer", &layer, e))?;
    for sub in ["upper", "work"] {
        let p = layer.join(sub);
        if let Err(e) = std::fs::create_dir(&p) {
            let _ = remove_tree(&layer);
            return Err(Error::io("creating a directory", &p, e));
        }
    }
    Ok(layer)
}

impl Drop for ContainerDir {
    /// The state directory goes now: it holds the name, and `ps` reads it. The writable
    /// layer goes after the status is out.
    fn drop(&mut self) {
        if let Err(e) = remove_tree(&self.path) {
            eprintln!("warning: could not remove {}: {e}", self.path.display());
        }
        if let Some(layer) = self.layer.take() {
            remove_layer_after_the_status(layer);
        }
    }
}

/// Removes a writable layer in a detached process of ours ([`crate::background`]), so the
/// status is not held up by its rmdirs, which wait for the disk. Nobody else can reach it
/// meanwhile; if the process is killed, the layer still names its owner, now dead, and
/// `cleanup` or the next run removes it.
fn remove_layer_after_the_status(layer: PathBuf) {
    crate::background::finish_later(move || drop(remove_tree(&layer)));
}

fn remove_tree(path: &Path) -> Result<()> {
    crate::owner::remove_tree(path, "removing the container's directory")
}

/// A container directory found on the host.
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    pub name: String,
    pub alive: bool,
    pub init: Option<i32>,
    /// Its address on the bridge, if it has one.
    pub address: Option<String>,
    pub command: String,
    pub path: PathBuf,
}

/// Every container directory, live or stale (not those still being made).
pub fn list() -> Vec<ContainerInfo> {
    let Ok(read) = std::fs::read_dir(containers_dir()) else {
        return Vec::new();
    };
    let mut entries: Vec<ContainerInfo> = read
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with(STAGING))
        .map(|e| {
            let path = e.path();
            let read = |f: &str| std::fs::read_to_string(path.join(f)).unwrap_or_default();
            ContainerInfo {
                name: e.file_name().to_string_lossy().into_owned(),
                alive: owner_alive(&read("owner")),
                init: read("init").trim().parse().ok(),
                address: Some(read("address")).filter(|a| !a.is_empty()),
                command: read("command"),
                path,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// The state directories whose owner is gone, with their names. Every run looks, so it
/// reads one file per container (`list` reads four, for `ps`): with 200 containers
/// running, that is 200 reads per start instead of 800.
fn dead_containers() -> Vec<(String, PathBuf)> {
    let Ok(read) = std::fs::read_dir(containers_dir()) else {
        return Vec::new();
    };
    read.filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, path)| {
            !name.starts_with(STAGING)
                && !owner_alive(
                    &std::fs::read_to_string(path.join("owner")).unwrap_or_default(),
                )
        })
        .collect()
}

/// Staging directories whose owner (named in the directory name) is gone.
fn stale_staging() -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(containers_dir()) else {
        return Vec::new();
    };
    read.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(STAGING)?;
            let mut parts = rest.splitn(3, '-');
            let owner = format!("{} {}", parts.next()?, parts.next()?);
            (!owner_alive(&owner)).then(|| e.path())
        })
        .collect()
}

/// Writable layers on disk whose owner (named in the directory name) is gone, with the
/// container name each was for.
fn stale_layers() -> Vec<(PathBuf, String)> {
    let Ok(read) = std::fs::read_dir(layers_dir()) else {
        return Vec::new();
    };
    read.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let owner = crate::owner::owner_in_name(&name)?;
            let container = name.splitn(3, '-').nth(2)?.to_string();
            (!owner_alive(&owner)).then(|| (e.path(), container))
        })
        .collect()
}

/// Removes the directories of containers whose owner is gone (state and writable layer);
/// returns their names.
pub fn remove_stale() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for (name, path) in dead_containers() {
        remove_tree(&path)?;
        removed.push(name);
    }
    for path in stale_staging() {
        remove_tree(&path)?;
    }
    for (path, container) in stale_layers() {
        remove_tree(&path)?;
        if !removed.contains(&container) {
            removed.push(container);
        }
    }
    Ok(removed)
}
