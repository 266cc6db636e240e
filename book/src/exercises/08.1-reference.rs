/// The status, from the process itself: alive and still waiting on the FIFO is
/// `created`, alive past it `running`, gone `stopped`; alive in a frozen cgroup is
/// `paused`, whichever it was before.
pub fn status(&self, state: &StateDir) -> Status {
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
}
