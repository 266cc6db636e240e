//! The checks of a [`Layers`] stack that need the filesystem, made before the mount.

use std::path::Path;

use super::layers::Layers;
use crate::{Error, Result};

impl Layers {
    /// Checks what only the filesystem can tell: every layer is a directory, the upper and
    /// work dirs are on the same filesystem, and the work dir is empty. The kernel checks
    /// these too, but answers with a bare `EINVAL` and a line in `dmesg`; this says which
    /// and why.
    pub fn check_dirs(&self) -> Result<()> {
        for (i, lower) in self.lowers.iter().enumerate() {
            require_dir(lower, &format!("lower layer {i}"))?;
        }
        if let Some(upper) = &self.upper {
            let up = require_dir(&upper.dir, "the upper layer")?;
            let work = require_dir(&upper.work, "the work dir")?;
            if up.st_dev != work.st_dev {
                return Err(Error::Invalid(format!(
                    "the upper dir {} and the work dir {} are on different filesystems; the kernel \
                     renames copied-up files from one to the other, so put them side by side",
                    upper.dir.display(),
                    upper.work.display()
                )));
            }
            let mut entries = std::fs::read_dir(&upper.work)
                .map_err(|e| Error::io("listing the work dir", &upper.work, e))?;
            if entries.next().is_some() {
                return Err(Error::Invalid(format!(
                    "the work dir {} is not empty; give the overlay a fresh, empty work dir \
                     (one per mount; it must not be shared)",
                    upper.work.display()
                )));
            }
        }
        Ok(())
    }
}

fn require_dir(path: &Path, role: &str) -> Result<nix::sys::stat::FileStat> {
    match nix::sys::stat::stat(path) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Ok(st),
        Ok(_) => Err(Error::Invalid(format!(
            "{role} {} is not a directory",
            path.display()
        ))),
        Err(nix::errno::Errno::ENOENT) => Err(Error::Invalid(format!(
            "{role} {} does not exist",
            path.display()
        ))),
        Err(errno) => Err(Error::sys_path(
            "stat",
            format!("checking {role}"),
            path,
            errno,
        )),
    }
}
