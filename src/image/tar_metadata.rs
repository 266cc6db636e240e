//! What an entry keeps of its tar header besides its content: its owner and its xattrs.
//!
//! No entry may set a `trusted.overlay.*` xattr: those steer the overlay itself (redirects,
//! opaque directories), so only the whiteout conversion ([`super::tar_whiteout`]) writes
//! them.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::overlay::xattr;
use crate::{Error, Result};

/// Where an owner goes: the file behind an fd we hold, or a path just checked (not
/// followed).
pub(super) enum Target<'f> {
    Fd(&'f fs::File),
    Path,
}

/// Keeps the entry's owner when we may (root), as tar does; a user keeps their own uid.
pub(super) fn keep_owner<R: Read>(
    entry: &tar::Entry<'_, R>,
    target: Target<'_>,
    path: &Path,
) -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let header = entry.header();
    let (Ok(uid), Ok(gid)) = (header.uid(), header.gid()) else {
        return Err(Error::Invalid(format!(
            "the layer entry {} has an unreadable owner",
            path.display()
        )));
    };
    let (Ok(uid), Ok(gid)) = (u32::try_from(uid), u32::try_from(gid)) else {
        return Err(Error::Invalid(format!(
            "the layer entry {} has an owner out of range",
            path.display()
        )));
    };
    match target {
        Target::Fd(file) => std::os::unix::fs::fchown(file, Some(uid), Some(gid)),
        Target::Path => std::os::unix::fs::lchown(path, Some(uid), Some(gid)),
    }
    .map_err(|e| Error::io("setting the owner of a layer file", path, e))
}

/// Copies `SCHILY.xattr.NAME` PAX records (how GNU tar and Docker store xattrs) onto the
/// file.
pub(super) fn keep_xattrs<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &Path,
    rel: &Path,
) -> Result<()> {
    let Ok(Some(records)) = entry.pax_extensions() else {
        return Ok(());
    };
    let mut wanted = Vec::new();
    for record in records.flatten() {
        if let Ok(key) = record.key() {
            if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                wanted.push((name.to_string(), record.value_bytes().to_vec()));
            }
        }
    }
    for (name, value) in wanted {
        if name.starts_with("trusted.overlay.") {
            return Err(Error::Invalid(format!(
                "the layer entry {} sets the overlay's own attribute {name}; refusing this archive",
                rel.display()
            )));
        }
        xattr::set(path, &name, &value)?;
    }
    Ok(())
}
