//! The option string the kernel reads to mount a [`Layers`] stack.
//!
//! Three traps live in the option string, and this is where they are handled once:
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

use std::path::Path;

use super::layers::Layers;
use crate::{Error, Result};

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

impl Layers {
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
}

/// Escapes the characters the overlay option parser treats specially.
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::path::PathBuf;

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
