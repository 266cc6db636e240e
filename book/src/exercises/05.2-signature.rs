/// The limit files of a workload, each in the hierarchy of its controller (`at`).
pub fn limit_files(
    at: impl Fn(Controller) -> Option<PathBuf>,
    limits: &Limits,
) -> Vec<Step> {
    todo!("exercise 05.2")
}
