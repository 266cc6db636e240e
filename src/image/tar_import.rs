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
//!   later entries or the container can rewrite it;
//! - a late metadata change by path follows a symlink that a later entry put in place of a
//!   directory;
//! - a small archive unpacks to a huge tree (a tar bomb).
//!
//! This file reads the stream and walks the entries; each defence has a file of its own:
//!
//! - [`super::layer_paths`]: every path checked, component by component, before anything is
//!   written;
//! - [`super::tar_entry`]: one entry written (files `O_NOFOLLOW|O_EXCL`, device nodes only
//!   with CAP_MKNOD, hard links only to this layer's files);
//! - [`super::tar_metadata`]: owner and xattrs kept, `trusted.overlay.*` refused;
//! - [`super::tar_whiteout`]: the `.wh.` markers turned into the overlay form;
//! - [`super::dir_modes`]: directory modes, applied last, by fd, to the inode the import made;
//! - [`super::budget`]: what is written, counted before it is written;
//! - [`super::stream`]: plain or gzip, and the two digests of the layer.

use std::cell::RefCell;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest as _, Sha256};
use tar::Archive;

use super::budget::Budget;
use super::dir_modes::apply_dir_modes;
use super::stream::{damage, hex, is_gzip, Tee};
use super::tar_entry::{unpack_entry, Layer};
use super::unpacked::Unpacked;
use crate::{Error, Result};

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
