//! 05-cgroups from the outside, without root: its help, and bad input refused in one
//! sentence before anything is created.

mod common;

use rstest::rstest;
// `#[serial]` goes after the cases: placed right after `#[rstest]`, rstest does not give it
// to each case, and the cases run at once.
use serial_test::serial;

const BIN: &str = env!("CARGO_BIN_EXE_05-cgroups");

#[test]
fn help_explains() {
    let out = common::run_bin(BIN, &["--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!("help-05-cgroups", common::stdout(&out));
}

/// Every directory below the cgroup mounts whose name is ours (`workbook`), as a sorted
/// list.
fn our_cgroup_dirs() -> Vec<String> {
    let mut found = Vec::new();
    let Ok(top) = std::fs::read_dir("/sys/fs/cgroup") else {
        return found;
    };
    let mut stack: Vec<std::path::PathBuf> = top.flatten().map(|e| e.path()).collect();
    stack.push("/sys/fs/cgroup".into());
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                // The `workbook/` parents stay once made (as runc's do); a run's own cgroup is
                // a directory below one of them.
                if p.file_name().is_some_and(|n| n == "workbook") {
                    let below = std::fs::read_dir(&p).into_iter().flatten().flatten();
                    found.extend(
                        below
                            .filter(|c| c.path().is_dir())
                            .map(|c| c.path().display().to_string()),
                    );
                    continue;
                }
                // Deep enough for <mount>/<the tool's own cgroup>/workbook on a hybrid layout.
                if p.components().count() < 9 {
                    stack.push(p);
                }
            }
        }
    }
    found.sort();
    found
}

#[rstest]
#[case(&["--memory", "12Q", "--", "true"], "memory size '12Q' has an unknown unit 'Q'")]
#[case(&["--memory", "0", "--", "true"], "memory size '0' is zero")]
#[case(&["--cpus", "0", "--", "true"], "CPU count '0' is below 0.01")]
#[case(&["--cpus", "1.5.2", "--", "true"], "CPU count '1.5.2' is not a number of CPUs")]
#[case(&["--pids", "-1", "--", "true"], "pids limit '-1' must be a whole number")]
#[case(&["--pids", "0", "--", "true"], "pids limit '0' is zero")]
#[case(&["--cpu-weight", "0", "--", "true"], "CPU weight '0' must be a whole number from 1 to 10000")]
#[serial]
fn bad_limits_are_one_clear_sentence_and_create_nothing(
    #[case] args: &[&str],
    #[case] says: &str,
) {
    let before = our_cgroup_dirs();
    let out = common::run_bin(BIN, args);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let first = err.lines().next().unwrap_or("");
    assert!(first.contains(says), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(common::stdout(&out).is_empty());
    assert_eq!(our_cgroup_dirs(), before, "nothing created");
}

/// The CPUs this process may run on, as coreutils' `nproc` counts them (its affinity mask):
/// an answer from outside the code under test.
fn nproc() -> usize {
    let out = std::process::Command::new("nproc")
        .output()
        .expect("run nproc");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("nproc prints a number")
}

#[rstest]
#[case::cgroups(env!("CARGO_BIN_EXE_05-cgroups"), &[])]
#[case::full_container(env!("CARGO_BIN_EXE_07-full-container"), &["run", "--network", "none"])]
#[serial]
fn more_cpus_than_the_machine_has_are_refused_with_the_range(
    #[case] bin: &str,
    #[case] before: &[&str],
) {
    let cpus = nproc();
    let mut args = before.to_vec();
    args.extend(["--cpus", "1000000", "--", "true"]);
    let before_dirs = our_cgroup_dirs();
    let out = common::run_bin(bin, &args);
    let err = common::stderr(&out);
    let plural = if cpus == 1 {
        "there is only 1 CPU available".to_string()
    } else {
        format!("there are only {cpus} CPUs available")
    };
    let sentence = format!(
        "CPU count '1000000' is more than this machine has: the range of CPUs is from 0.01 to {cpus}.00, as {plural}"
    );
    common::assert_refused(&out, &args, 125, &sentence);
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    assert_eq!(our_cgroup_dirs(), before_dirs, "nothing created");
    // The whole machine is still a valid quota (that needs root to run).
    let mut all = before.to_vec();
    let text = cpus.to_string();
    all.extend(["--cpus", &text, "--", "true"]);
    if workbook::privilege::has_cap_sys_admin() {
        let out = common::run_bin(bin, &all);
        assert!(out.status.success(), "{all:?}: {}", common::stderr(&out));
    }
}
