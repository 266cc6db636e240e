//! Privileged: the device program of the library, loaded into the kernel and attached to a
//! cgroup2 directory of the test's own. The kernel runs cgroup-BPF device programs for a
//! process's cgroup2 cgroup on every layout (on the hybrid one, the cgroup2 mount at
//! /sys/fs/cgroup/unified), so this proves on any machine what a pure v2 machine relies on.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serial_test::serial;
use workbook::cgroup::devices::{bpf, program, DeviceAllowList, DeviceRule};
use workbook::cgroup::CgroupFs;

/// A cgroup2 directory made by the test, removed on every path (its processes have exited).
struct TempCgroup(PathBuf);

impl TempCgroup {
    fn new() -> TempCgroup {
        let fs = CgroupFs::detect().expect("cgroup layout");
        let (mount, _) = fs.unified.expect("a cgroup2 mount");
        let dir = mount.join(format!("workbook-devices-test.{}", std::process::id()));
        std::fs::create_dir(&dir).expect("mkdir the test cgroup");
        TempCgroup(dir)
    }
}

impl Drop for TempCgroup {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir(&self.0) {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

/// Runs `script` in a shell that first moves itself into `cgroup` (so every open it makes
/// afterwards is checked there), in the directory `dir`; returns stdout and stderr
/// together.
fn run_in(cgroup: &Path, dir: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && {{ {script}; }} 2>&1",
            cgroup.display()
        ))
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(out.status.success(), "{}", common::stderr(&out));
    common::stdout(&out)
}

fn mknod(path: &Path, major: u64, minor: u64) {
    use nix::sys::stat::{makedev, Mode, SFlag};
    nix::sys::stat::mknod(
        path,
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o600),
        makedev(major, minor),
    )
    .expect("mknod in the temp dir");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_kernel_accepts_the_program_and_refuses_what_it_does_not_allow() {
    if !privileged!() {
        return;
    }
    let nodes = tempfile::tempdir().expect("temp dir");
    mknod(&nodes.path().join("kmsg"), 1, 11);
    mknod(&nodes.path().join("zero"), 1, 5);
    let cgroup = TempCgroup::new();
    let script = "(exec 3>kmsg) && echo kmsg opened; head -c 3 zero | wc -c; \
                  mknod made c 1 11 && echo made; rm -f made";
    // Without the program, root opens the kernel log for writing (no capability needed).
    let before = run_in(&cgroup.0, nodes.path(), script);
    assert_eq!(before, "kmsg opened\n3\nmade\n");
    bpf::attach(&cgroup.0, &DeviceAllowList::docker_default()).expect("load and attach");
    let after = run_in(&cgroup.0, nodes.path(), script);
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines.len(), 3, "{after}");
    assert!(
        lines[0].contains("kmsg: Operation not permitted"),
        "{after}"
    );
    assert_eq!(&lines[1..], ["3", "made"], "{after}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_program_the_verifier_refuses_is_one_sentence_with_its_log() {
    if !privileged!() {
        return;
    }
    // Cut off the final `exit`: the verifier refuses a program that can run off its end.
    let mut prog = program::build(&DeviceAllowList::new(vec![DeviceRule::char(1, 3)]));
    prog.pop();
    let err = bpf::load(&prog).expect_err("the verifier refuses");
    let msg = err.to_string();
    assert!(
        msg.starts_with("loading the device program (the verifier said: "),
        "{msg}"
    );
    assert!(msg.contains("bpf returned EINVAL"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
}
