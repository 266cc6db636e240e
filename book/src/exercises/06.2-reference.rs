/// Gives a whiteout marker of the tar (`.wh.NAME`, `.wh..wh..opq`) its overlay form under
/// `dest`: a 0/0 character device in place of the deleted name, the opaque xattr on the
/// directory. Returns whether `rel` was a marker (AUFS bookkeeping counts, and is skipped);
/// a plain entry is left to the caller.
pub fn marker_to_overlay(dest: &Path, rel: &Path, report: &mut Unpacked) -> Result<bool> {
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
}
