/// Gives a whiteout marker of the tar (`.wh.NAME`, `.wh..wh..opq`) its overlay form under
/// `dest`: a 0/0 character device in place of the deleted name, the opaque xattr on the
/// directory. Returns whether `rel` was a marker (AUFS bookkeeping counts, and is skipped);
/// a plain entry is left to the caller.
pub fn marker_to_overlay(dest: &Path, rel: &Path, report: &mut Unpacked) -> Result<bool> {
    todo!("exercise 06.2")
}
