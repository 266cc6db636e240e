//! A cgroup is made of directories and small writes. We first write down which ones (a
//! [`Plan`]), then carry them out. The plan is what differs between v1 and v2, so it is
//! what the fake-cgroupfs tests look at; carrying it out is the same for both.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::devices::{self, DeviceAllowList};
use crate::{Error, Result};

/// One step of making a cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `mkdir`: the kernel fills the new directory with the control files of every
    /// controller enabled for it. `exist_ok` for the shared parent (`workbook/`), never for
    /// the leaf.
    Mkdir { path: PathBuf, exist_ok: bool },
    /// Write `value` into a control file in one `write(2)`. A file that is not `required`
    /// is skipped when absent (`memory.swap.max` without swap accounting, say).
    Write {
        file: PathBuf,
        value: String,
        required: bool,
    },
    /// cgroup v2: load the device allow-list as a BPF program and attach it to the cgroup
    /// directory `dir` (v1 writes its list to files instead).
    AttachDevices { dir: PathBuf, list: DeviceAllowList },
}

impl Step {
    pub(crate) fn mkdir(path: PathBuf, exist_ok: bool) -> Step {
        Step::Mkdir { path, exist_ok }
    }

    pub(crate) fn write(file: PathBuf, value: impl Into<String>) -> Step {
        Step::Write {
            file,
            value: value.into(),
            required: true,
        }
    }

    pub(crate) fn write_if_present(file: PathBuf, value: impl Into<String>) -> Step {
        Step::Write {
            file,
            value: value.into(),
            required: false,
        }
    }
}

/// Everything needed to make one workload's cgroup, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The cgroup's directories: one on v2, one per hierarchy on v1.
    pub dirs: Vec<PathBuf>,
    /// The shared parents (`…/workbook`), made when missing and never removed.
    pub parents: Vec<PathBuf>,
    /// The steps, in the order the kernel needs them.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Carries the plan out. `mkdir` makes one directory: the real one is
    /// `std::fs::create_dir`; the fake-cgroupfs tests pass one that also creates the
    /// control files, as the kernel would.
    pub fn execute(
        &self,
        mkdir: &mut dyn FnMut(&Path) -> std::io::Result<()>,
    ) -> Result<()> {
        let mut last_open = None;
        for step in &self.steps {
            match step {
                Step::Mkdir { path, exist_ok } => match mkdir(path) {
                    Ok(()) => {}
                    Err(e)
                        if *exist_ok && e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(Error::io("creating the cgroup directory", path, e))
                    }
                },
                Step::Write {
                    file,
                    value,
                    required,
                } => write_reusing_open(&mut last_open, file, value, *required)?,
                Step::AttachDevices { dir, list } => devices::bpf::attach(dir, list)?,
            }
        }
        Ok(())
    }
}

/// Writes `value` to a cgroup control file in a single `write(2)`, without creating it: a
/// control file that is missing means the controller is missing, and creating a plain file
/// there would hide that. Returns whether the file was there.
pub fn write_control(file: &Path, value: &str, required: bool) -> Result<bool> {
    match open_control(file, value, required)? {
        Some(mut f) => write_value(&mut f, file, value).map(|()| true),
        None => Ok(false),
    }
}

/// [`write_control`], with the file kept open in `last` for the next write: v1's device
/// list is a dozen writes to one `devices.allow`, and the kernel parses each on its own.
fn write_reusing_open<'p>(
    last: &mut Option<(&'p Path, std::fs::File)>,
    file: &'p Path,
    value: &str,
    required: bool,
) -> Result<()> {
    if !matches!(last, Some((path, _)) if *path == file) {
        *last = open_control(file, value, required)?.map(|f| (file, f));
    }
    match last {
        Some((_, f)) => write_value(f, file, value),
        None => Ok(()),
    }
}

/// Opens a control file for writing `value`; `None` if it is absent and not `required`.
fn open_control(file: &Path, value: &str, required: bool) -> Result<Option<std::fs::File>> {
    match std::fs::OpenOptions::new().write(true).open(file) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Unsupported(format!(
            "the kernel offers no {} here ({} is missing): this machine lacks the controller or feature for that limit",
            file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            file.display()
        ))),
        Err(e) => Err(Error::io(format!("opening to write '{value}'"), file, e)),
    }
}

/// One write(2) of `value`: the kernel parses each write as one complete value, so it is
/// never split.
fn write_value(f: &mut std::fs::File, file: &Path, value: &str) -> Result<()> {
    match f.write(value.as_bytes()) {
        Ok(n) if n == value.len() => Ok(()),
        Ok(_) => Err(Error::Invalid(format!(
            "the kernel took only part of '{value}' written to {}",
            file.display()
        ))),
        Err(e) => Err(Error::io(format!("writing '{value}'"), file, e)),
    }
}
