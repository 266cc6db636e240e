/// Moves process `pid` into the cgroup: one write of its pid to `cgroup.procs` in each
/// directory. Its threads move with it, and every child it forks from now on is born
/// inside. Do it before the process runs the workload, so nothing escapes the limits.
pub fn attach(&self, pid: i32) -> Result<()> {
    todo!("exercise 05.3")
}
