/// The limit files of a workload, each in the hierarchy of its controller (`at`).
pub fn limit_files(
    at: impl Fn(Controller) -> Option<PathBuf>,
    limits: &Limits,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let (Some(memory), Some(dir)) = (limits.memory, at(Controller::Memory)) {
        let bytes = memory.bytes().to_string();
        steps.push(Step::write(dir.join("memory.limit_in_bytes"), &bytes));
        // memsw is memory + swap. Setting it equal to the memory limit forbids swapping;
        // it must never be below limit_in_bytes, so it is written second. It exists only
        // when the kernel accounts swap (CONFIG_MEMCG_SWAP, swapaccount=1).
        steps.push(Step::write_if_present(
            dir.join("memory.memsw.limit_in_bytes"),
            &bytes,
        ));
    }
    if let (Some(cpu), Some(dir)) = (limits.cpus, at(Controller::Cpu)) {
        // Two files where v2 has one; the period first, so the quota is read against it.
        let period = cpu.period_us().to_string();
        steps.push(Step::write(dir.join("cpu.cfs_period_us"), period));
        let quota = cpu.quota_us().to_string();
        steps.push(Step::write(dir.join("cpu.cfs_quota_us"), quota));
    }
    if let (Some(weight), Some(dir)) = (limits.cpu_weight, at(Controller::Cpu)) {
        let shares = weight.shares().to_string();
        steps.push(Step::write(dir.join("cpu.shares"), shares));
    }
    if let (Some(pids), Some(dir)) = (limits.pids, at(Controller::Pids)) {
        steps.push(Step::write(dir.join("pids.max"), pids.get().to_string()));
    }
    steps
}
