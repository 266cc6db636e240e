//! Which layer does a path of the merged view come from?
//!
//! Two answers, and the demonstration prints both side by side:
//!
//! - [`expected_source`] applies overlayfs's rule to the layer directories: look from the
//!   top layer down; the first layer that has the name wins, unless on the way down a
//!   whiteout deletes it or an opaque directory hides everything beneath.
//! - [`kernel_source`] asks the kernel: it stats the path in the merged view and finds the
//!   layer whose file has the same inode number. When all layers sit on one filesystem, an
//!   overlay reports the inode number of the real file underneath, so the match is exact.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::whiteout::{is_opaque, is_whiteout};
use crate::{Error, Result};

/// Where the rule says a path comes from. Layer indexes count from the bottom (0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Visible, from this layer (the topmost that has it; a directory may merge several).
    Layer(usize),
    /// Deleted by a whiteout (of the path or of a parent) in this layer.
    Deleted(usize),
    /// Hidden because a parent directory in this layer is opaque.
    Hidden(usize),
    /// In no layer at all.
    Absent,
}

/// Applies the overlay lookup rule to `layers` (bottom first, the upper last if there is
/// one).
// ANCHOR: rule_fn
pub fn expected_source(layers: &[PathBuf], rel: &Path) -> Result<Source> {
    let ancestors: Vec<&Path> = {
        let mut a: Vec<&Path> = rel.ancestors().skip(1).collect();
        a.retain(|p| !p.as_os_str().is_empty());
        a.reverse(); // shallowest first
        a
    };
    for (i, layer) in layers.iter().enumerate().rev() {
        if ancestors.iter().any(|a| is_whiteout(&layer.join(a))) {
            return Ok(Source::Deleted(i));
        }
        let here = layer.join(rel);
        if is_whiteout(&here) {
            return Ok(Source::Deleted(i));
        }
        if std::fs::symlink_metadata(&here).is_ok() {
            return Ok(Source::Layer(i));
        }
        for a in &ancestors {
            if is_opaque(&layer.join(a))? {
                return Ok(Source::Hidden(i));
            }
        }
    }
    Ok(Source::Absent)
}
// ANCHOR_END: rule_fn

/// What the kernel shows at `rel` in the merged view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelView {
    /// No such path in the merged view.
    Absent,
    /// A directory (overlay merges them; there is no single source inode).
    Dir,
    /// A file whose inode number is that of this layer's file (`None`: no layer matched).
    File(Option<usize>),
}

/// Stats `merged/rel` and finds the layer holding the same inode.
pub fn kernel_source(merged: &Path, layers: &[PathBuf], rel: &Path) -> Result<KernelView> {
    let path = merged.join(rel);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(KernelView::Absent)
        }
        Err(e) => return Err(Error::io("looking up a path in the merged view", &path, e)),
    };
    if meta.is_dir() {
        return Ok(KernelView::Dir);
    }
    let layer = layers.iter().rposition(|layer| {
        std::fs::symlink_metadata(layer.join(rel)).is_ok_and(|m| m.ino() == meta.ino())
    });
    Ok(KernelView::File(layer))
}

/// Every relative path found in any of the layers, sorted, directories before their
/// contents.
pub fn all_paths(layers: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = std::collections::BTreeSet::new();
    for layer in layers {
        walk(layer, Path::new(""), &mut paths)?;
    }
    Ok(paths.into_iter().collect())
}

fn walk(
    root: &Path,
    rel: &Path,
    out: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| Error::io("listing a layer", &dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing a layer", &dir, e))?;
        let child = rel.join(entry.file_name());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.insert(child.clone());
        if is_dir {
            walk(root, &child, out)?;
        }
    }
    Ok(())
}
