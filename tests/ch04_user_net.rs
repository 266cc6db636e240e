//! Privileged (and, where user namespaces are allowed, unprivileged): chapter 4's child is
//! root of its own user namespace, mapped to an unprivileged ID outside, with only `lo`.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

const BIN: &str = env!("CARGO_BIN_EXE_04-user-net");

/// The host ID that root inside maps to when this test runs as root.
const NOBODY: u32 = 65534;

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn root_inside() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(
        BIN,
        &["--", "sh", "-c", "id -u; id -g; cat /proc/self/setgroups"],
    );
    common::verdict::succeeded(&out, "04-user-net -- sh -c 'id -u; id -g'");
    let text = common::stdout(&out);
    let got: Vec<&str> = text.lines().collect();
    assert!(
        got.first() == Some(&"0") && got.get(1) == Some(&"0"),
        "inside, `id -u` and `id -g` print {} and {}, not 0 and 0: with the maps written, the \
         child must set its group IDs and then its user IDs to 0 (setresgid, setresuid)",
        got.first().unwrap_or(&"nothing"),
        got.get(1).unwrap_or(&"nothing")
    );
    assert_eq!(
        got.get(2),
        Some(&"deny"),
        "inside, /proc/self/setgroups reads {:?}: it must be \"deny\", written before gid_map",
        got.get(2).unwrap_or(&"nothing")
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn a_file_made_inside_belongs_to_the_mapped_id_outside() {
    if !privileged!() {
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
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn the_uid_map_reads_root_to_nobody() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(
        BIN,
        &["--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"],
    );
    common::verdict::succeeded(
        &out,
        "04-user-net -- cat /proc/self/uid_map /proc/self/gid_map",
    );
    let fields: Vec<String> = common::stdout(&out)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        fields,
        ["0", "65534", "1", "0", "65534", "1"],
        "inside, uid_map and gid_map read {:?}: each must map 0 inside to 65534 outside, one \
         ID (\"0 65534 1\"), written once to /proc/PID/uid_map and gid_map",
        fields.join(" ")
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial_test::serial]
fn only_lo_and_it_is_up() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--", "cat", "/proc/net/dev"]);
    common::verdict::succeeded(&out, "04-user-net -- cat /proc/net/dev");
    let inside = workbook::net::parse_interfaces(&common::stdout(&out));
    assert_eq!(
        inside,
        ["lo"],
        "inside, /proc/net/dev lists {inside:?}: a new network namespace has lo alone"
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
    assert!(
        flags.split(',').any(|f| f == "UP"),
        "inside, lo's flags are <{flags}>, without UP: set IFF_UP with SIOCSIFFLAGS, on top of \
         the flags SIOCGIFFLAGS read"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial_test::serial] // the host's device list must not change under it (--veth tests)
fn the_demonstration_shows_both_views() {
    if !privileged!() {
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

/// `--veth`: the namespace gets `eth0` with 10.204.0.2/30 (read from the kernel's device
/// list and the address the kernel reports inside), the host end exists while the command
/// runs and is gone after it, and a ping crosses the pair.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial_test::serial]
fn veth_joins_the_namespace_to_the_host() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(
        BIN,
        &[
            "--veth",
            "--",
            "sh",
            "-c",
            "cat /proc/net/dev; echo ===; ip -4 -o addr show dev eth0; echo ===; \
             test -e /sys/class/net/wb04host && echo host-end-present; \
             busybox ping -c 1 -W 2 10.204.0.1",
        ],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let parts: Vec<&str> = text.split("===\n").collect();
    assert_eq!(workbook::net::parse_interfaces(parts[0]), ["lo", "eth0"]);
    assert!(parts[1].contains("inet 10.204.0.2/30"), "{}", parts[1]);
    // This chapter has no mount namespace: /sys is the host's sysfs, which lists the
    // devices of the namespace that mounted it, the host's: the host end is there during
    // the run.
    assert!(parts[2].starts_with("host-end-present\n"), "{}", parts[2]);
    assert!(parts[2].contains("1 packets received"), "{}", parts[2]);
    assert!(
        !std::path::Path::new("/sys/class/net/wb04host").exists(),
        "the pair is deleted after the run"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial_test::serial]
fn the_veth_demonstration_shows_both_sides() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(BIN, &["--veth"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    // The peer's index grows with every device the host ever made; `ip -brief` pads its
    // columns around it, so spaces are squeezed too.
    let text = common::redact_numbers_after(&common::stdout(&out), &[("eth0@if", "N")]);
    let text: String = text
        .lines()
        .map(|l| {
            let words: Vec<&str> = l.split(' ').filter(|w| !w.is_empty()).collect();
            let indent = &l[..l.len() - l.trim_start().len()];
            format!("{indent}{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert!(text.contains("1 packets received"), "{text}");
    common::assert_book_output("04-user-net-veth", &text);
    assert!(!std::path::Path::new("/sys/class/net/wb04host").exists());
}
