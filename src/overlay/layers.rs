//! The stack of layers, as a type, and the option string the kernel reads to mount it.
//!
//! Three traps live in the option string, and this type is where they are handled once:
//!
//! 1. **Order.** `lowerdir=A:B:C` means A is the *topmost* lower layer and C the bottom
//!    one. Dockerfiles, image manifests and this workbook's `--layer` list the layers
//!    bottom first, so the list has to be reversed when it is rendered. Getting it wrong
//!    mounts without an error and silently shows the wrong file.
//! 2. **Separators.** `,` separates mount options and `:` separates lower layers. A path
//!    that contains either must have it escaped with a backslash (and a backslash itself
//!    doubled), or the kernel reads two paths where there was one.
//! 3. **Size.** `mount(2)` copies at most one page of option text (4096 bytes here) and
//!    drops the rest. A long stack of layers must be refused here, with a sentence, not cut
//!    short by the kernel into a different stack.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The kernel's limit on the number of lower layers of one overlay (`OVL_MAX_STACK`).
pub const MAX_LOWER_LAYERS: usize = 500;

/// The most option text one `mount(2)` call passes on: one page, less the terminating NUL.
pub fn max_options_len() -> usize {
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(4096);
    page - 1
}

/// The limit on a 4 KiB-page machine, for documentation and tests.
pub const MAX_OPTIONS_LEN: usize = 4095;

// ANCHOR: layers
/// An overlay stack: read-only lower layers and, optionally, a writable upper layer.
///
/// Build it bottom first, as a Dockerfile reads: `Layers::new(vec![base, app], upper,
/// work)` puts `app` over `base` and `upper` over both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// Read-only layers, bottom first (index 0 is the base).
    lowers: Vec<PathBuf>,
    /// The writable layer, if any.
    upper: Option<Upper>,
    /// Keep overlay's own metadata in `user.overlay.*` xattrs instead of
    /// `trusted.overlay.*`, which only root of the host may write: needed to mount inside a
    /// user namespace.
    user_xattr: bool,
    /// Skip every sync of the upper layer (`volatile`, Linux 5.10+): for a writable layer
    /// that is thrown away after the run.
    volatile: bool,
}

/// The writable layer: `dir` receives every change; `work` is the kernel's scratch
/// directory, where it prepares a copy-up before renaming it into `dir`. Rename works only
/// within one filesystem, so both must be on the same one, and `work` must be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upper {
    pub dir: PathBuf,
    pub work: PathBuf,
}
// ANCHOR_END: layers

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

    // ANCHOR: options
    /// The option string for `mount -t overlay`, limited to what one `mount(2)` call passes
    /// on.
    pub fn mount_options(&self) -> Result<String> {
        self.mount_options_within(max_options_len())
    }

    /// The option string, refused when longer than `limit` bytes.
    pub fn mount_options_within(&self, limit: usize) -> Result<String> {
        let mut options = self.options()?;
        if self.volatile && self.upper.is_some() {
            options.push_str(",volatile");
        }
        if options.len() > limit {
            return Err(Error::Invalid(format!(
                "the overlay options for {} layers take {} bytes, more than the {limit} bytes one mount(2) call \
                 passes to the kernel; use shorter layer paths or fewer layers",
                self.lowers.len() + usize::from(self.upper.is_some()),
                options.len()
            )));
        }
        Ok(options)
    }

    // ANCHOR: options_order
    /// The option string itself: lowerdir, then upperdir and workdir, then the flags.
    fn options(&self) -> Result<String> {
        // exercise 06.1: render the lowerdir option, topmost layer first
        // The kernel reads lowerdir= topmost first: reverse our bottom-first list.
        let lowers = self
            .lowers
            .iter()
            .rev()
            .map(|p| escape(p))
            .collect::<Result<Vec<_>>>()?;
        let mut options = format!("lowerdir={}", lowers.join(":"));
        if let Some(upper) = &self.upper {
            options.push_str(&format!(
                ",upperdir={},workdir={}",
                escape(&upper.dir)?,
                escape(&upper.work)?
            ));
        }
        if self.user_xattr {
            options.push_str(",userxattr");
        }
        Ok(options)
        // end of exercise 06.1
    }
    // ANCHOR_END: options_order
    // ANCHOR_END: options

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

/// Escapes the characters the overlay option parser treats specially.
// ANCHOR: escape
pub fn escape(path: &Path) -> Result<String> {
    let Some(text) = path.to_str() else {
        return Err(Error::Invalid(format!(
            "the layer path {} is not UTF-8; rename it",
            path.display()
        )));
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            // The option string ends at the first NUL, and newlines would garble mountinfo.
            '\0' | '\n' => {
                return Err(Error::Invalid(format!(
                    "the layer path {text:?} contains a NUL or newline, which no mount option can carry"
                )))
            }
            '\\' | ':' | ',' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}
// ANCHOR_END: escape

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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    /// One test with its cases in order (not rstest cases, which run in parallel): the
    /// first failure a check shows is always the same.
    #[test]
    fn read_only_lowerdir_lists_the_topmost_first() {
        for (bottom_first, want) in [
            (&["/l/base", "/l/app"][..], "lowerdir=/l/app:/l/base"),
            (&["/l/0", "/l/1", "/l/2"][..], "lowerdir=/l/2:/l/1:/l/0"),
        ] {
            read_only_case(bottom_first, want);
        }
    }

    fn read_only_case(bottom_first: &[&str], want: &str) {
        let layers = Layers::read_only(paths(bottom_first)).unwrap();
        let got = layers.mount_options().unwrap();
        assert!(
            got == want,
            "for layers listed bottom first as {bottom_first:?}, the options read {got:?}: \
             lowerdir= takes the topmost layer first"
        );
    }

    #[test]
    fn upper_and_work_follow_the_lowers() {
        let layers =
            Layers::new(paths(&["/l/base", "/l/app"]), "/c/upper", "/c/work").unwrap();
        assert_eq!(
            layers.mount_options().unwrap(),
            "lowerdir=/l/app:/l/base,upperdir=/c/upper,workdir=/c/work"
        );
    }

    #[rstest]
    #[case::colon("/l/a:b", r"/l/a\:b")]
    #[case::comma("/l/a,b", r"/l/a\,b")]
    #[case::backslash(r"/l/a\b", r"/l/a\\b")]
    #[case::all(r"/x:,\", r"/x\:\,\\")]
    #[case::plain("/l/plain dir", "/l/plain dir")]
    fn separators_in_paths_are_escaped(#[case] path: &str, #[case] want: &str) {
        assert_eq!(escape(Path::new(path)).unwrap(), want);
        let layers = Layers::new(vec![PathBuf::from(path)], "/u", "/w").unwrap();
        assert!(layers
            .mount_options()
            .unwrap()
            .starts_with(&format!("lowerdir={want},")));
    }

    #[rstest]
    #[case::newline("/l/a\nb", "newline")]
    #[case::nul("/l/a\0b", "NUL")]
    fn unrepresentable_paths_are_refused(#[case] path: &str, #[case] word: &str) {
        let err = escape(Path::new(path)).unwrap_err().to_string();
        assert!(err.contains(word), "{err}");
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

    #[test]
    fn options_longer_than_a_page_are_refused_not_truncated() {
        // 100 layers of 60-byte paths: about 6 KB of options, more than a page.
        let lowers: Vec<PathBuf> = (0..100)
            .map(|i| {
                PathBuf::from(format!(
                    "/var/lib/container-workbook/images/layers/sha256/{i:012}"
                ))
            })
            .collect();
        let layers = Layers::read_only(lowers).unwrap();
        let err = layers
            .mount_options_within(MAX_OPTIONS_LEN)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("100 layers") && err.contains("4095 bytes"),
            "{err}"
        );
        // The same stack fits when the limit allows it: the refusal is about size only.
        assert!(layers.mount_options_within(1 << 16).is_ok());
    }

    #[test]
    fn the_page_limit_is_one_page_less_the_nul() {
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .unwrap()
            .unwrap();
        assert_eq!(max_options_len() as i64, page - 1);
    }
}
