/// Reduces the bounding, permitted and effective sets of the calling process to `keep`, and
/// empties the inheritable and ambient sets: nothing passes through exec by them.
pub fn restrict_to(keep: &[Capability]) -> Result<()> {
    let keep_mask = mask(keep);
    // 1. The bounding set, one capability at a time (this needs CAP_SETPCAP, so it goes
    //    first).
    for number in 0..=last_capability() {
        if keep_mask & (1 << number) == 0 {
            // SAFETY: prctl with integer arguments only.
            let number = number as libc::c_ulong;
            syscall_result(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, number, 0, 0, 0) })
                .map_err(|e| {
                    let what =
                        format!("dropping capability {number} from the bounding set");
                    Error::sys("prctl(PR_CAPBSET_DROP)", what, e)
                })?;
        }
    }
    // 2. Ambient: cleared, so nothing passes through exec for a non-root uid.
    // SAFETY: as above.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // 3. Effective and permitted to the default, inheritable empty, in one capset(2).
    set_sets(keep_mask, keep_mask, 0)
}
