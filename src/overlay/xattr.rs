//! Extended attributes, the few calls the layers need (nix has no wrapper for them).
//!
//! Overlayfs keeps its own bookkeeping in `trusted.overlay.*` attributes, a namespace that
//! only a process with CAP_SYS_ADMIN may read or write; image layers carry file
//! capabilities (`security.capability`) and ACLs as xattrs too. All calls here are the `l`
//! forms: they act on a symlink itself, never on what it points to.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::{Error, Result};

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        Error::Invalid(format!("the path {} contains a NUL byte", path.display()))
    })
}

fn c_name(name: &str) -> Result<CString> {
    CString::new(name)
        .map_err(|_| Error::Invalid(format!("the xattr name {name:?} contains a NUL byte")))
}

/// Sets the attribute `name` of `path` (not following a symlink).
pub fn set(path: &Path, name: &str, value: &[u8]) -> Result<()> {
    let p = c_path(path)?;
    let n = c_name(name)?;
    // SAFETY: both strings are NUL-terminated and live across the call; value is a valid
    // slice.
    let rc = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    Errno::result(rc).map(drop).map_err(|e| {
        Error::sys_path(
            "lsetxattr",
            format!("setting the attribute {name}"),
            path,
            e,
        )
    })
}

/// Reads the attribute `name` of `path`; `None` when the file has no such attribute.
pub fn get(path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let p = c_path(path)?;
    let n = c_name(name)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: buf is valid for buf.len() bytes; the strings are NUL-terminated.
        let rc = unsafe {
            libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        match Errno::result(rc) {
            Ok(len) => {
                buf.truncate(len as usize);
                return Ok(Some(buf));
            }
            Err(Errno::ENODATA) => return Ok(None),
            Err(Errno::ERANGE) if buf.len() < 1 << 16 => buf.resize(buf.len() * 4, 0),
            Err(e) => {
                return Err(Error::sys_path(
                    "lgetxattr",
                    format!("reading the attribute {name}"),
                    path,
                    e,
                ))
            }
        }
    }
}
