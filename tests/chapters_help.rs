//! Unprivileged: every chapter binary explains itself, and bad input gets one clear
//! sentence.

mod common;

use rstest::rstest;

#[rstest]
#[case("01-unshare-pid", env!("CARGO_BIN_EXE_01-unshare-pid"))]
#[case("02-uts-ipc", env!("CARGO_BIN_EXE_02-uts-ipc"))]
#[case("03-mount-rootfs", env!("CARGO_BIN_EXE_03-mount-rootfs"))]
#[case("04-user-net", env!("CARGO_BIN_EXE_04-user-net"))]
#[case("07-full-container", env!("CARGO_BIN_EXE_07-full-container"))]
#[case("08-oci-runtime", env!("CARGO_BIN_EXE_08-oci-runtime"))]
fn help_explains(#[case] name: &str, #[case] bin: &str) {
    let out = common::run_bin(bin, &["--help"]);
    assert!(out.status.success(), "{name} --help failed");
    insta::assert_snapshot!(format!("help-{name}"), common::stdout(&out));
}

#[rstest]
#[case("create")]
#[case("exec")]
#[case("update")]
#[case("ps")]
#[case("events")]
fn oci_command_help_explains_every_option(#[case] command: &str) {
    let out = common::run_bin(env!("CARGO_BIN_EXE_08-oci-runtime"), &[command, "--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!(
        format!("help-08-oci-runtime-{command}"),
        common::stdout(&out)
    );
}

#[test]
fn run_help_explains_every_option() {
    let out = common::run_bin(env!("CARGO_BIN_EXE_07-full-container"), &["run", "--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!("help-07-full-container-run", common::stdout(&out));
}

#[rstest]
#[case(env!("CARGO_BIN_EXE_07-full-container"))]
#[case(env!("CARGO_BIN_EXE_01-unshare-pid"))]
#[case(env!("CARGO_BIN_EXE_02-uts-ipc"))]
#[case(env!("CARGO_BIN_EXE_03-mount-rootfs"))]
#[case(env!("CARGO_BIN_EXE_04-user-net"))]
#[case(env!("CARGO_BIN_EXE_08-oci-runtime"))]
fn an_unknown_option_is_one_clear_error(#[case] bin: &str) {
    let out = common::run_bin(bin, &["--no-such-option"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.lines()
            .next()
            .unwrap_or("")
            .contains("unexpected argument '--no-such-option'"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_hostname_over_64_bytes_is_refused_before_anything_runs() {
    let long = "a".repeat(65);
    let out = common::run_bin(
        env!("CARGO_BIN_EXE_02-uts-ipc"),
        &["--hostname", &long, "--", "true"],
    );
    // Checked after the arguments are read, like every hostname rule: an error of the tool.
    assert_eq!(out.status.code(), Some(125));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("65 bytes long; the kernel allows at most 64"),
        "{err}"
    );
}

#[test]
fn a_missing_rootfs_dir_is_named() {
    let out = common::run_bin(
        env!("CARGO_BIN_EXE_03-mount-rootfs"),
        &["--rootfs", "/nonexistent/rootfs", "--", "true"],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the root filesystem /nonexistent/rootfs cannot be used"),
        "{err}"
    );
}

#[test]
fn a_rootfs_that_is_a_file_is_named() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let path = file.path().to_str().expect("utf-8 path");
    let out = common::run_bin(
        env!("CARGO_BIN_EXE_03-mount-rootfs"),
        &["--rootfs", path, "--", "true"],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(common::stderr(&out).contains("is not a directory"));
}
