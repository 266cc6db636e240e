//! Privileged: each chapter's child is in a new namespace of exactly the kinds the chapter
//! teaches, and shares the host's namespace of every other kind. The kernel's answer is the
//! inode of /proc/self/ns/<kind>, read inside by the command and outside by this test.

mod common;

use std::collections::BTreeMap;

use rstest::rstest;
use workbook::namespace::Namespace;

/// `kind -> inode` as printed by `readlink /proc/self/ns/*` (lines like
/// `pid:[4026531836]`).
fn parse(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (kind, rest) = line.split_once(":[")?;
            Some((kind.to_string(), rest.trim_end_matches(']').parse().ok()?))
        })
        .collect()
}

#[rstest]
#[case(env!("CARGO_BIN_EXE_01-unshare-pid"), &[], &["pid"])]
#[case(env!("CARGO_BIN_EXE_02-uts-ipc"), &[], &["uts", "ipc"])]
#[case(env!("CARGO_BIN_EXE_03-mount-rootfs"), &[], &["mnt", "pid"])]
#[case(env!("CARGO_BIN_EXE_04-user-net"), &[], &["user", "net"])]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn only_the_chapters_kinds_are_new(
    #[case] bin: &str,
    #[case] options: &[&str],
    #[case] new_kinds: &[&str],
) {
    if !privileged!() {
        return;
    }
    let mut args: Vec<&str> = options.to_vec();
    // busybox's readlink takes one file: a loop reads the eight links.
    let kinds: Vec<&str> = Namespace::ALL.iter().map(|k| k.name()).collect();
    let script = format!(
        "for k in {}; do readlink /proc/self/ns/$k; done",
        kinds.join(" ")
    );
    args.extend(["--", "sh", "-c", &script]);
    let out = common::run_bin(bin, &args);
    assert!(out.status.success(), "{bin}: {}", common::stderr(&out));
    let inside = parse(&common::stdout(&out));
    assert_eq!(inside.len(), 8, "all eight kinds read inside: {inside:?}");
    for kind in Namespace::ALL {
        let outside = kind.inode(None).expect("read the host's namespace inode");
        let inside = inside[kind.name()];
        if new_kinds.contains(&kind.name()) {
            assert_ne!(inside, outside, "{bin}: {kind} should be a new namespace");
        } else {
            assert_eq!(inside, outside, "{bin}: {kind} should be the host's");
        }
    }
}
