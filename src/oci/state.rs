//! Where a container's state lives between the runtime's invocations: a directory per
//! container under `--root` (default `/run/workbook-oci`), holding `state.json` (our
//! record) and `exec.fifo` (the FIFO the created container waits on).
//!
//! The record is written before anything is made (a cgroup, a process), and updated as
//! each appears, so that a runtime killed at any point leaves a record that
//! `delete --force` can follow to remove everything.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::Hooks;
use crate::{Error, Result};

/// The default `--root`, beside runc's `/run/runc`.
pub const DEFAULT_ROOT: &str = "/run/workbook-oci";

/// The spec version this runtime speaks (runc 1.1 says 1.0.2-dev).
pub const OCI_VERSION: &str = "1.0.2";

/// Our record of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// The container's init, once it exists, with its start time (field 22 of
    /// /proc/PID/stat): a pid alone may be reused by another process after it ends.
    pub pid: Option<i32>,
    pub pid_start: Option<u64>,
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The cgroup directories (one per v1 hierarchy, one on v2), removed by `delete`.
    #[serde(default)]
    pub cgroup_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub cgroup_v2: bool,
    /// Those of `cgroup_dirs` that this container made (it did not find them): the only
    /// ones whose processes `delete` kills and that it removes. Absent in a record of an
    /// older runtime, which made them all.
    #[serde(default)]
    pub cgroup_made: Option<Vec<PathBuf>>,
    /// The init is PID 1 of a namespace of its own: when it is gone, so is every process
    /// of the container (the kernel kills the rest of the namespace).
    #[serde(default)]
    pub own_pid_namespace: bool,
    /// `create` has not finished.
    pub creating: bool,
    #[serde(default)]
    pub hooks: Hooks,
    /// The container's `linux.seccomp`, which `exec` applies to its process too.
    #[serde(default)]
    pub seccomp: Option<serde_json::Value>,
    /// With `--systemd-cgroup`: the scope unit that holds the cgroup, stopped by `delete`.
    #[serde(default)]
    pub systemd_unit: Option<String>,
    /// What `create` made in resctrl (`linux.intelRdt`), removed by `delete`.
    #[serde(default)]
    pub rdt_made: super::intel_rdt::Made,
}

/// What the spec calls the container's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    /// Alive, its cgroup frozen (`pause`).
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A container's directory under the root.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

/// Refuses an id that is not one plain file name: it becomes a directory name.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "container id '{id}' must be letters, digits, '-', '_', '+' or '.', not starting with '.'"
        )))
    }
}

impl StateDir {
    /// The directory of container `id` under `root` (it may not exist).
    pub fn of(root: &Path, id: &str) -> Result<StateDir> {
        check_id(id)?;
        Ok(StateDir { dir: root.join(id) })
    }

    /// Makes the directory; an existing one means the id is taken. The record holds the
    /// hooks' environment (tokens, say), so the root is made 0700 and each container's
    /// directory 0700 too, as runc does: a `--root` that exists already (made by an admin,
    /// perhaps 0755 and shared) is left as it is, and the container's own directory keeps
    /// other users out of it. The init never walks this path: it holds the FIFO open.
    pub fn make(root: &Path, id: &str) -> Result<StateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let state = StateDir::of(root, id)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| Error::io("creating the state root", root, e))?;
        match std::fs::DirBuilder::new().mode(0o700).create(&state.dir) {
            Ok(()) => Ok(state),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Invalid(
                format!("a container with id '{id}' already exists"),
            )),
            Err(e) => Err(Error::io(
                "creating the container's state dir",
                &state.dir,
                e,
            )),
        }
    }

    /// Refuses an id that is taken, before `create` makes anything (a cgroup of the same
    /// name, say, whose error would hide the real reason); [`StateDir::make`] checks again.
    pub fn refuse_taken(&self) -> Result<()> {
        if self.dir.exists() {
            let id = self.dir.file_name().unwrap_or_default().to_string_lossy();
            return Err(Error::Invalid(format!(
                "a container with id '{id}' already exists"
            )));
        }
        Ok(())
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }

    fn file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Reads the record; a missing directory is "no such container".
    pub fn load(&self) -> Result<Record> {
        let file = self.file();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = self.dir.file_name().unwrap_or_default().to_string_lossy();
                return Err(Error::Invalid(format!("container '{id}' does not exist")));
            }
            Err(e) => return Err(Error::io("reading the container's state", &file, e)),
        };
        serde_json::from_str(&text).map_err(|e| {
            let id = self.dir.file_name().unwrap_or_default().to_string_lossy();
            Error::Invalid(format!(
                "the state file {} is damaged ({e}): `delete --force {id}` removes what can still be found",
                file.display()
            ))
        })
    }

    /// Writes the record atomically (a temp file renamed over the old one): a reader never
    /// sees half of it, even when the writer is killed.
    pub fn save(&self, record: &Record) -> Result<()> {
        let file = self.file();
        let tmp = self.dir.join(".state.json.tmp");
        let text = serde_json::to_string(record)
            .map_err(|e| Error::Invalid(format!("cannot encode the state: {e}")))?;
        // 0600 from the first byte (a chmod after the write would leave a window); a temp
        // file left by a killed writer is replaced, not reused with its old mode.
        let _ = std::fs::remove_file(&tmp);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| Error::io("writing the state", &tmp, e))?;
        std::fs::rename(&tmp, &file).map_err(|e| Error::io("replacing the state", &file, e))
    }

    /// Removes the directory and everything in it.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(
                "removing the container's state dir",
                &self.dir,
                e,
            )),
        }
    }
}

/// The start time of process `pid` (field 22 of /proc/PID/stat) and its state letter
/// (field 3: R, S, D, Z for a zombie, …).
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((start, state))
}

impl Record {
    /// The cgroup directories this container made, which `delete` kills and removes.
    pub fn own_cgroup_dirs(&self) -> &[PathBuf] {
        self.cgroup_made.as_deref().unwrap_or(&self.cgroup_dirs)
    }

    /// Whether the init process is still the one we made, and alive (a zombie is not).
    pub fn init_alive(&self) -> bool {
        match (self.pid, self.pid_start) {
            (Some(pid), Some(start)) => {
                matches!(proc_stat(pid), Some((s, state)) if s == start && state != 'Z' && state != 'X')
            }
            _ => false,
        }
    }

    /// The status, from the process itself: alive and still waiting on the FIFO is
    /// `created`, alive past it `running`, gone `stopped`; alive in a frozen cgroup is
    /// `paused`, whichever it was before.
    pub fn status(&self, state: &StateDir) -> Status {
        // exercise 08.1: decide the status from the record and the kernel
        if self.creating && self.pid.is_none() {
            return Status::Creating;
        }
        if !self.init_alive() {
            return Status::Stopped;
        }
        if self.creating {
            return Status::Creating;
        }
        if super::commands::freezer::Freezer::of(&self.cgroup_dirs, self.cgroup_v2)
            .is_some_and(|f| f.is_frozen())
        {
            return Status::Paused;
        }
        if state.fifo().exists() {
            Status::Created
        } else {
            Status::Running
        }
        // end of exercise 08.1
    }

    /// The state as the spec (and runc) writes it: for `state` and for hooks' stdin.
    pub fn to_json(&self, status: Status) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": if status == Status::Stopped { 0 } else { self.pid.unwrap_or(0) },
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": "",
        });
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::json!(self.annotations);
        }
        v
    }
}

/// Now, in RFC 3339 (UTC, nanoseconds), as runc writes `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil: the proleptic Gregorian date of a day number.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_names() {
        assert!(check_id("abc-1_2.3").is_ok());
        assert!(check_id("../x").is_err());
        assert!(check_id(".hidden").is_err());
        assert!(check_id("").is_err());
    }

    #[test]
    fn the_date_is_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 30, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}
