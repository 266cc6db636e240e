/// Makes `new_root` (already a mount point) the root, and detaches the old root.
///
/// `pivot_root(".", ".")` stacks the old root on top of the new one at the same place, so
/// no directory has to be made for it; detaching `.` then removes the old root
/// (pivot_root(2), NOTES). The traps: new_root must be a mount point (else EINVAL), and
/// neither it nor its parent may be shared (else EINVAL: hence make_private first).
pub fn pivot_into(new_root: &Path) -> Result<()> {
    todo!("exercise 03.3")
}
