//! Privileged: no file descriptor of the caller reaches the command (issue 11, item 3).
//!
//! The attack: a shell opens fd 7 on the host's `/` and fd 8 on a file, without
//! close-on-exec, then starts a chapter binary. Every fd a process holds survives fork and
//! exec unless it is marked close-on-exec, so without care the command inside reads the
//! host through `/proc/self/fd/7/…`, whatever root it was given. Each case runs that attack
//! through one binary and reads, from inside, which fds exist and what fd 7 and fd 8 give.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use rstest::rstest;
use serial_test::serial;

/// What the command inside runs: the fds it holds (as `ls` sees them: `ls` adds one of its
/// own, the directory it lists), then reads through fd 8 (two ways) and lists fd 7's `/`.
const INSIDE: &str = "ls /proc/self/fd; grep Seccomp: /proc/self/status; \
     cat /proc/self/fd/8 2>/dev/null || echo fd8-path-closed; \
     (cat <&8) 2>/dev/null || echo fd8-closed; \
     ls /proc/self/fd/7/ 2>/dev/null || echo fd7-closed";

const SECRET: &str = "fd-leak-secret-5d1c";

/// Runs the attack through `bin`, with `options` before the command, and checks from inside
/// that neither fd is there. With `without_close_range`, the whole process tree runs under
/// a seccomp filter that answers close_range(2) with ENOSYS, as a kernel before 5.9 would.
fn attack(bin: &str, options: &[&str], without_close_range: bool) -> String {
    // A file of our own, readable by anyone: a rootless container's root is nobody on the
    // host, and must not be stopped by permissions alone, only by the fd being gone.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755))
        .expect("chmod dir");
    let file = dir.path().join("secret");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(SECRET.as_bytes()))
        .expect("write the secret");
    std::fs::set_permissions(&file, PermissionsExt::from_mode(0o644)).expect("chmod file");

    // The shell opens fd 7 and fd 8 without close-on-exec, as `exec 7</` does, then becomes
    // the binary.
    let mut command = Command::new("sh");
    command
        .args(["-c", "exec 7</ 8<\"$0\"; exec \"$@\""])
        .arg(&file)
        .arg(bin)
        .args(options)
        .args(["--", "sh", "-c", INSIDE])
        .env_remove("RUST_BACKTRACE");
    if without_close_range {
        use workbook::security::seccomp::{compile, install, Rule};
        let program = compile(&[Rule::NotImplemented(libc::SYS_close_range)]);
        // SAFETY: between fork and exec the hook makes one prctl call (install builds the
        // kernel's struct on the stack); root may install a filter without no_new_privs.
        unsafe {
            command.pre_exec(move || {
                install(&program).map_err(|_| std::io::Error::last_os_error())
            });
        }
    }
    let out = command.output().expect("start sh");
    let text = common::stdout(&out);
    let err = common::stderr(&out);
    assert!(out.status.success(), "{bin} {options:?}: {err}\n{text}");

    let fds: Vec<u32> = text
        .lines()
        .take_while(|l| l.parse::<u32>().is_ok())
        .map(|l| l.parse().expect("a number"))
        .collect();
    // stdin, stdout, stderr, and the directory `ls` itself opened: the lowest free number.
    assert_eq!(fds, [0, 1, 2, 3], "{bin} {options:?}: fds inside:\n{text}");
    assert!(
        !text.contains(SECRET),
        "{bin} {options:?} leaked fd 8:\n{text}"
    );
    assert!(
        !err.contains(SECRET),
        "{bin} {options:?} leaked fd 8:\n{err}"
    );
    for word in ["fd8-path-closed", "fd8-closed", "fd7-closed"] {
        assert!(
            text.lines().any(|l| l == word),
            "{bin} {options:?}: no {word}:\n{text}"
        );
    }
    text
}

#[rstest]
#[case::unshare_pid(env!("CARGO_BIN_EXE_01-unshare-pid"), &[])]
#[case::uts_ipc(env!("CARGO_BIN_EXE_02-uts-ipc"), &[])]
#[case::mount_rootfs(env!("CARGO_BIN_EXE_03-mount-rootfs"), &[])]
#[case::user_net(env!("CARGO_BIN_EXE_04-user-net"), &[])]
#[case::user_net_veth(env!("CARGO_BIN_EXE_04-user-net"), &["--veth"])]
#[case::cgroups(env!("CARGO_BIN_EXE_05-cgroups"), &[])]
#[case::overlayfs(env!("CARGO_BIN_EXE_06-overlayfs"), &[])]
#[case::full_container(env!("CARGO_BIN_EXE_07-full-container"), &["run", "--network", "none"])]
#[case::full_container_rootless(
    env!("CARGO_BIN_EXE_07-full-container"),
    &["run", "--rootless"]
)]
#[serial]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn no_fd_of_the_caller_is_visible_inside(#[case] bin: &str, #[case] options: &[&str]) {
    if !privileged!() {
        return;
    }
    attack(bin, options, false);
}

/// The fallback for kernels without close_range (before 5.9) or its CLOSE_RANGE_CLOEXEC
/// flag (before 5.11): the same attack, with close_range answering ENOSYS.
#[rstest]
#[case::mount_rootfs(env!("CARGO_BIN_EXE_03-mount-rootfs"), &[])]
#[case::full_container(env!("CARGO_BIN_EXE_07-full-container"), &["run", "--network", "none"])]
#[serial]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn no_fd_survives_on_a_kernel_without_close_range(
    #[case] bin: &str,
    #[case] options: &[&str],
) {
    if !privileged!() {
        return;
    }
    let text = attack(bin, options, true);
    // The filter reached the command, so it was on the runtime too (chapter 3 installs no
    // filter of its own; chapter 7's stacks on it).
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["Seccomp:", "2"])),
        "{text}"
    );
}

/// runc's CVE-2024-21626, "attack 1": a working directory of `/proc/self/fd/7`, entered
/// while the host's fd 7 is still open, starts the command in the host's `/`. The run is
/// refused in one sentence before the command starts.
#[rstest]
#[case::full_container(&["run", "--network", "none"])]
#[case::full_container_rootless(&["run", "--rootless"])]
#[serial]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn a_workdir_through_a_host_fd_is_refused(#[case] options: &[&str]) {
    if !privileged!() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_07-full-container");
    let mut args = vec!["-c", "exec 7</; exec \"$@\"", "sh", bin];
    args.extend(options);
    args.extend(["-w", "/proc/self/fd/7", "--", "sh", "-c", "ls; ls .."]);
    let out = common::run_bin("sh", &args);
    let err = common::stderr(&out);
    assert_eq!(common::stdout(&out), "", "the command ran: {err}");
    common::assert_refused(
        &out,
        &args,
        125,
        "the working directory is outside the container's root",
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
