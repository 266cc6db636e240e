//! Replacing the child with the command, as a shell would: search PATH, then execve(2).

use std::convert::Infallible;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The PATH used to find a command inside a container, where the host's PATH means nothing.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds `program` as execvp(3) would, but under `root`: a name with a slash is taken as it
/// is; otherwise each directory of `path` is tried. Returns the path inside the root.
///
/// Used before the container starts, so that "not found in the rootfs" is said in one clear
/// sentence by the parent rather than discovered by the child after all the setup.
pub fn find_in_path(root: &Path, program: &str, path: &str) -> Option<PathBuf> {
    let inside = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&inside(&p)).then_some(p);
    }
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|p| is_executable(&inside(p)))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // Follows symlinks; a symlink inside a rootfs that is absolute points into the host here,
    // which is why the check is advice and the child's exec has the last word.
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Replaces the current process with `argv[0]`, searched in PATH. Returns only on failure:
/// "not found" (status 127) or "cannot run" (status 126), as shells report them.
pub fn exec(argv: &[String]) -> Result<Infallible> {
    let program = argv
        .first()
        .ok_or_else(|| Error::Invalid("no command was given to run".into()))?;
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Invalid(format!("{program}: an argument holds a NUL byte")))?;
    let Err(errno) = nix::unistd::execvp(&args[0], &args);
    use nix::errno::Errno;
    let (code, reason) = match errno {
        Errno::ENOENT => (127, "command not found".to_string()),
        Errno::EACCES | Errno::ENOEXEC | Errno::EISDIR => {
            (126, format!("cannot run it ({})", errno.desc()))
        }
        other => (126, format!("execve failed: {}", other.desc())),
    };
    Err(Error::Command {
        program: program.clone(),
        reason,
        code,
    })
}
