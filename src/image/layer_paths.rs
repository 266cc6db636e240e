//! The path of each entry of a layer tar, kept inside the layer.
//!
//! A layer tar comes from somebody else. Unpacked naively, it writes wherever the importing
//! (root!) process can: an entry named `../../etc/cron.d/x` or `/etc/passwd` climbs out of
//! the layer directory, and an entry `lib -> /etc` (a symlink, harmless by itself) followed
//! by an entry `lib/passwd` writes *through* the symlink into the host's /etc. So every path
//! is checked component by component before anything is written: no `..`, no absolute path,
//! and no existing symlink on the way to the entry (a symlink may be the *last* component:
//! it is created, never followed).

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::{Error, Result};

/// The entry path as a plain relative path, or an error if it would leave the layer.
pub fn sanitize(path: &Path, what: &str) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                return Err(Error::Invalid(format!(
                    "the layer {what} {} climbs out of the layer with `..`; refusing this archive",
                    path.display()
                )))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(Error::Invalid(format!(
                    "the layer {what} {} is an absolute path, which would write outside the layer; \
                     refusing this archive",
                    path.display()
                )))
            }
        }
    }
    Ok(out)
}

/// Makes the parent directories of `rel` under `dest`, refusing to pass through a symlink
/// (or anything but a directory): that is how a symlink planted by an earlier entry would
/// let a later one write outside the layer.
pub(super) fn ensure_parents(dest: &Path, rel: &Path) -> Result<()> {
    let mut dir = dest.to_path_buf();
    let parents: Vec<_> = rel
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    for part in parents {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::Invalid(format!(
                    "the layer entry {} goes through the symlink {}, which could point outside the \
                     layer; refusing this archive",
                    rel.display(),
                    dir.strip_prefix(dest).unwrap_or(&dir).display()
                )))
            }
            Ok(_) => {
                return Err(Error::Invalid(format!(
                    "the layer entry {} needs {} to be a directory, but it is a file",
                    rel.display(),
                    dir.strip_prefix(dest).unwrap_or(&dir).display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&dir)
                .map_err(|e| Error::io("making a directory of the layer", &dir, e))?,
            Err(e) => return Err(Error::io("checking a directory of the layer", &dir, e)),
        }
    }
    Ok(())
}

/// Removes what an earlier entry put at `path` (a later entry of a tar replaces an earlier
/// one). Never follows a symlink: it removes the link itself.
pub(super) fn remove_existing(path: &Path, keep_dir: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && keep_dir => Ok(()),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path)
            .map_err(|e| Error::io("replacing a directory of the layer", path, e)),
        Ok(_) => fs::remove_file(path)
            .map_err(|e| Error::io("replacing a file of the layer", path, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("checking a path of the layer", path, e)),
    }
}
