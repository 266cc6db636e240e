//! Privileged (and, where user namespaces are allowed, unprivileged): chapter 4's child is root
//! of its own user namespace, mapped to an unprivileged ID outside, with only `lo`.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

const BIN: &str = env!("CARGO_BIN_EXE_04-user-net");

/// The host ID that root inside maps to when this test runs as root.
const NOBODY: u32 = 65534;

#[test]
fn root_inside() {
    if !common::privileged("root_inside") {
        return;
    }
    let out = common::run_bin(
        BIN,
        &["--", "sh", "-c", "id -u; id -g; cat /proc/self/setgroups"],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), "0\n0\ndeny\n");
}

#[test]
fn a_file_made_inside_belongs_to_the_mapped_id_outside() {
    if !common::privileged("a_file_made_inside_belongs_to_the_mapped_id") {
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod");
    let file = scratch.path().join("made-inside");
    let out = common::run_bin(BIN, &["--", "touch", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let meta = std::fs::metadata(&file).expect("the file exists on the host");
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY));
}

#[test]
fn the_uid_map_reads_root_to_nobody() {
    if !common::privileged("the_uid_map_reads_root_to_nobody") {
        return;
    }
    let out = common::run_bin(
        BIN,
        &["--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"],
    );
    let fields: Vec<String> = common::stdout(&out)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(fields, ["0", "65534", "1", "0", "65534", "1"]);
}

#[test]
fn only_lo_and_it_is_up() {
    if !common::privileged("only_lo_and_it_is_up") {
        return;
    }
    let out = common::run_bin(BIN, &["--", "cat", "/proc/net/dev"]);
    assert!(out.status.success());
    assert_eq!(
        workbook::net::parse_interfaces(&common::stdout(&out)),
        ["lo"]
    );
    // Where the host has more than lo (not in the VM, which has no network card), the
    // namespace's list also differs from the host's.
    let host = workbook::net::interfaces().expect("host devices");
    if host.len() > 1 {
        assert_ne!(host, ["lo"]);
    }
    let out = common::run_bin(BIN, &["--", "ip", "-o", "link", "show", "lo"]);
    assert!(
        out.status.success(),
        "ip (iproute2) is needed: {}",
        common::stderr(&out)
    );
    let text = common::stdout(&out);
    let flags = text
        .split('<')
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or("");
    assert!(flags.split(',').any(|f| f == "UP"), "lo is up: {text}");
}

#[test]
fn the_demonstration_shows_both_views() {
    if !common::privileged("the_demonstration_shows_both_views") {
        return;
    }
    let out = common::run_bin(BIN, &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    // Only the host's line is redacted: in the VM the host has nothing but lo either.
    let text: String = common::stdout(&out)
        .lines()
        .map(|l| {
            if l.starts_with("On the host, the network devices are: ") {
                "On the host, the network devices are: <HOST DEVICES>.\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    common::assert_book_output("04-user-net-demo", &text);
}
