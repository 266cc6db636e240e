//! A layer's bytes as they are read: plain or gzip, and hashed on the way through.
//!
//! Two digests name a layer: the blob digest of the bytes as stored (compressed or not), which
//! an OCI manifest lists, and the DiffID of the uncompressed tar, which the image config
//! lists. One pass computes both: a `Tee` hashes whatever is read through it.

use std::cell::RefCell;
use std::io::{self, BufRead, Read};

use flate2::read::MultiGzDecoder;
use sha2::{Digest as _, Sha256};

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
pub(super) struct Tee<'h, R> {
    pub(super) inner: R,
    pub(super) hasher: &'h RefCell<Sha256>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

pub(super) fn hex(hasher: RefCell<Sha256>) -> String {
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
