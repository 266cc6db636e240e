//! The runtime's own binary, out of the container's reach (CVE-2019-5736).
//!
//! The container's init and every `exec` child run the runtime's code inside the
//! container until their execve, and `/proc/PID/exe` of such a process is a link to the
//! file it runs: the host's binary. A process in the container opens that link read-only
//! (the kernel refuses a write open of a running binary with ETXTBSY, not a read one),
//! waits until no runtime process runs the file, and writes through /proc/self/fd/N. The
//! next `runc` anyone starts on the host runs the attacker's code as root.
//!
//! So, before anything enters the container, the runtime re-executes itself from a copy
//! in memory (memfd_create(2)) that is sealed (fcntl F_ADD_SEALS): no write, no resize,
//! and no more changes to the seals. `/proc/PID/exe` then leads to that copy, which
//! nobody can change, and which no one else runs. runc (1.0-rc7 to 1.1) and crun do the
//! same; runc 1.2 executes itself through a read-only bind mount instead, which copies
//! nothing.

use std::ffi::{CStr, CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::AtFlags;

use crate::{Error, Result};

/// The seals of the copy: F_SEAL_WRITE (no write(2), no writable shared mapping), SHRINK
/// and GROW (no truncate, no append), and SEAL (the seals themselves are final).
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

// ANCHOR: reexec_sealed
/// Re-executes this process, with the same arguments and environment, from a sealed
/// in-memory copy of its binary named `name`; returns at once when it already runs from
/// one (the copy's seals are its own mark, so the copy does not copy again).
pub fn reexec_sealed(name: &CStr) -> Result<()> {
    let exe = File::open("/proc/self/exe").map_err(|e| {
        Error::io_no_path("opening the runtime's own binary, /proc/self/exe", e)
    })?;
    if is_sealed(&exe) {
        return Ok(());
    }
    let copy = sealed_copy(exe, name)?;
    let args = to_cstrings(std::env::args_os())?;
    let env = to_cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    // The copy is close-on-exec: after the exec, only the running image holds it.
    let Err(errno) = nix::unistd::execveat(&copy, c"", &args, &env, AtFlags::AT_EMPTY_PATH);
    Err(Error::sys(
        "execveat",
        "re-executing the runtime from its sealed copy",
        errno,
    ))
}
// ANCHOR_END: reexec_sealed

/// Whether `file` carries all of our seals (only a memfd can: F_GET_SEALS fails with
/// EINVAL on a file of any other filesystem).
fn is_sealed(file: &File) -> bool {
    // SAFETY: fcntl with an integer command on an fd we own.
    let seals = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
}

/// A memfd holding the bytes of `exe`, sealed.
fn sealed_copy(mut exe: File, name: &CStr) -> Result<OwnedFd> {
    let mut copy = File::from(memfd(name)?);
    // std's copy uses copy_file_range(2), or sendfile(2): the bytes never reach user space.
    std::io::copy(&mut exe, &mut copy)
        .map_err(|e| Error::io_no_path("copying the runtime's binary into a memfd", e))?;
    seal(&copy)?;
    Ok(copy.into())
}

/// Adds the seals. F_SEAL_WRITE waits until no page of the copy holds a reference the
/// kernel cannot account for (one just written, still in another CPU's batch; one taken
/// for compaction), then gives up with EBUSY after about 150 ms. That happened once in a
/// loaded test run, so EBUSY is tried again a few times before it is an error.
fn seal(copy: &File) -> Result<()> {
    let mut pause = std::time::Duration::from_millis(10);
    let mut tries = 0;
    let errno = loop {
        // SAFETY: fcntl with integer arguments on an fd we own.
        if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } == 0 {
            return Ok(());
        }
        let errno = Errno::last();
        tries += 1;
        if errno != Errno::EBUSY || tries == 5 {
            break errno;
        }
        std::thread::sleep(pause);
        pause *= 2;
    };
    Err(Error::sys(
        "fcntl(F_ADD_SEALS)",
        "sealing the runtime's copy",
        errno,
    ))
}

/// An executable memfd, closed on exec, that accepts seals.
fn memfd(name: &CStr) -> Result<OwnedFd> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: a NUL-terminated name and integer flags; the fd returned is ours.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | libc::MFD_EXEC) };
    if fd < 0 && Errno::last() == Errno::EINVAL {
        // Kernels before 6.3 know no MFD_EXEC; their memfds are all executable.
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(Error::sys(
            "memfd_create",
            "making the sealed copy of the runtime (the sysctl vm.memfd_noexec=2 forbids \
             executable memfds: set it to 0 or 1)",
            Errno::last(),
        ));
    }
    // SAFETY: memfd_create returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn to_cstrings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| {
                Error::Invalid(
                    "an argument or environment variable holds a NUL byte".into(),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    #[test]
    fn a_sealed_copy_keeps_the_bytes_refuses_writes_and_carries_the_mark() {
        let mut source = tempfile::tempfile().expect("temp file");
        source.write_all(b"\x7fELF and the rest").expect("write");
        let on_disk = source.try_clone().expect("dup");
        assert!(!is_sealed(&on_disk), "a file on disk has no seals");
        source.rewind().expect("rewind");
        let copy = File::from(sealed_copy(source, c"test-copy").expect("sealed copy"));
        assert!(is_sealed(&copy), "the copy carries all four seals");
        assert_eq!(
            std::fs::read(format!("/proc/self/fd/{}", copy.as_raw_fd())).expect("read"),
            b"\x7fELF and the rest"
        );
        // The attack's way in: reopen the copy through /proc for writing.
        let path = format!("/proc/self/fd/{}", copy.as_raw_fd());
        let mut reopened = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("a memfd may be reopened for writing; the seal refuses the write");
        let write = reopened.write_all(b"#PWNED");
        assert_eq!(write.map_err(|e| e.raw_os_error()), Err(Some(libc::EPERM)));
        let truncate = reopened.set_len(0);
        assert_eq!(
            truncate.map_err(|e| e.raw_os_error()),
            Err(Some(libc::EPERM))
        );
        // SAFETY: fcntl with integer arguments on an fd we own.
        let unseal = unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, 0) };
        assert_eq!(
            (unseal, Errno::last()),
            (-1, Errno::EPERM),
            "F_SEAL_SEAL is final"
        );
    }

    #[test]
    fn a_seal_the_kernel_keeps_refusing_is_an_error_naming_the_call() {
        // A writable shared mapping makes F_SEAL_WRITE fail with EBUSY for as long as it
        // lives: the retries end, and the error says which call and why.
        let copy = File::from(memfd(c"test-busy").expect("memfd"));
        copy.set_len(4096).expect("size");
        // SAFETY: a new shared mapping of a memfd we own, unmapped below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                copy.as_raw_fd(),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let err = seal(&copy).expect_err("sealed under a writable mapping");
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(map, 4096) };
        let text = err.to_string();
        assert!(
            text.contains("F_ADD_SEALS") && text.contains("EBUSY"),
            "{text}"
        );
        seal(&copy).expect("sealed once the mapping is gone");
    }
}
