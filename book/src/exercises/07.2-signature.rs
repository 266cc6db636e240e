/// Reduces the bounding, permitted and effective sets of the calling process to `keep`, and
/// empties the inheritable and ambient sets: nothing passes through exec by them.
pub fn restrict_to(keep: &[Capability]) -> Result<()> {
    todo!("exercise 07.2")
}
