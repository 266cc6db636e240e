//! What one import of a layer tar did: its two digests and what it made.

use std::path::PathBuf;

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
