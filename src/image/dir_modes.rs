//! The modes of the directories an import made, applied last and never by path: a later
//! entry may have replaced a directory with a symlink to the host (`d/`, `d/secret/`, then
//! `d -> /etc`), and a late `chmod("d/secret")` would follow it (a trap from real runtimes'
//! CVEs).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::{fchmod, fstat, Mode};

use crate::{Error, Result};

/// A directory the import made (or kept), identified by its inode, not only by its path.
pub(super) struct MadeDir {
    pub(super) rel: PathBuf,
    pub(super) mode: u32,
    pub(super) dev: u64,
    pub(super) ino: u64,
}

/// Gives each directory the import made its mode, deepest first (a read-only directory
/// would have refused its entries). Never by path: each directory is reached from the
/// layer's fd with `O_NOFOLLOW` on every component, and changed only if it is still the
/// inode the import made. A directory that a later entry replaced (by a symlink, say) is
/// skipped: in a layer, the later entry wins, and a symlink has no mode of its own.
pub(super) fn apply_dir_modes(dest: &Path, dirs: &mut [MadeDir]) -> Result<()> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let root = open(dest, flags, Mode::empty())
        .map_err(|e| Error::sys_path("open", "opening the layer directory", dest, e))?;
    // Stable: of two entries for one directory, the later one's mode is applied last.
    dirs.sort_by(|a, b| b.rel.cmp(&a.rel));
    for dir in dirs.iter() {
        let Some(fd) = open_beneath(&root, &dir.rel)? else {
            continue; // replaced by a later entry
        };
        let stat = fstat(&fd).map_err(|e| {
            Error::sys_path("fstat", "checking a layer directory", &dir.rel, e)
        })?;
        if stat.st_dev != dir.dev || stat.st_ino != dir.ino {
            continue; // another directory now has this name
        }
        fchmod(&fd, Mode::from_bits_retain(dir.mode)).map_err(|e| {
            Error::sys_path(
                "fchmod",
                "setting the mode of a layer directory",
                &dir.rel,
                e,
            )
        })?;
    }
    Ok(())
}

/// Opens the directory `rel` below `root`, one component at a time with `O_NOFOLLOW`, so no
/// symlink is ever followed (openat2's RESOLVE_NO_SYMLINKS, by hand, for any kernel).
/// `None` when a component is no longer a directory.
fn open_beneath(root: &OwnedFd, rel: &Path) -> Result<Option<OwnedFd>> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut cur = root
        .try_clone()
        .map_err(|e| Error::io("duplicating the layer directory's fd", rel, e))?;
    for part in rel.components() {
        match openat(cur.as_fd(), part.as_os_str(), flags, Mode::empty()) {
            Ok(next) => cur = next,
            Err(Errno::ELOOP | Errno::ENOTDIR | Errno::ENOENT) => return Ok(None),
            Err(e) => {
                return Err(Error::sys_path(
                    "openat",
                    "opening a layer directory",
                    rel,
                    e,
                ))
            }
        }
    }
    Ok(Some(cur))
}
