//! Who owns a thing on disk: `<pid> <start time>` of a process, which stays unique even
//! when the pid is reused (the start time then differs). A SIGKILLed process cannot remove
//! what it made; whoever finds its record later can tell it is dead and remove it for it.

/// The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat),
/// which together with the pid names a process uniquely.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its ')' are plain.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// `<pid> <start time>` of this process.
pub fn owner_record() -> String {
    let pid = std::process::id();
    format!("{pid} {}", start_time(pid as i32).unwrap_or(0))
}

/// The same as one word, `<pid>-<start time>`, for file names.
pub fn owner_tag() -> String {
    owner_record().replace(' ', "-")
}

/// Whether the owner recorded in `text` (as [`owner_record`] wrote it) is still the same
/// running process.
pub fn owner_alive(text: &str) -> bool {
    let mut fields = text.split_whitespace();
    let (Some(pid), Some(started)) = (fields.next(), fields.next()) else {
        return false;
    };
    match (pid.parse::<i32>(), started.parse::<u64>()) {
        (Ok(pid), Ok(started)) => start_time(pid) == Some(started),
        _ => false,
    }
}

/// The owner named at the start of `rest` (`<pid>-<start>-anything`), if it has one.
pub fn owner_in_name(rest: &str) -> Option<String> {
    let mut parts = rest.splitn(3, '-');
    let (pid, started) = (parts.next()?, parts.next()?);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(pid) && numeric(started)).then(|| format!("{pid} {started}"))
}

/// Removes a directory tree a run or an import left (missing is fine). A layer or an upper
/// dir may hold read-only directories, and overlayfs leaves its work dir's `work/` with
/// mode 000: root may remove all that, but a normal user must first give itself the right
/// to enter and change those directories. `what` says in the error what it was.
pub fn remove_tree(path: &std::path::Path, what: &str) -> crate::Result<()> {
    use crate::Error;
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            open_up(path);
            std::fs::remove_dir_all(path).map_err(|e| Error::io(what, path, e))
        }
        Err(e) => Err(Error::io(what, path, e)),
    }
}

/// Gives the owner rwx on every directory below `dir` (never following a symlink:
/// read_dir's file type is the entry's own).
fn open_up(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_not() {
        assert!(owner_alive(&owner_record()));
        let pid = std::process::id();
        assert!(!owner_alive(&format!("{pid} 1")));
        assert!(!owner_alive("garbage"));
    }

    #[test]
    fn owners_are_read_back_from_names() {
        assert_eq!(owner_in_name("12-345-x-y").as_deref(), Some("12 345"));
        assert_eq!(owner_in_name("12-345").as_deref(), Some("12 345"));
        assert_eq!(owner_in_name("abc-345-x"), None);
        assert_eq!(owner_in_name("x"), None);
        assert!(owner_alive(
            &owner_in_name(&format!("{}-rest", owner_tag())).unwrap()
        ));
    }
}
