/// The limit files of one v2 cgroup: one file per limit.
pub fn limit_files(dir: &Path, limits: &Limits) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(memory) = limits.memory {
        steps.push(Step::write(
            dir.join("memory.max"),
            memory.bytes().to_string(),
        ));
        // Without this a workload over memory.max is pushed into swap instead of being
        // stopped. The file exists only with swap accounting compiled in.
        steps.push(Step::write_if_present(dir.join("memory.swap.max"), "0"));
    }
    if let Some(cpu) = limits.cpus {
        // One file, two numbers: "$QUOTA $PERIOD" in microseconds.
        let value = format!("{} {}", cpu.quota_us(), cpu.period_us());
        steps.push(Step::write(dir.join("cpu.max"), value));
    }
    if let Some(weight) = limits.cpu_weight {
        steps.push(Step::write(
            dir.join("cpu.weight"),
            weight.weight().to_string(),
        ));
    }
    if let Some(pids) = limits.pids {
        steps.push(Step::write(dir.join("pids.max"), pids.get().to_string()));
    }
    steps
}
