//! Tells the privileged tests whether they can run, so that `cargo test` without root reports
//! them as ignored, with the reason, in cargo's own summary ("7 ignored"), instead of as passed.
//!
//! libtest has no way to skip a test at run time: a test that returns early is counted as
//! passed, and the reason it printed is hidden with its output. So the decision is made here,
//! when the tests are built: without CAP_SYS_ADMIN and without `WORKBOOK_PRIVILEGED_RUN=1`,
//! the build sets `--cfg unprivileged`, and every privileged test carries
//! `#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]`
//! (tests/privileged_marks.rs checks that each one does).
//!
//! `WORKBOOK_PRIVILEGED_RUN=1` is for a build made by a user whose test binaries root will run:
//! `cargo workbook test` and `check` build as the user and run the binaries with sudo, and the
//! QEMU runner builds on the host and runs them as root in the VM. Without it their privileged
//! tests would be ignored there.
//!
//! Cargo runs this script again only when a variable below changes: `sudo cargo test` or
//! `su` after a user's build changes `USER` or `SUDO_USER`, so root's build is not taken for
//! the user's. A user's build run as root by hand (`sudo target/debug/deps/ch01_pid-…`) is
//! caught by the test `common::this_build_ignores_the_privileged_tests`, which fails when it
//! finds CAP_SYS_ADMIN or `WORKBOOK_REQUIRE_PRIVILEGED=1` in a build made without them.

/// CAP_SYS_ADMIN's bit in the capability sets (linux/capability.h): what the tests need, and
/// what `workbook::privilege::has_cap_sys_admin` checks when they run.
const CAP_SYS_ADMIN: u32 = 21;

/// Whether this process has CAP_SYS_ADMIN in its effective set, read from /proc (a build script
/// cannot use the crate it builds, and libc is no build dependency).
fn has_cap_sys_admin() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(unprivileged)");
    println!("cargo::rerun-if-changed=build.rs");
    for var in ["WORKBOOK_PRIVILEGED_RUN", "USER", "SUDO_USER"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let run_as_root = std::env::var("WORKBOOK_PRIVILEGED_RUN").as_deref() == Ok("1");
    if !run_as_root && !has_cap_sys_admin() {
        println!("cargo::rustc-cfg=unprivileged");
    }
}
