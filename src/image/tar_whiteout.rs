//! The layer-tar form of "deleted" and "opaque", and its conversion to the overlay form.
//!
//! A tar file cannot hold an overlay whiteout portably (a 0/0 device node does not survive
//! every tool, and xattrs are optional), so the OCI image spec (inherited from Docker and
//! AUFS) uses marker *names*:
//!
//! | in the layer tar       | means                     | overlay form on import     |
//! |------------------------|---------------------------|----------------------------|
//! | `dir/.wh.NAME`         | `dir/NAME` was deleted    | 0/0 char device `dir/NAME` |
//! | `dir/.wh..wh..opq`     | `dir` hides what is below | opaque xattr on `dir`      |
//! | `dir/.wh..wh.ANYTHING` | AUFS bookkeeping          | ignored                    |
//!
//! The opaque xattr is `trusted.overlay.opaque=y`. [`marker_to_overlay`] makes each form
//! (exercise 06.2); the markers themselves are never written to disk.

use std::path::{Path, PathBuf};

use super::unpacked::Unpacked;
use crate::{Error, Result};

/// The prefix of every whiteout name in a layer tar.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name of the opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

// ANCHOR: classify
/// What a (sanitized, relative) tar entry path means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarPath {
    /// An ordinary entry: extract it here.
    Plain(PathBuf),
    /// Delete this path of the lower layers: make a whiteout here.
    Whiteout(PathBuf),
    /// Hide the lower layers' contents of this directory: mark it opaque.
    Opaque(PathBuf),
    /// AUFS metadata (`.wh..wh.*` other than the opaque marker): skip.
    Ignored,
}

/// Reads the whiteout conventions from an entry path.
pub fn classify(path: &Path) -> Result<TarPath> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(TarPath::Plain(path.to_path_buf()));
    };
    let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let in_aufs_dir = parent
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with(".wh..wh."));
    if in_aufs_dir {
        return Ok(TarPath::Ignored);
    }
    if name == OPAQUE_MARKER {
        return Ok(TarPath::Opaque(parent));
    }
    if name.starts_with(".wh..wh.") {
        return Ok(TarPath::Ignored);
    }
    match name.strip_prefix(WHITEOUT_PREFIX) {
        None => Ok(TarPath::Plain(path.to_path_buf())),
        Some("" | "." | "..") => Err(Error::Invalid(format!(
            "the layer entry {} is a whiteout of no valid name",
            path.display()
        ))),
        Some(deleted) => Ok(TarPath::Whiteout(parent.join(deleted))),
    }
}
// ANCHOR_END: classify

/// Gives a whiteout marker of the tar (`.wh.NAME`, `.wh..wh..opq`) its overlay form under
/// `dest`: a 0/0 character device in place of the deleted name, the opaque xattr on the
/// directory. Returns whether `rel` was a marker (AUFS bookkeeping counts, and is skipped);
/// a plain entry is left to the caller.
pub fn marker_to_overlay(dest: &Path, rel: &Path, report: &mut Unpacked) -> Result<bool> {
    // exercise 06.2: convert a tar whiteout to the overlay form
    use super::layer_paths::{ensure_parents, remove_existing};
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("etc/motd", TarPath::Plain("etc/motd".into()))]
    #[case::dotfile("home/.profile", TarPath::Plain("home/.profile".into()))]
    #[case::whiteout("etc/.wh.motd", TarPath::Whiteout("etc/motd".into()))]
    #[case::whiteout_at_root(".wh.tmp", TarPath::Whiteout("tmp".into()))]
    #[case::whiteout_of_dotfile("root/.wh..bashrc", TarPath::Whiteout("root/.bashrc".into()))]
    #[case::opaque("var/cache/.wh..wh..opq", TarPath::Opaque("var/cache".into()))]
    #[case::opaque_root(".wh..wh..opq", TarPath::Opaque("".into()))]
    #[case::aufs_link_dir(".wh..wh.plnk/123.456", TarPath::Ignored)]
    #[case::aufs_meta("a/.wh..wh.aufs", TarPath::Ignored)]
    fn names_are_classified(#[case] path: &str, #[case] want: TarPath) {
        assert_eq!(classify(Path::new(path)).unwrap(), want);
    }

    #[rstest]
    #[case("etc/.wh.")]
    #[case("etc/.wh..")]
    #[case("etc/.wh...")]
    fn whiteouts_of_no_name_are_refused(#[case] path: &str) {
        assert!(classify(Path::new(path)).is_err());
    }
}
