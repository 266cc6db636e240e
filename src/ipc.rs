//! System V shared memory, the IPC object an IPC namespace makes private.
//!
//! A segment is named by a numeric key; any process that knows the key can attach it. An
//! IPC namespace has its own table of keys, so a segment made inside is invisible outside
//! and the other way round, and the kernel destroys the namespace's segments when the
//! namespace ends.

use std::path::Path;

use crate::{Error, Result};

/// A System V shared memory segment that this process created; removed on drop.
#[derive(Debug)]
pub struct SharedMemory {
    pub key: i32,
    pub id: i32,
}

impl SharedMemory {
    /// Creates a 4 KiB segment under `key` (shmget(2) with IPC_CREAT | IPC_EXCL).
    pub fn create(key: i32) -> Result<SharedMemory> {
        // exercise 02.2: create a System V shared memory segment under a key
        use crate::error::syscall_result;

        // SAFETY: shmget takes integers only.
        let id =
            unsafe { libc::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
        syscall_result(id).map_err(|e| {
            let what = format!("creating a shared memory segment with key {key:#x}");
            Error::sys("shmget", what, e)
        })?;
        Ok(SharedMemory { key, id })
        // end of exercise 02.2
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID with a null buffer is valid.
        unsafe { libc::shmctl(self.id, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

/// The keys of the segments this process's IPC namespace holds, from `/proc/sysvipc/shm`.
pub fn visible_keys() -> Result<Vec<i32>> {
    let path = Path::new("/proc/sysvipc/shm");
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io("reading the segment table", path, e))?;
    Ok(parse_keys(&text))
}

/// The `key` column of a `/proc/sysvipc/shm` table (the first line is the header).
pub fn parse_keys(table: &str) -> Vec<i32> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}
