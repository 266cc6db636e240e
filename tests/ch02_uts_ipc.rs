//! Privileged: chapter 2's host name and System V IPC are the child's own.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use rstest::rstest;
use serial_test::serial;
use workbook::ipc::{self, SharedMemory};

const BIN: &str = env!("CARGO_BIN_EXE_02-uts-ipc");

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(hostname)]
fn the_hostname_inside_is_set_and_the_hosts_is_unchanged() {
    if !privileged!() {
        return;
    }
    let before = workbook::hostname::current().expect("host name");
    let out = common::run_bin(BIN, &["--hostname", "box", "--", "hostname"]);
    assert!(
        out.status.success(),
        "`02-uts-ipc --hostname box -- hostname` {} and said {}",
        common::verdict::status(out.status),
        common::verdict::first_line(&common::stderr(&out))
    );
    let inside = common::stdout(&out);
    assert!(
        inside.trim() == "box",
        "inside, hostname printed {:?}: the name inside must be the one asked for, \"box\", \
         set with sethostname(2) in the new UTS namespace",
        inside.trim()
    );
    let after = workbook::hostname::current().expect("host name");
    assert_eq!(
        after, before,
        "the host's name changed from {before:?} to {after:?}: sethostname must run in the \
         child, inside its own UTS namespace"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(sysvipc)]
fn a_host_segment_is_invisible_inside() {
    if !privileged!() {
        return;
    }
    let key = 0x0b0c_7e57;
    let segment = SharedMemory::create(key).expect("create a host segment");
    assert!(ipc::visible_keys().expect("host table").contains(&key));
    let out = common::run_bin(BIN, &["--", "cat", "/proc/sysvipc/shm"]);
    assert!(
        out.status.success(),
        "`02-uts-ipc -- cat /proc/sysvipc/shm` {} and said {}",
        common::verdict::status(out.status),
        common::verdict::first_line(&common::stderr(&out))
    );
    let inside = ipc::parse_keys(&common::stdout(&out));
    assert!(
        !inside.contains(&key),
        "inside, /proc/sysvipc/shm lists the host's segment {key:#x}: the child must be \
         cloned with CLONE_NEWIPC"
    );
    drop(segment);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(sysvipc)]
fn a_segment_made_inside_is_invisible_on_the_host_and_dies_with_the_namespace() {
    if !privileged!() {
        return;
    }
    // Inside: make a segment, print its key, and hold on until told to end.
    let mut tool = Command::new(BIN)
        .args([
            "--",
            "sh",
            "-c",
            "ipcmk -M 4096 >/dev/null && tail -n +2 /proc/sysvipc/shm | awk '{print $1}' && { read _; exit 0; }",
        ])
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .expect("start the tool");
    let mut lines = BufReader::new(tool.stdout.take().expect("stdout")).lines();
    let key: i32 = lines
        .next()
        .and_then(|l| l.ok())
        .and_then(|l| l.trim().parse().ok())
        .expect("the key printed inside");
    let while_alive = ipc::visible_keys().expect("host table");
    drop(tool.stdin.take());
    assert!(tool.wait().expect("wait").success());
    assert!(
        !while_alive.contains(&key),
        "the host saw the segment made inside (key {key})"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn the_demonstration_tells_both_sides() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &[]);
    assert!(
        out.status.success(),
        "the demonstration (02-uts-ipc with no command) {} and said {}",
        common::verdict::status(out.status),
        common::verdict::first_line(&common::stderr(&out))
    );
    let host = workbook::hostname::current().expect("host name");
    let text = common::stdout(&out).replace(&host, "<HOST>");
    common::assert_book_output("02-uts-ipc-demo", &text);
}

/// Names the kernel would take but RFC 1123 does not: refused in one sentence, exit 125,
/// before anything is made (no privilege needed to see the refusal).
#[rstest]
#[case::uts_ipc(BIN, &[], "a/b", "holds '/'")]
#[case::uts_ipc(BIN, &[], "-x", "starts or ends with '-'")]
#[case::uts_ipc(BIN, &[], "a b;$(id)", "holds ' '")]
#[case::full_container(env!("CARGO_BIN_EXE_07-full-container"), &["run"], "a/b", "holds '/'")]
#[case::full_container(env!("CARGO_BIN_EXE_07-full-container"), &["run"], "-x", "starts or ends with '-'")]
#[case::full_container(env!("CARGO_BIN_EXE_07-full-container"), &["run"], "a b;$(id)", "holds ' '")]
fn a_hostname_outside_rfc_1123_is_refused(
    #[case] bin: &str,
    #[case] before: &[&str],
    #[case] name: &str,
    #[case] says: &str,
) {
    let states = common::container_states();
    let option = format!("--hostname={name}");
    let mut args = before.to_vec();
    args.extend([option.as_str(), "--", "hostname"]);
    let out = common::run_bin(bin, &args);
    common::assert_refused(&out, &args, 125, says);
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    assert!(err.contains(&format!("{name:?}")), "names the input: {err}");
    assert!(common::stdout(&out).is_empty(), "the command ran");
    assert!(common::container_states() <= states, "state left behind");
}
