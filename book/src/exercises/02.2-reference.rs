/// Creates a 4 KiB segment under `key` (shmget(2) with IPC_CREAT | IPC_EXCL).
pub fn create(key: i32) -> Result<SharedMemory> {
    use crate::error::syscall_result;

    // SAFETY: shmget takes integers only.
    let id =
        unsafe { libc::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
    syscall_result(id).map_err(|e| {
        let what = format!("creating a shared memory segment with key {key:#x}");
        Error::sys("shmget", what, e)
    })?;
    Ok(SharedMemory { key, id })
}
