//! `pause` and `resume`: the container's cgroup frozen and thawed ([`super::freezer`]).
//! The state reports `paused` while the cgroup is frozen, as runc's does.

use super::freezer::Freezer;
use crate::oci::state::{Record, StateDir, Status};
use crate::{Error, Result};

/// The container's freezer, or the sentence that says why there is none.
fn freezer(record: &Record) -> Result<Freezer> {
    Freezer::of(&record.cgroup_dirs, record.cgroup_v2).ok_or_else(|| {
        Error::Unsupported(format!(
            "container '{}' has no freezer: its cgroup is in no v1 'freezer' hierarchy and has no cgroup.freeze (Linux 5.2+ on cgroup v2)",
            record.id
        ))
    })
}

/// `pause ID`: a created or running container is frozen (runc pauses both).
pub fn pause(state: &StateDir) -> Result<()> {
    let record = state.load()?;
    match record.status(state) {
        Status::Created | Status::Running => freezer(&record)?.freeze(),
        status => Err(Error::Invalid(format!(
            "container '{}' is {}: only a created or running container can be paused",
            record.id,
            status.as_str()
        ))),
    }
}

/// `resume ID`: a paused container is thawed.
pub fn resume(state: &StateDir) -> Result<()> {
    let record = state.load()?;
    if record.status(state) != Status::Paused {
        return Err(Error::Invalid(format!(
            "container '{}' is not paused",
            record.id
        )));
    }
    freezer(&record)?.thaw()
}

/// Thaws the container's cgroup if it is frozen: a frozen task takes a SIGKILL only once
/// it runs again (v1; on v2 a fatal signal wakes it, but the cgroup would stay frozen).
pub fn thaw_if_frozen(record: &Record) {
    if let Some(f) =
        Freezer::of(&record.cgroup_dirs, record.cgroup_v2).filter(Freezer::is_frozen)
    {
        let _ = f.thaw();
    }
}
