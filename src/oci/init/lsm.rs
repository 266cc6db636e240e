//! The Linux security modules' labels: `process.apparmorProfile` and
//! `process.selinuxLabel`. Each is the profile (or context) the kernel puts the program in
//! at its execve(2): the init writes it to its own `attr/exec` file in /proc, as runc does,
//! and the module applies it at the exec. Writing it earlier would confine the init's own
//! remaining steps.
//!
//! Where the module is off there is nothing to write to (the kernel refuses the write):
//! the field is refused before anything is made, as runc refuses a label without SELinux
//! and fails to apply a profile without AppArmor. podman sends a profile only where
//! AppArmor is on.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The two labels, as config.json gives them (empty is unset).
#[derive(Debug, Clone, Copy, Default)]
pub struct Labels<'a> {
    pub apparmor_profile: Option<&'a str>,
    pub selinux_label: Option<&'a str>,
}

/// Whether AppArmor is on: the module's `enabled` parameter reads `Y` (the file is absent
/// when the kernel has no AppArmor, `N` when it is built in but off).
pub fn apparmor_enabled(sys: &Path) -> bool {
    std::fs::read_to_string(sys.join("module/apparmor/parameters/enabled"))
        .is_ok_and(|s| s.starts_with('Y'))
}

/// Whether SELinux is on: its filesystem is mounted, with its `enforce` file.
pub fn selinux_enabled(sys: &Path) -> bool {
    sys.join("fs/selinux/enforce").exists()
}

/// The file that takes AppArmor's next profile: `attr/apparmor/exec` since Linux 5.8
/// (where several modules may stack), else the shared `attr/exec`.
pub fn apparmor_exec_file(proc: &Path) -> PathBuf {
    let own = proc.join("thread-self/attr/apparmor/exec");
    if own.exists() {
        own
    } else {
        proc.join("thread-self/attr/exec")
    }
}

fn asked(field: Option<&str>) -> Option<&str> {
    field.filter(|s| !s.is_empty())
}

/// Refuses a label whose module is off on this host (`sys` is /sys, or a fake one).
pub fn check_on(labels: Labels<'_>, sys: &Path) -> Result<()> {
    if let Some(profile) = asked(labels.apparmor_profile) {
        if !apparmor_enabled(sys) {
            return Err(Error::Unsupported(format!(
                "config.json asks for process.apparmorProfile {profile:?}, but AppArmor is not enabled on this host ({} does not read Y): remove the field, or boot with apparmor=1",
                sys.join("module/apparmor/parameters/enabled").display()
            )));
        }
    }
    if let Some(label) = asked(labels.selinux_label) {
        if !selinux_enabled(sys) {
            return Err(Error::Unsupported(format!(
                "config.json asks for process.selinuxLabel {label:?}, but SELinux is disabled on this host (no {}), and runc refuses it too: remove the field",
                sys.join("fs/selinux/enforce").display()
            )));
        }
    }
    Ok(())
}

/// [`check_on`] the host's /sys.
pub fn check(labels: Labels<'_>) -> Result<()> {
    check_on(labels, Path::new("/sys"))
}

/// Writes the profile and the label for the next execve, through `proc` (the container's
/// /proc: the init runs after the pivot).
pub fn apply_on(labels: Labels<'_>, proc: &Path) -> Result<()> {
    if let Some(profile) = asked(labels.apparmor_profile) {
        let file = apparmor_exec_file(proc);
        // AppArmor answers the write with ENOENT when no profile of that name is loaded.
        let not_loaded = format!(
            "config.json asks for process.apparmorProfile {profile:?}, but AppArmor has no profile of that name loaded (writing {} gave ENOENT): load it with apparmor_parser -r, or name a loaded one",
            file.display()
        );
        write_attr(
            &file,
            &format!("exec {profile}"),
            "process.apparmorProfile",
            Some(not_loaded),
        )?;
    }
    if let Some(label) = asked(labels.selinux_label) {
        write_attr(
            &proc.join("thread-self/attr/exec"),
            label,
            "process.selinuxLabel",
            None,
        )?;
    }
    Ok(())
}

/// [`apply_on`] /proc.
pub fn apply(labels: Labels<'_>) -> Result<()> {
    apply_on(labels, Path::new("/proc"))
}

/// One write(2) of the whole value: the module reads a command per write. `not_found`:
/// the sentence for a write the module answers with ENOENT.
fn write_attr(
    file: &Path,
    value: &str,
    field: &str,
    not_found: Option<String>,
) -> Result<()> {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(|e| {
            Error::io(
                format!("applying {field} (the container needs /proc mounted)"),
                file,
                e,
            )
        })?;
    out.write_all(value.as_bytes())
        .map_err(|e| match not_found {
            Some(sentence) if e.kind() == std::io::ErrorKind::NotFound => {
                Error::Invalid(sentence)
            }
            _ => Error::io(
                format!("applying {field} {value:?} (is the profile loaded?)"),
                file,
                e,
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process<'a>(profile: Option<&'a str>, label: Option<&'a str>) -> Labels<'a> {
        Labels {
            apparmor_profile: profile,
            selinux_label: label,
        }
    }

    #[test]
    fn a_profile_is_accepted_where_apparmor_is_on_and_written_for_the_exec() {
        let dir = tempfile::tempdir().unwrap();
        let (sys, proc) = (dir.path().join("sys"), dir.path().join("proc"));
        let params = sys.join("module/apparmor/parameters");
        std::fs::create_dir_all(&params).unwrap();
        let with = process(Some("container-default"), None);
        assert!(check_on(with, &sys).is_err(), "no enabled file: off");
        std::fs::write(params.join("enabled"), "N\n").unwrap();
        let err = check_on(with, &sys).unwrap_err().to_string();
        assert!(
            err.contains("apparmorProfile") && err.contains("AppArmor"),
            "{err}"
        );
        std::fs::write(params.join("enabled"), "Y\n").unwrap();
        check_on(with, &sys).unwrap();
        assert!(check_on(process(Some(""), None), &sys).is_ok());
        // An older kernel: only attr/exec.
        let attr = proc.join("thread-self/attr");
        std::fs::create_dir_all(&attr).unwrap();
        std::fs::write(attr.join("exec"), "").unwrap();
        apply_on(with, &proc).unwrap();
        assert_eq!(
            std::fs::read_to_string(attr.join("exec")).unwrap(),
            "exec container-default"
        );
        // Linux 5.8 and later: AppArmor's own file.
        std::fs::create_dir_all(attr.join("apparmor")).unwrap();
        std::fs::write(attr.join("apparmor/exec"), "").unwrap();
        apply_on(with, &proc).unwrap();
        assert_eq!(
            std::fs::read_to_string(attr.join("apparmor/exec")).unwrap(),
            "exec container-default"
        );
    }

    #[test]
    fn a_selinux_label_needs_selinux() {
        let dir = tempfile::tempdir().unwrap();
        let with = process(None, Some("system_u:system_r:container_t:s0"));
        let err = check_on(with, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("selinuxLabel") && err.contains("SELinux"),
            "{err}"
        );
        std::fs::create_dir_all(dir.path().join("fs/selinux")).unwrap();
        std::fs::write(dir.path().join("fs/selinux/enforce"), "1").unwrap();
        check_on(with, dir.path()).unwrap();
    }
}
