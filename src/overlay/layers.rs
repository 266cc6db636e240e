//! The stack of layers, as a type: read-only lower layers, bottom first, and optionally a
//! writable upper layer with its work dir.
//!
//! What can be checked from the paths alone is checked once, here, when the stack is built:
//! every path absolute (the kernel would resolve a relative one against the mounting
//! process's cwd, later and elsewhere), at most [`MAX_LOWER_LAYERS`] lowers, the upper and
//! work dirs apart. The option string the kernel reads is in [`super::options`]; what only
//! the filesystem can tell, in [`super::dir_checks`].

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The kernel's limit on the number of lower layers of one overlay (`OVL_MAX_STACK`).
pub const MAX_LOWER_LAYERS: usize = 500;

/// An overlay stack: read-only lower layers and, optionally, a writable upper layer.
///
/// Build it bottom first, as a Dockerfile reads: `Layers::new(vec![base, app], upper,
/// work)` puts `app` over `base` and `upper` over both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// Read-only layers, bottom first (index 0 is the base).
    pub(super) lowers: Vec<PathBuf>,
    /// The writable layer, if any.
    pub(super) upper: Option<Upper>,
    /// Keep overlay's own metadata in `user.overlay.*` xattrs instead of
    /// `trusted.overlay.*`, which only root of the host may write: needed to mount inside a
    /// user namespace.
    pub(super) user_xattr: bool,
    /// Skip every sync of the upper layer (`volatile`, Linux 5.10+): for a writable layer
    /// that is thrown away after the run.
    pub(super) volatile: bool,
}

/// The writable layer: `dir` receives every change; `work` is the kernel's scratch
/// directory, where it prepares a copy-up before renaming it into `dir`. Rename works only
/// within one filesystem, so both must be on the same one, and `work` must be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upper {
    pub dir: PathBuf,
    pub work: PathBuf,
}

impl Layers {
    /// A stack with a writable upper layer (the case of a running container).
    pub fn new(
        lowers: Vec<PathBuf>,
        upper: impl Into<PathBuf>,
        work: impl Into<PathBuf>,
    ) -> Result<Self> {
        let upper = Upper {
            dir: absolute(&upper.into())?,
            work: absolute(&work.into())?,
        };
        if upper.dir.starts_with(&upper.work) || upper.work.starts_with(&upper.dir) {
            return Err(Error::Invalid(format!(
                "the upper dir {} and the work dir {} must be separate directories, neither inside the other",
                upper.dir.display(),
                upper.work.display()
            )));
        }
        Self::build(lowers, Some(upper))
    }

    /// A read-only stack (an image looked at, not run). The kernel wants at least two lower
    /// layers when there is no upper one; for a single read-only layer, bind-mount it
    /// instead.
    pub fn read_only(lowers: Vec<PathBuf>) -> Result<Self> {
        if lowers.len() == 1 {
            return Err(Error::Invalid(format!(
                "a read-only overlay needs at least two layers (the kernel refuses one lower layer without an upper one); \
                 got only {}: bind-mount it instead, or add a writable upper layer",
                lowers[0].display()
            )));
        }
        Self::build(lowers, None)
    }

    fn build(lowers: Vec<PathBuf>, upper: Option<Upper>) -> Result<Self> {
        if lowers.is_empty() {
            return Err(Error::Invalid(
                "an overlay needs at least one lower layer".into(),
            ));
        }
        if lowers.len() > MAX_LOWER_LAYERS {
            return Err(Error::Invalid(format!(
                "{} lower layers are more than the kernel stacks in one overlay ({MAX_LOWER_LAYERS}); \
                 squash some layers into one",
                lowers.len()
            )));
        }
        let lowers = lowers
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(Layers {
            lowers,
            upper,
            user_xattr: false,
            volatile: false,
        })
    }

    /// The same stack, to be mounted from inside a user namespace (the `userxattr` option,
    /// Linux 5.11+).
    pub fn in_user_namespace(mut self) -> Self {
        self.user_xattr = true;
        self
    }

    /// The same stack, for a writable layer that is deleted after the run: overlayfs skips
    /// every sync of the upper filesystem (`volatile`). Without it, the unmount when the
    /// container's mount namespace dies runs `sync_filesystem` on the upper layer's
    /// filesystem (all of it: the host's root, on most machines), and the container's last
    /// process waits for the disk (bench/README.md has how long). What is lost in a crash
    /// is a layer that would be removed anyway. (A volatile upper layer cannot be mounted
    /// again after a crash: overlayfs leaves `work/incompat/volatile` to refuse it. Ours
    /// never is.)
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Whether the stack is mounted `volatile`.
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// The same stack, mounted with syncs.
    pub fn without_volatile(mut self) -> Self {
        self.volatile = false;
        self
    }

    /// The same stack with each lower layer named `/proc/self/fd/N`, and the fds that keep
    /// those names alive until the mount.
    ///
    /// Rootless: the child mounts the overlay as its mapped ID, which may not be allowed to
    /// walk the path to a layer (the store lives under a home directory). So the child
    /// opens each layer first (O_PATH), while it still has the IDs it was born with, and
    /// then names it `/proc/self/fd/N`: that link leads to the directory without a
    /// permission check on the path above it. (The parent cannot open them for it:
    /// overlayfs takes layers only from the mounter's own mount namespace.) The fds close
    /// at exec (O_CLOEXEC).
    pub fn reopened_by_fd(&self) -> Result<(Layers, Vec<std::os::fd::OwnedFd>)> {
        use nix::fcntl::{open, OFlag};
        let mut lowers = Vec::new();
        let mut fds = Vec::new();
        for lower in &self.lowers {
            let fd = open(
                lower.as_path(),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| Error::sys_path("open", "opening a layer", lower, e))?;
            let n = std::os::fd::AsRawFd::as_raw_fd(&fd);
            lowers.push(PathBuf::from(format!("/proc/self/fd/{n}")));
            fds.push(fd);
        }
        let by_fd = Layers {
            lowers,
            ..self.clone()
        };
        Ok((by_fd, fds))
    }

    /// The read-only layers, bottom first.
    pub fn lowers(&self) -> &[PathBuf] {
        &self.lowers
    }

    /// The writable layer, if any.
    pub fn upper(&self) -> Option<&Upper> {
        self.upper.as_ref()
    }
}

/// An absolute path without touching the filesystem (the mount happens elsewhere, later,
/// and the kernel resolves relative option paths against whatever the mounting process's
/// cwd is).
fn absolute(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::Invalid("an overlay layer path is empty".into()));
    }
    std::path::absolute(path)
        .map_err(|e| Error::io("making the layer path absolute", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn relative_paths_become_absolute() {
        let layers = Layers::read_only(paths(&["a", "b"])).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(layers.lowers(), &[cwd.join("a"), cwd.join("b")]);
    }

    #[rstest]
    #[case::no_layers(Layers::read_only(vec![]), "at least one lower layer")]
    #[case::one_read_only(Layers::read_only(paths(&["/l/only"])), "at least two layers")]
    #[case::empty_path(Layers::read_only(paths(&["", "/l"])), "empty")]
    #[case::work_in_upper(Layers::new(paths(&["/l"]), "/c/upper", "/c/upper/work"), "separate")]
    #[case::same_dir(Layers::new(paths(&["/l"]), "/c/x", "/c/x"), "separate")]
    #[case::too_many(Layers::read_only((0..=MAX_LOWER_LAYERS).map(|i| PathBuf::from(format!("/{i}"))).collect()), "more than the kernel stacks")]
    fn bad_stacks_are_refused(#[case] layers: Result<Layers>, #[case] word: &str) {
        let err = layers.unwrap_err().to_string();
        assert!(err.contains(word), "{err}");
    }
}
