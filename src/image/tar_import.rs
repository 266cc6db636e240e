//! Unpacking one layer tar into a directory, safely, converting whiteouts to the overlay
//! form.
//!
//! A layer tar comes from somebody else. Unpacked naively, it can write anywhere the
//! importing (root!) process can:
//!
//! - an entry named `../../etc/cron.d/x` or `/etc/passwd` climbs out of the layer
//!   directory;
//! - an entry `lib -> /etc` (a symlink, harmless by itself) followed by an entry
//!   `lib/passwd` writes *through* the symlink into the host's /etc;
//! - a hard link whose target is `../../etc/shadow` links a host file into the layer, where
//!   later entries or the container can rewrite it.
//!
//! So every path is checked component by component before anything is written: no `..`, no
//! absolute path, and no existing symlink on the way to the entry (a symlink may be the
//! *last* component: it is created, never followed). Files are created with
//! `O_NOFOLLOW|O_EXCL`. Device nodes are made only when the process holds CAP_MKNOD
//! (skipped and reported otherwise), and no entry may set `trusted.overlay.*` xattrs: those
//! steer the overlay itself (redirects, opaque dirs), so only the whiteout conversion below
//! writes them.
//!
//! Two more traps, both from real runtimes' CVEs:
//!
//! - A metadata change made *later* than the entry must not go by path: a later entry may
//!   have replaced a directory with a symlink to the host (`d/`, `d/secret/`, then `d ->
//!   /etc`), and a late `chmod("d/secret")` would follow it. Directory modes (applied last,
//!   so that a read-only directory can still be filled) go through a walk with `O_NOFOLLOW`
//!   on every component from the layer's own directory fd, and only to the inode the import
//!   made.
//! - A small archive may unpack to a huge tree (a tar bomb): what is written is counted
//!   against a [`Budget`] before it is written.

use std::cell::RefCell;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::{fchmod, fstat, makedev, mknod, Mode, SFlag};
use sha2::{Digest as _, Sha256};
use tar::{Archive, EntryType};

use crate::overlay::xattr;
use crate::{Error, Result};

/// What one import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// `sha256:HEX` of the uncompressed tar stream: the layer's DiffID in the image config.
    pub diff_id: String,
    /// `sha256:HEX` of the bytes as read (compressed or not): the blob digest in an OCI
    /// manifest.
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

/// How much an import may still write: the bytes of regular files, plus one 512-byte tar
/// block for every entry (an empty file still costs a header, an inode and a directory
/// entry: a million of them is a bomb too). Checked against the header *before* writing, so
/// a header claiming a terabyte is refused with nothing written.
// ANCHOR: budget
#[derive(Debug, Clone)]
pub struct Budget {
    limit: u64,
    used: u64,
    /// What the budget is for, in the refusal ("the image archive X").
    what: Option<String>,
}
// ANCHOR_END: budget

/// The default limit on what one import unpacks: far above real images (a large CUDA image
/// is 10 GiB unpacked), far below "fill the disk".
pub const DEFAULT_MAX_UNPACKED: u64 = 16 << 30;

/// Every entry costs at least this much (one tar block).
const ENTRY_COST: u64 = 512;

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget {
            limit,
            used: 0,
            what: None,
        }
    }

    /// Names what is unpacked, for the refusal: "the image archive X".
    pub fn named(mut self, what: impl Into<String>) -> Self {
        self.what = Some(what.into());
        self
    }

    /// The limit from `$WORKBOOK_MAX_UNPACKED` (bytes, or with K/M/G/T), else the default.
    pub fn limit_from_env() -> Result<u64> {
        match std::env::var("WORKBOOK_MAX_UNPACKED") {
            Ok(text) if !text.is_empty() => parse_size(&text).ok_or_else(|| {
                Error::Invalid(format!(
                    "WORKBOOK_MAX_UNPACKED={text:?} is not a size; give bytes or a number \
                     with K, M, G or T, such as 16G"
                ))
            }),
            _ => Ok(DEFAULT_MAX_UNPACKED),
        }
    }

    // ANCHOR: charge
    /// Counts `bytes` of the layer `layer`; refuses once the total passes the limit.
    pub fn charge(&mut self, bytes: u64, layer: &str) -> Result<()> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limit {
            return Err(self.exceeded(layer));
        }
        Ok(())
    }
    // ANCHOR_END: charge

    /// The one-sentence refusal (naming the budget's archive, else the layer).
    pub fn exceeded(&self, layer: &str) -> Error {
        let what = (self.what.clone()).unwrap_or_else(|| format!("the layer {layer}"));
        Error::Invalid(format!(
            "{what} unpacks to more than {}, the limit on unpacked size; refusing it as a \
             possible tar bomb (set WORKBOOK_MAX_UNPACKED to allow more)",
            human(self.limit)
        ))
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 10),
        (i, 'M' | 'm') => (&text[..i], 20),
        (i, 'G' | 'g') => (&text[..i], 30),
        (i, 'T' | 't') => (&text[..i], 40),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A size as people write it: 1 MiB, 16 GiB, or bytes when it is not a whole unit.
fn human(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// What went wrong with a damaged archive, in words that never quote it. The tar library's
/// own messages can hold the raw bytes of a bad header (the first line of a file that is
/// not a tar at all, such as /etc/shadow), so they are not passed on.
pub fn damage(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "it ends too early",
        _ => "its content is damaged",
    }
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

/// Unpacks the layer tar read from `reader` (plain or gzip) into the empty directory
/// `dest`, hashing both the bytes as read and the uncompressed tar. `name` says in errors
/// which layer. The limit on unpacked size is `$WORKBOOK_MAX_UNPACKED` (see [`Budget`]).
pub fn unpack_layer(reader: impl Read, dest: &Path, name: &str) -> Result<Unpacked> {
    unpack_layer_limited(
        reader,
        dest,
        name,
        &mut Budget::new(Budget::limit_from_env()?),
    )
}

/// [`unpack_layer`], charging what it writes to `budget` (shared by the layers of one
/// image).
pub fn unpack_layer_limited(
    reader: impl Read,
    dest: &Path,
    name: &str,
    budget: &mut Budget,
) -> Result<Unpacked> {
    let corrupt = |e: io::Error| {
        Error::Invalid(format!(
            "the layer {name} is corrupt or truncated ({}); fetch or save the image again",
            damage(&e)
        ))
    };
    let raw_hash = RefCell::new(Sha256::new());
    let plain_hash = RefCell::new(Sha256::new());
    let mut report = Unpacked::default();
    let mut raw = BufReader::new(Tee {
        inner: reader,
        hasher: &raw_hash,
    });
    let mut layer = Layer {
        dest,
        name,
        budget,
        dirs: Vec::new(),
    };
    // The digests cover every byte, padding after the tar's end marker included: drain.
    if is_gzip(&mut raw).map_err(corrupt)? {
        let mut gz = MultiGzDecoder::new(raw);
        unpack_tar(&mut gz, &plain_hash, &mut layer, &mut report)?;
        io::copy(&mut gz.into_inner(), &mut io::sink()).map_err(corrupt)?;
    } else {
        unpack_tar(&mut raw, &plain_hash, &mut layer, &mut report)?;
        io::copy(&mut raw, &mut io::sink()).map_err(corrupt)?;
    }
    report.diff_id = hex(plain_hash);
    report.blob_digest = hex(raw_hash);
    Ok(report)
}

/// One layer being unpacked.
struct Layer<'a> {
    dest: &'a Path,
    name: &'a str,
    budget: &'a mut Budget,
    /// Directories made, with the mode to give them at the end and the inode they got.
    dirs: Vec<MadeDir>,
}

/// A directory the import made (or kept), identified by its inode, not only by its path.
struct MadeDir {
    rel: PathBuf,
    mode: u32,
    dev: u64,
    ino: u64,
}

// ANCHOR: unpack
fn unpack_tar(
    tar: &mut dyn Read,
    hasher: &RefCell<Sha256>,
    layer: &mut Layer<'_>,
    report: &mut Unpacked,
) -> Result<()> {
    let name = layer.name;
    let corrupt = |e: io::Error| {
        Error::Invalid(format!(
            "the layer {name} is corrupt or truncated ({}); fetch or save the image again",
            damage(&e)
        ))
    };
    let mut plain = Tee { inner: tar, hasher };
    {
        let mut archive = Archive::new(&mut plain);
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            unpack_entry(&mut entry, layer, report).map_err(|e| match e {
                Error::Io { source, .. }
                    if source.kind() == io::ErrorKind::UnexpectedEof =>
                {
                    corrupt(source)
                }
                e => e,
            })?;
        }
    }
    io::copy(&mut plain, &mut io::sink()).map_err(corrupt)?;
    apply_dir_modes(layer.dest, &mut layer.dirs)
}
// ANCHOR_END: unpack

// ANCHOR: dir_modes
/// Gives each directory the import made its mode, deepest first (a read-only directory
/// would have refused its entries). Never by path: each directory is reached from the
/// layer's fd with `O_NOFOLLOW` on every component, and changed only if it is still the
/// inode the import made. A directory that a later entry replaced (by a symlink, say) is
/// skipped: in a layer, the later entry wins, and a symlink has no mode of its own.
fn apply_dir_modes(dest: &Path, dirs: &mut [MadeDir]) -> Result<()> {
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
// ANCHOR_END: dir_modes

// ANCHOR: open_beneath
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
// ANCHOR_END: open_beneath

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

/// Makes the parent directories of `rel` under `dest`, refusing to pass through a symlink
/// (or anything but a directory): that is how a symlink planted by an earlier entry would
/// let a later one write outside the layer.
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

/// Removes what an earlier entry put at `path` (a later entry of a tar replaces an earlier
/// one). Never follows a symlink: it removes the link itself.
fn remove_existing(path: &Path, keep_dir: bool) -> Result<()> {
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

// ANCHOR: marker_to_overlay
/// Gives a whiteout marker of the tar (`.wh.NAME`, `.wh..wh..opq`) its overlay form under
/// `dest`: a 0/0 character device in place of the deleted name, the opaque xattr on the
/// directory. Returns whether `rel` was a marker (AUFS bookkeeping counts, and is skipped);
/// a plain entry is left to the caller.
fn marker_to_overlay(dest: &Path, rel: &Path, report: &mut Unpacked) -> Result<bool> {
    // exercise 06.2: convert a tar whiteout to the overlay form
    use super::tar_whiteout::{classify, TarPath};
    use crate::overlay::whiteout::{make_opaque, make_whiteout};

    match classify(rel)? {
        TarPath::Plain(_) => Ok(false),
        TarPath::Ignored => Ok(true),
        TarPath::Opaque(dir) => {
            let target = dest.join(&dir);
            if !dir.as_os_str().is_empty() {
                ensure_parents(dest, &dir.join("x"))?;
            }
            make_opaque(&target)?;
            report.opaque_dirs += 1;
            Ok(true)
        }
        TarPath::Whiteout(deleted) => {
            ensure_parents(dest, &deleted)?;
            let target = dest.join(&deleted);
            remove_existing(&target, false)?;
            make_whiteout(&target)?;
            report.whiteouts += 1;
            Ok(true)
        }
    }
    // end of exercise 06.2
}
// ANCHOR_END: marker_to_overlay

fn unpack_entry<R: Read>(
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

/// Where an owner goes: the file behind an fd we hold, or a path just checked (not
/// followed).
enum Target<'f> {
    Fd(&'f fs::File),
    Path,
}

/// Keeps the entry's owner when we may (root), as tar does; a user keeps their own uid.
fn keep_owner<R: Read>(
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
fn keep_xattrs<R: Read>(
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

/// Whether this process may make device nodes: CAP_MKNOD (bit 27) in its effective set.
pub fn may_mknod() -> bool {
    crate::privilege::effective_capabilities().is_some_and(|caps| caps & (1 << 27) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print_as_people_write_them() {
        assert_eq!(parse_size("16G"), Some(16 << 30));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(human(DEFAULT_MAX_UNPACKED), "16 GiB");
        assert_eq!(human(1 << 20), "1 MiB");
        assert_eq!(human(1000), "1000 bytes");
    }

    #[test]
    fn the_budget_refuses_past_its_limit_in_one_sentence() {
        let mut budget = Budget::new(1024).named("the image archive x.tar");
        assert!(budget.charge(1024, "l").is_ok());
        let err = budget.charge(1, "l").unwrap_err().to_string();
        assert_eq!(
            err,
            "the image archive x.tar unpacks to more than 1 KiB, the limit on unpacked size; \
             refusing it as a possible tar bomb (set WORKBOOK_MAX_UNPACKED to allow more)"
        );
    }
}
