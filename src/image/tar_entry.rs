//! One entry of a layer tar, written into the layer: a file, a directory, a link, a node,
//! or a whiteout marker, which becomes its overlay form.
//!
//! Files are created with `O_NOFOLLOW|O_EXCL`; device nodes are made only when the process
//! holds CAP_MKNOD (skipped and reported otherwise); a hard link must point to a file this
//! layer already holds.

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use tar::EntryType;

use super::budget::Budget;
use super::dir_modes::MadeDir;
use super::layer_paths::{ensure_parents, remove_existing, sanitize};
use super::tar_metadata::{keep_owner, keep_xattrs, Target};
use super::tar_whiteout::marker_to_overlay;
use super::unpacked::Unpacked;
use crate::{Error, Result};

/// One layer being unpacked.
pub(super) struct Layer<'a> {
    pub(super) dest: &'a Path,
    pub(super) name: &'a str,
    pub(super) budget: &'a mut Budget,
    /// Directories made, with the mode to give them at the end and the inode they got.
    pub(super) dirs: Vec<MadeDir>,
}

/// Every entry costs at least this much (one tar block).
const ENTRY_COST: u64 = 512;

/// Writes one entry into the layer: its cost charged and its path checked first; a whiteout
/// marker is converted, anything else made as the tar says, with its owner, xattrs and mode.
pub(super) fn unpack_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    layer: &mut Layer<'_>,
    report: &mut Unpacked,
) -> Result<()> {
    let dest = layer.dest;
    layer.budget.charge(ENTRY_COST, layer.name)?;
    let raw_path = entry
        .path()
        .map_err(|e| Error::Invalid(format!("a layer entry has an unreadable name: {e}")))?
        .into_owned();
    let rel = sanitize(&raw_path, "entry")?;
    let kind = entry.header().entry_type();
    if rel.as_os_str().is_empty() {
        // `./` itself: the layer's root directory. Only its mode matters.
        if kind.is_dir() {
            let mode = header_mode(entry)?;
            remember_dir(layer, rel, mode)?;
        }
        return Ok(());
    }
    if marker_to_overlay(dest, &rel, report)? {
        return Ok(());
    }
    ensure_parents(dest, &rel)?;
    let path = dest.join(&rel);
    remove_existing(&path, kind.is_dir())?;
    let mode = header_mode(entry)?;
    match kind {
        EntryType::Directory => {
            if !path.is_dir() {
                fs::create_dir(&path)
                    .map_err(|e| Error::io("making a directory of the layer", &path, e))?;
            }
        }
        EntryType::Regular | EntryType::Continuous => {
            // Counted by the header's size before a byte is written: the entry's reader
            // yields exactly that many bytes.
            layer.budget.charge(entry.size(), layer.name)?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| Error::io("creating a file of the layer", &path, e))?;
            io::copy(entry, &mut file)
                .map_err(|e| Error::io("writing a file of the layer", &path, e))?;
            // Owner, xattrs and mode through the fd the file was made with: the very inode.
            keep_owner(entry, Target::Fd(&file), &path)?;
            keep_xattrs(entry, &path, &rel)?;
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("setting the mode of a layer file", &path, e))?;
            report.entries += 1;
            return Ok(());
        }
        EntryType::Symlink => {
            // Stored as it is: the container resolves it against its own root, never ours.
            let target = link_name(entry)?;
            std::os::unix::fs::symlink(&target, &path)
                .map_err(|e| Error::io("making a symlink of the layer", &path, e))?;
        }
        EntryType::Link => {
            let target = sanitize(&link_name(entry)?, "hard link target")?;
            ensure_parents(dest, &target)?;
            let source = dest.join(&target);
            match fs::symlink_metadata(&source) {
                Ok(m) if !m.is_dir() => {}
                _ => {
                    return Err(Error::Invalid(format!(
                    "the layer entry {} is a hard link to {}, which is not a file of this layer",
                    rel.display(),
                    target.display()
                )))
                }
            }
            // link(2) does not follow a symlink source: a link to a symlink stays a
            // symlink.
            fs::hard_link(&source, &path)
                .map_err(|e| Error::io("making a hard link of the layer", &path, e))?;
        }
        EntryType::Fifo => {
            nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600)).map_err(|e| {
                Error::sys_path("mkfifo", "making a fifo of the layer", &path, e)
            })?;
        }
        EntryType::Char | EntryType::Block => {
            if !may_mknod() {
                report.skipped_devices.push(rel);
                return Ok(());
            }
            let kind_flag = if kind == EntryType::Char {
                SFlag::S_IFCHR
            } else {
                SFlag::S_IFBLK
            };
            let major = entry.header().device_major().ok().flatten().unwrap_or(0);
            let minor = entry.header().device_minor().ok().flatten().unwrap_or(0);
            mknod(
                &path,
                kind_flag,
                Mode::from_bits_truncate(0o600),
                makedev(major.into(), minor.into()),
            )
            .map_err(|e| {
                Error::sys_path("mknod", "making a device node of the layer", &path, e)
            })?;
        }
        EntryType::XGlobalHeader
        | EntryType::XHeader
        | EntryType::GNULongName
        | EntryType::GNULongLink => return Ok(()),
        other => {
            return Err(Error::Invalid(format!(
                "the layer entry {} has a type this importer does not handle ({other:?})",
                rel.display()
            )))
        }
    }
    report.entries += 1;
    if kind == EntryType::Link {
        // A hard link is another name for its target's inode: owner, mode and xattrs are
        // the target's already (a chown here would even clear the target's setuid bit).
        return Ok(());
    }
    // The rest act on `path` at once, while every component of it has just been checked to
    // be a directory of this layer (ensure_parents) and its last one is what we made:
    // lchown and lsetxattr never follow that last component, and chmod is only for nodes,
    // not links.
    keep_owner(entry, Target::Path, &path)?;
    keep_xattrs(entry, &path, &rel)?;
    match kind {
        EntryType::Symlink => Ok(()), // a symlink has no mode of its own
        EntryType::Directory => remember_dir(layer, rel, mode),
        _ => set_mode(&path, mode),
    }
}

/// Records a directory the import made, to give it its mode at the end.
fn remember_dir(layer: &mut Layer<'_>, rel: PathBuf, mode: u32) -> Result<()> {
    let path = layer.dest.join(&rel);
    let meta = fs::symlink_metadata(&path)
        .map_err(|e| Error::io("checking a directory of the layer", &path, e))?;
    layer.dirs.push(MadeDir {
        rel,
        mode,
        dev: meta.dev(),
        ino: meta.ino(),
    });
    Ok(())
}

fn header_mode<R: Read>(entry: &tar::Entry<'_, R>) -> Result<u32> {
    entry
        .header()
        .mode()
        .map(|m| m & 0o7777)
        .map_err(|e| Error::Invalid(format!("a layer entry has an unreadable mode: {e}")))
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<PathBuf> {
    match entry.link_name() {
        Ok(Some(name)) => Ok(name.into_owned()),
        _ => Err(Error::Invalid(
            "a link entry of the layer has no target".into(),
        )),
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("setting the mode of a layer file", path, e))
}

/// Whether this process may make device nodes: CAP_MKNOD (bit 27) in its effective set.
pub fn may_mknod() -> bool {
    crate::privilege::effective_capabilities().is_some_and(|caps| caps & (1 << 27) != 0)
}
