//! Where a running container keeps its files on the host, and how a killed run is found later.
//!
//! Each container owns one directory, `<state root>/containers/<name>/`:
//!
//! ```text
//! owner      "<pid of the tool> <its start time>": who runs it (a dead owner means stale)
//! command    the command line, for `ps`
//! address    the container's IP address on the bridge, for `ps` (bridge network only)
//! upper/     overlayfs upper layer: every write of the container
//! work/      overlayfs work dir (same filesystem as upper/, empty at mount)
//! merged/    the mount point of the union, inside the container's mount namespace only
//! ```
//!
//! The directory is made complete under a staging name (`.staging-<pid>-<start>-<name>`,
//! which names its owner) and then renamed into place: rename(2) onto an existing directory
//! fails, so it is the lock on the name, and nobody ever sees a directory without its owner
//! file. A run killed with SIGKILL cannot remove its directory; its owner pid is then dead (or
//! reused by another process, which the start time tells apart), and `cleanup` or the next
//! `run` removes it.

use std::path::{Path, PathBuf};

use super::spec::Name;
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

/// The prefix of a directory still being filled in.
const STAGING: &str = ".staging-";

fn containers_dir() -> PathBuf {
    state_root().join("containers")
}

pub use crate::process::owner::{owner_alive, owner_record};

/// One container's directory. Dropping it removes the directory and everything in it.
#[derive(Debug)]
pub struct ContainerDir {
    path: PathBuf,
    name: Name,
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
        };
        dir.write("owner", &owner)?;
        dir.write("command", &command.join(" "))?;
        for sub in ["upper", "work", "merged"] {
            let p = dir.path.join(sub);
            std::fs::create_dir(&p).map_err(|e| Error::io("creating a directory", &p, e))?;
        }
        let path = parent.join(name.as_str());
        for attempt in 0..2 {
            match std::fs::rename(&dir.path, &path) {
                Ok(()) => {
                    dir.path = path;
                    return Ok(dir);
                }
                Err(_) if path.is_dir() && attempt == 0 => {
                    let owner = std::fs::read_to_string(path.join("owner")).unwrap_or_default();
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
        std::fs::write(&p, text).map_err(|e| Error::io("writing the container's state", &p, e))
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

    /// A directory of the container: `upper`, `work` or `merged`.
    pub fn sub(&self, which: &str) -> PathBuf {
        self.path.join(which)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ContainerDir {
    fn drop(&mut self) {
        if let Err(e) = remove_tree(&self.path) {
            eprintln!("warning: could not remove {}: {e}", self.path.display());
        }
    }
}

fn remove_tree(path: &Path) -> Result<()> {
    crate::process::owner::remove_tree(path, "removing the container's directory")
}

/// A container directory found on the host.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub alive: bool,
    pub init: Option<i32>,
    /// Its address on the bridge, if it has one.
    pub address: Option<String>,
    pub command: String,
    pub path: PathBuf,
}

/// Every container directory, live or stale (not those still being made).
pub fn list() -> Vec<Entry> {
    let Ok(read) = std::fs::read_dir(containers_dir()) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = read
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with(STAGING))
        .map(|e| {
            let path = e.path();
            let read = |f: &str| std::fs::read_to_string(path.join(f)).unwrap_or_default();
            Entry {
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

/// Removes the directories of containers whose owner is gone; returns their names.
pub fn remove_stale() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in list().into_iter().filter(|e| !e.alive) {
        remove_tree(&entry.path)?;
        removed.push(entry.name);
    }
    for path in stale_staging() {
        remove_tree(&path)?;
    }
    Ok(removed)
}
