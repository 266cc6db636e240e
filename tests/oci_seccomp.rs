//! Privileged: podman's default seccomp profile, compiled by `OciSeccomp::from_json` and
//! installed by `OciSeccomp::install_raw` in a forked child, the way a runtime installs it
//! (as root, CAP_SYS_ADMIN held, without no_new_privs). The kernel's answers are read back:
//! a denied call fails with the profile's errno, an allowed one works; and the same calls in
//! a child without the filter answer otherwise, so the test tells the filter's refusal from
//! the kernel's own.
//!
//! The child is forked from the multi-threaded test harness, so it makes only system calls
//! (no allocation, no lock) between fork and _exit: the profile is compiled before the fork.

mod common;

use serial_test::serial;
use workbook::oci::seccomp::OciSeccomp;

const PODMAN: &str = include_str!("fixtures/podman-seccomp.json");

/// The calls, with arguments the kernel answers cheaply and harmlessly without a filter.
const CALLS: [&str; 6] = [
    "getpid()",
    "setns(-1, 0)",
    "add_key(NULL, …)",
    "personality(0xffffffff) (a query, allowed)",
    "personality(ADDR_COMPAT_LAYOUT) (not an allowed persona)",
    "dup3(-1, 1000, 0)",
];

/// Each call's errno (0 when it worked), made one after the other in the child.
unsafe fn errnos() -> [i32; 6] {
    let mut out = [0i32; 6];
    for (i, slot) in out.iter_mut().enumerate() {
        let null = std::ptr::null::<libc::c_char>();
        let ret = match i {
            0 => libc::syscall(libc::SYS_getpid),
            1 => libc::syscall(libc::SYS_setns, -1, 0),
            2 => libc::syscall(libc::SYS_add_key, null, null, null, 0, 0),
            3 => libc::syscall(libc::SYS_personality, 0xffff_ffffu64),
            4 => libc::syscall(libc::SYS_personality, libc::ADDR_COMPAT_LAYOUT as u64),
            _ => libc::syscall(libc::SYS_dup3, -1, 1000, 0),
        };
        *slot = if ret == -1 {
            *libc::__errno_location()
        } else {
            0
        };
    }
    out
}

fn run_in_child(filter: Option<&OciSeccomp>) -> [i32; 6] {
    common::forked::errnos_in_a_child(
        || filter.map_or(true, |seccomp| seccomp.install_raw().is_ok()),
        // SAFETY: raw system calls with integer or NULL arguments, which the kernel checks.
        || unsafe { errnos() },
    )
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn podmans_default_profile_denies_what_it_lists_and_allows_the_rest() {
    if !privileged!() {
        return;
    }
    let value: serde_json::Value = serde_json::from_str(PODMAN).expect("fixture is JSON");
    let seccomp = OciSeccomp::from_json(&value).expect("podman's profile compiles");

    let without = run_in_child(None);
    let with = run_in_child(Some(&seccomp));
    let show = |a: &[i32; 6]| {
        CALLS
            .iter()
            .zip(a)
            .map(|(c, e)| match e {
                0 => format!("{c}: ok"),
                e => format!("{c}: {}", nix::errno::Errno::from_raw(*e)),
            })
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    eprintln!("without the filter:\n  {}", show(&without));
    eprintln!("with podman's profile:\n  {}", show(&with));

    // Without the filter the kernel itself answers: success, or an errno about the bad
    // arguments, never the profile's EPERM/ENOSYS.
    assert_eq!(without[0], 0);
    assert_eq!(without[1], libc::EBADF);
    assert!(
        ![0, libc::EPERM, libc::ENOSYS].contains(&without[2]),
        "{}",
        without[2]
    );
    assert_eq!(without[3], 0);
    assert_eq!(without[4], 0, "the kernel accepts any persona");
    assert_eq!(without[5], libc::EBADF);

    assert_eq!(with[0], 0, "getpid is allowed");
    assert_eq!(with[1], libc::EPERM, "setns is listed with errnoRet 1");
    assert_eq!(
        with[2],
        libc::ENOSYS,
        "add_key is not listed: defaultErrnoRet 38"
    );
    assert_eq!(with[3], 0, "personality(0xffffffff) is an allowed argument");
    assert_eq!(
        with[4],
        libc::ENOSYS,
        "this persona is not an allowed argument"
    );
    assert_eq!(
        with[5],
        libc::EBADF,
        "dup3 is allowed: the kernel's own answer"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_kill_rule_kills_and_a_masked_condition_selects() {
    if !privileged!() {
        return;
    }
    let seccomp = OciSeccomp::from_json(&serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["dup3"], "action": "SCMP_ACT_KILL_PROCESS", "args": [
                {"index": 2, "value": 0xff00, "valueTwo": 0x3000, "op": "SCMP_CMP_MASKED_EQ"}
            ]}
        ]
    }))
    .expect("compiles");
    for (flags, killed) in [(0x3000u64, true), (0x3100u64, false)] {
        // SAFETY: the child makes only system calls and ends in _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            unsafe {
                if seccomp.install_raw().is_err() {
                    libc::_exit(100);
                }
                libc::syscall(libc::SYS_dup3, -1, -1, flags);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if killed {
            assert!(
                libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
                "dup3(…, {flags:#x}) should have been killed by SIGSYS (status {status:#x})"
            );
        } else {
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "dup3(…, {flags:#x}) should have returned (status {status:#x})"
            );
        }
    }
}
