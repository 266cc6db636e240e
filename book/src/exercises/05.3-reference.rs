/// Moves process `pid` into the cgroup: one write of its pid to `cgroup.procs` in each
/// directory. Its threads move with it, and every child it forks from now on is born
/// inside. Do it before the process runs the workload, so nothing escapes the limits.
pub fn attach(&self, pid: i32) -> Result<()> {
    // One directory on v2; on v1 one per hierarchy, as a process is in one cgroup of
    // each.
    for dir in &self.dirs {
        plan::write_control(&dir.join("cgroup.procs"), &pid.to_string(), true)?;
    }
    Ok(())
}
