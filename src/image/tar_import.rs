//! Unpacking one layer tar into a directory, safely, converting whiteouts to the overlay form.
//!
//! A layer tar comes from somebody else. Unpacked naively, it can write anywhere the importing
//! (root!) process can:
//!
//! - an entry named `../../etc/cron.d/x` or `/etc/passwd` climbs out of the layer directory;
//! - an entry `lib -> /etc` (a symlink, harmless by itself) followed by an entry `lib/passwd`
//!   writes *through* the symlink into the host's /etc;
//! - a hard link whose target is `../../etc/shadow` links a host file into the layer, where
//!   later entries or the container can rewrite it.
//!
//! So every path is checked component by component before anything is written: no `..`, no
//! absolute path, and no existing symlink on the way to the entry (a symlink may be the *last*
//! component: it is created, never followed). Files are created with `O_NOFOLLOW|O_EXCL`.
//! Device nodes are made only when the process holds CAP_MKNOD (skipped and reported
//! otherwise), and no entry may set `trusted.overlay.*` xattrs: those steer the overlay itself
//! (redirects, opaque dirs), so only the whiteout conversion below writes them.

use std::cell::RefCell;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use sha2::{Digest as _, Sha256};
use tar::{Archive, EntryType};

use super::whiteout::{classify, TarPath};
use crate::overlay::whiteout::{make_opaque, make_whiteout};
use crate::overlay::xattr;
use crate::{Error, Result};

/// What one import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// `sha256:HEX` of the uncompressed tar stream: the layer's DiffID in the image config.
    pub diff_id: String,
    /// `sha256:HEX` of the bytes as read (compressed or not): the blob digest in an OCI manifest.
    pub blob_digest: String,
    /// Entries written (files, dirs, links, nodes).
    pub entries: usize,
    /// Whiteouts made (character devices 0/0).
    pub whiteouts: usize,
    /// Directories marked opaque.
    pub opaque_dirs: usize,
    /// Device nodes not made because the process lacks CAP_MKNOD.
    pub skipped_devices: Vec<PathBuf>,
}

/// Reads bytes through, feeding them to a hasher that outlives the reader chain.
struct Tee<'h, R> {
    inner: R,
    hasher: &'h RefCell<Sha256>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

fn hex(hasher: RefCell<Sha256>) -> String {
    format!("sha256:{:x}", hasher.into_inner().finalize())
}

/// `sha256:HEX` of everything `reader` yields.
pub fn digest_of(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut hasher)?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// Whether the stream starts with the gzip magic bytes (without consuming them).
pub fn is_gzip<R: BufRead>(reader: &mut R) -> io::Result<bool> {
    Ok(reader.fill_buf()?.starts_with(&[0x1f, 0x8b]))
}

/// A reader of the uncompressed tar, whether the stream is plain or gzip.
pub fn decompressed<'a, R: BufRead + 'a>(mut reader: R) -> io::Result<Box<dyn Read + 'a>> {
    Ok(if is_gzip(&mut reader)? {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

// ANCHOR: unpack
/// Unpacks the layer tar read from `reader` (plain or gzip) into the empty directory `dest`,
/// hashing both the bytes as read and the uncompressed tar. `name` says in errors which layer.
pub fn unpack_layer(reader: impl Read, dest: &Path, name: &str) -> Result<Unpacked> {
    let corrupt = |e: io::Error| {
        Error::Invalid(format!(
            "the layer {name} is corrupt or truncated ({e}); fetch or save the image again"
        ))
    };
    let raw_hash = RefCell::new(Sha256::new());
    let plain_hash = RefCell::new(Sha256::new());
    let mut report = Unpacked::default();
    let mut raw = BufReader::new(Tee {
        inner: reader,
        hasher: &raw_hash,
    });
    // The digests cover every byte, padding after the tar's end marker included: drain.
    if is_gzip(&mut raw).map_err(corrupt)? {
        let mut gz = MultiGzDecoder::new(raw);
        unpack_tar(&mut gz, &plain_hash, dest, name, &mut report)?;
        io::copy(&mut gz.into_inner(), &mut io::sink()).map_err(corrupt)?;
    } else {
        unpack_tar(&mut raw, &plain_hash, dest, name, &mut report)?;
        io::copy(&mut raw, &mut io::sink()).map_err(corrupt)?;
    }
    report.diff_id = hex(plain_hash);
    report.blob_digest = hex(raw_hash);
    Ok(report)
}

fn unpack_tar(
    tar: &mut dyn Read,
    hasher: &RefCell<Sha256>,
    dest: &Path,
    name: &str,
    report: &mut Unpacked,
) -> Result<()> {
    let corrupt = |e: io::Error| {
        Error::Invalid(format!(
            "the layer {name} is corrupt or truncated ({e}); fetch or save the image again"
        ))
    };
    let mut plain = Tee { inner: tar, hasher };
    let mut dir_modes = Vec::new();
    {
        let mut archive = Archive::new(&mut plain);
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            unpack_entry(&mut entry, dest, report, &mut dir_modes).map_err(|e| match e {
                Error::Io { source, .. } if source.kind() == io::ErrorKind::UnexpectedEof => {
                    corrupt(source)
                }
                e => e,
            })?;
        }
    }
    io::copy(&mut plain, &mut io::sink()).map_err(corrupt)?;
    // Directory modes last, deepest first: a read-only directory would refuse its entries.
    dir_modes.sort_by(|a: &(PathBuf, u32), b| b.0.cmp(&a.0));
    for (dir, mode) in dir_modes {
        set_mode(&dir, mode)?;
    }
    Ok(())
}
// ANCHOR_END: unpack

// ANCHOR: sanitize
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

/// Makes the parent directories of `rel` under `dest`, refusing to pass through a symlink (or
/// anything but a directory): that is how a symlink planted by an earlier entry would let a
/// later one write outside the layer.
fn ensure_parents(dest: &Path, rel: &Path) -> Result<()> {
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
// ANCHOR_END: sanitize

/// Removes what an earlier entry put at `path` (a later entry of a tar replaces an earlier one).
/// Never follows a symlink: it removes the link itself.
fn remove_existing(path: &Path, keep_dir: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && keep_dir => Ok(()),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path)
            .map_err(|e| Error::io("replacing a directory of the layer", path, e)),
        Ok(_) => {
            fs::remove_file(path).map_err(|e| Error::io("replacing a file of the layer", path, e))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("checking a path of the layer", path, e)),
    }
}

fn unpack_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    dest: &Path,
    report: &mut Unpacked,
    dir_modes: &mut Vec<(PathBuf, u32)>,
) -> Result<()> {
    let raw_path = entry
        .path()
        .map_err(|e| Error::Invalid(format!("a layer entry has an unreadable name: {e}")))?
        .into_owned();
    let rel = sanitize(&raw_path, "entry")?;
    let kind = entry.header().entry_type();
    if rel.as_os_str().is_empty() {
        // `./` itself: the layer's root directory. Only its mode matters.
        if kind.is_dir() {
            dir_modes.push((dest.to_path_buf(), header_mode(entry)?));
        }
        return Ok(());
    }
    match classify(&rel)? {
        TarPath::Ignored => return Ok(()),
        TarPath::Opaque(dir) => {
            let target = dest.join(&dir);
            if !dir.as_os_str().is_empty() {
                ensure_parents(dest, &dir.join("x"))?;
            }
            make_opaque(&target)?;
            report.opaque_dirs += 1;
            return Ok(());
        }
        TarPath::Whiteout(deleted) => {
            ensure_parents(dest, &deleted)?;
            let target = dest.join(&deleted);
            remove_existing(&target, false)?;
            make_whiteout(&target)?;
            report.whiteouts += 1;
            return Ok(());
        }
        TarPath::Plain(_) => {}
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
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|e| Error::io("creating a file of the layer", &path, e))?;
            io::copy(entry, &mut file)
                .map_err(|e| Error::io("writing a file of the layer", &path, e))?;
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
            // link(2) does not follow a symlink source: a link to a symlink stays a symlink.
            fs::hard_link(&source, &path)
                .map_err(|e| Error::io("making a hard link of the layer", &path, e))?;
        }
        EntryType::Fifo => {
            nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600))
                .map_err(|e| Error::sys_path("mkfifo", "making a fifo of the layer", &path, e))?;
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
            .map_err(|e| Error::sys_path("mknod", "making a device node of the layer", &path, e))?;
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
        // A hard link is another name for its target's inode: owner, mode and xattrs are the
        // target's already (a chown here would even clear the target's setuid bit).
        return Ok(());
    }
    keep_owner(entry, &path)?;
    keep_xattrs(entry, &path, &rel)?;
    if kind == EntryType::Symlink {
        return Ok(()); // a symlink has no mode of its own
    }
    if kind.is_dir() {
        dir_modes.push((path, mode));
    } else {
        set_mode(&path, mode)?;
    }
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

/// Keeps the entry's owner when we may (root), as tar does; a user keeps their own uid.
fn keep_owner<R: Read>(entry: &tar::Entry<'_, R>, path: &Path) -> Result<()> {
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
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(|e| Error::io("setting the owner of a layer file", path, e))
}

/// Copies `SCHILY.xattr.NAME` PAX records (how GNU tar and Docker store xattrs) onto the file.
fn keep_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>, path: &Path, rel: &Path) -> Result<()> {
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

/// Whether this process may make device nodes: CAP_MKNOD (bit 27) in its effective set.
pub fn may_mknod() -> bool {
    crate::privilege::effective_capabilities().is_some_and(|caps| caps & (1 << 27) != 0)
}
