//! Privileged: many runtimes making their cgroups at once, and a run racing `cleanup`. All
//! of them create into the same `workbook/` parent; none may fail because another removed
//! it.

mod common;

use std::process::{Child, Command, Stdio};

use serial_test::serial;

const BIN: &str = env!("CARGO_BIN_EXE_07-full-container");

/// A run that exits at once, with a limit so that it makes a cgroup in every hierarchy.
fn start_run() -> Child {
    Command::new(BIN)
        .args(["run", "--network", "none", "--pids", "64", "--", "true"])
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the runtime")
}

/// Waits for every child; returns the stderr of each that failed, with its status.
fn failures(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .filter_map(|c| {
            let out = c.wait_with_output().expect("wait for the runtime");
            (!out.status.success())
                .then(|| format!("{:?}: {}", out.status, common::stderr(&out).trim()))
        })
        .collect()
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_hundred_runs_started_at_once_all_make_their_cgroups() {
    if !privileged!() {
        return;
    }
    for round in 1..=3 {
        let children: Vec<Child> = (0..100).map(|_| start_run()).collect();
        let failed = failures(children);
        assert!(
            failed.is_empty(),
            "round {round}: {} of 100 runs failed:\n{}",
            failed.len(),
            failed.join("\n")
        );
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_run_racing_a_concurrent_cleanup_succeeds() {
    if !privileged!() {
        return;
    }
    let mut failed = Vec::new();
    for _ in 0..100 {
        let run = start_run();
        let cleanup = Command::new(BIN)
            .arg("cleanup")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cleanup");
        failed.extend(failures(vec![run, cleanup]));
    }
    assert!(
        failed.is_empty(),
        "{} of 200 runtimes failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
