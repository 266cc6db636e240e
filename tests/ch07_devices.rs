//! Privileged: the device allow-list, tried as the attack it stops. Root in a container
//! holds CAP_MKNOD; without the device cgroup it could make a node for the host's disk
//! (here: a loop device this test makes over a file in its temp dir) and read or write the
//! host's blocks through it, or use a node an image ships. Every check reads what the
//! kernel did: the errno inside, the backing file's bytes outside.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serial_test::serial;
use workbook::image::build::{write_docker_save, LayerTar};
use workbook::image::ImageConfig;

const BIN: &str = env!("CARGO_BIN_EXE_07-full-container");

/// What the backing file holds, byte for byte: a pattern the test can recognise.
const PATTERN: &[u8; 16] = b"WORKBOOK-LOOP-00";

/// A loop device over a 1 MiB file in a temp dir, detached again on every path.
struct LoopDevice {
    dir: tempfile::TempDir,
    device: PathBuf,
    major: u64,
    minor: u64,
}

impl LoopDevice {
    fn new() -> LoopDevice {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("disk.img");
        std::fs::write(&file, PATTERN.repeat(65536)).expect("write the backing file");
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .expect("run losetup");
        assert!(out.status.success(), "losetup: {}", common::stderr(&out));
        let device = PathBuf::from(common::stdout(&out).trim());
        let meta = std::fs::metadata(&device).expect("stat the loop device");
        assert!(meta.file_type().is_block_device());
        let rdev = meta.rdev();
        LoopDevice {
            dir,
            device,
            major: nix::sys::stat::major(rdev),
            minor: nix::sys::stat::minor(rdev),
        }
    }

    /// The first bytes of the backing file, read from the host.
    fn backing_start(&self) -> Vec<u8> {
        let bytes =
            std::fs::read(self.dir.path().join("disk.img")).expect("read backing file");
        bytes[..PATTERN.len()].to_vec()
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let out = Command::new("losetup").arg("-d").arg(&self.device).output();
        if !out.is_ok_and(|o| o.status.success()) {
            eprintln!("warning: could not detach {}", self.device.display());
        }
    }
}

fn run(args: &[&str], store: &Path) -> Output {
    Command::new(BIN)
        .arg("run")
        .args(args)
        .env("WORKBOOK_STORE", store)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("start the runtime")
}

/// An image whose top layer ships two device nodes, mode 0666: `/kmsg` (c 1:11, the kernel
/// log) and `/l0` (the test's loop device).
fn image_with_device_nodes(dir: &Path, disk: &LoopDevice) -> PathBuf {
    let rootfs = workbook::rootfs::default_rootfs().expect("busybox rootfs");
    let base = LayerTar::from_dir(&rootfs).expect("base layer");
    let mut top = tar::Builder::new(Vec::new());
    for (name, kind, major, minor) in [
        ("kmsg", tar::EntryType::Char, 1, 11),
        ("l0", tar::EntryType::Block, disk.major, disk.minor),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o666);
        h.set_size(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_device_major(major as u32).expect("major");
        h.set_device_minor(minor as u32).expect("minor");
        top.append_data(&mut h, name, std::io::empty())
            .expect("device entry");
    }
    let archive = dir.join("devices.tar");
    let config = ImageConfig {
        entrypoint: vec![],
        cmd: vec!["sh".into()],
        env: vec![],
        workdir: None,
    };
    write_docker_save(
        &archive,
        "workbook/devices:1",
        &[base, top.into_inner().expect("top layer")],
        &config,
    )
    .expect("write the image");
    archive
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn mknod_of_the_hosts_loop_device_works_but_it_cannot_be_read_or_written() {
    if !privileged!() {
        return;
    }
    let disk = LoopDevice::new();
    let store = tempfile::tempdir().expect("store");
    let script = format!(
        "mknod /l0 b {} {} && echo made; \
         head -c 16 /l0; echo; \
         printf ATTACKER-WROTE-IT | dd of=/l0 conv=notrunc,fsync 2>&1; \
         echo done",
        disk.major, disk.minor
    );
    let out = run(
        &["--network", "none", "--", "sh", "-c", &script],
        store.path(),
    );
    let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{stdout}{stderr}");
    // mknod is allowed (CAP_MKNOD, and `b *:* m`): the node is made...
    assert!(stdout.contains("made\n"), "{stdout}{stderr}");
    assert_eq!(
        disk.backing_start(),
        PATTERN,
        "a write reached the host:\n{stdout}"
    );
    // ...but opening it is refused by the kernel, for reading and for writing.
    assert!(
        !stdout.contains("WORKBOOK-LOOP"),
        "the host's disk was read:\n{stdout}"
    );
    assert!(
        stderr.contains("head: /l0: Operation not permitted"),
        "{stderr}"
    );
    assert!(
        stdout.contains("dd: can't open '/l0': Operation not permitted"),
        "{stdout}"
    );
    assert!(stdout.contains("done"), "{stdout}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_allowed_devices_still_work() {
    if !privileged!() {
        return;
    }
    let store = tempfile::tempdir().expect("store");
    // /dev/pts/0 exists once ptmx is opened, locked until its master unlocks it: opening it
    // reaches the tty driver, which says EIO. Refused by the device cgroup it would be
    // EPERM. /dev/tty without a controlling terminal likewise answers ENXIO from its
    // driver.
    let script = "echo x > /dev/null && echo null; \
                  head -c 5 /dev/zero | wc -c; \
                  head -c 6 /dev/urandom | wc -c; \
                  head -c 7 /dev/random | wc -c; \
                  echo x 2>&1 > /dev/full | grep -q 'No space left' && echo full; \
                  exec 3<>/dev/ptmx && echo ptmx; ls /dev/pts; \
                  (exec 4<>/dev/pts/0) 2>&1; (exec 5<>/dev/tty) 2>&1; true";
    let out = run(
        &["--network", "none", "--", "sh", "-c", script],
        store.path(),
    );
    let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        &lines[..8],
        ["null", "5", "6", "7", "full", "ptmx", "0", "ptmx"],
        "{stdout}{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/dev/pts/0") && l.contains("Input/output error")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/dev/tty") && l.contains("No such device or address")),
        "{stdout}"
    );
    assert!(!stdout.contains("Operation not permitted"), "{stdout}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn device_nodes_shipped_in_an_image_cannot_be_opened() {
    if !privileged!() {
        return;
    }
    let disk = LoopDevice::new();
    let store = tempfile::tempdir().expect("store");
    let archive = image_with_device_nodes(store.path(), &disk);
    let script = "stat -c '%n %F %t:%T' /kmsg /l0; \
                  (exec 3</kmsg) 2>&1; (exec 3>/kmsg) 2>&1; \
                  (exec 3</l0) 2>&1; (exec 3<>/l0) 2>&1; echo done";
    let out = run(
        &[
            "--image",
            archive.to_str().expect("path"),
            "--network",
            "none",
            "--",
            "sh",
            "-c",
            script,
        ],
        store.path(),
    );
    let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{stdout}{stderr}");
    // The nodes are there (the import made them as root)...
    assert!(
        stdout.contains("/kmsg character special file 1:b"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "/l0 block special file {:x}:{:x}",
            disk.major, disk.minor
        )),
        "{stdout}"
    );
    // ...and every open is refused by the device cgroup. (Reading /dev/kmsg also needs
    // CAP_SYSLOG, which the container lacks; opening it for writing needs no capability.)
    let refused = stdout
        .lines()
        .filter(|l| l.contains("can't") && l.ends_with("Operation not permitted"))
        .count();
    assert_eq!(refused, 4, "{stdout}");
    assert_eq!(disk.backing_start(), PATTERN);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_rootless_container_without_a_cgroup_can_neither_mknod_nor_open_image_nodes() {
    if !privileged!() {
        return;
    }
    let disk = LoopDevice::new();
    let store = tempfile::tempdir().expect("store");
    let archive = image_with_device_nodes(store.path(), &disk);
    // No limits: a rootless run makes no cgroup, so no device list applies. The kernel's
    // other two guards do: mknod needs CAP_MKNOD in the initial user namespace, and the
    // overlay mounted in the container's user namespace is nodev (SB_I_NODEV).
    let script = format!(
        "stat -c '%n %a %u' /l0 /kmsg; mknod /x b {} {} 2>&1; \
         (exec 3</l0) 2>&1; (exec 3</kmsg) 2>&1; echo done",
        disk.major, disk.minor
    );
    let out = run(
        &[
            "--rootless",
            "--image",
            archive.to_str().expect("path"),
            "--network",
            "none",
            "--",
            "sh",
            "-c",
            &script,
        ],
        store.path(),
    );
    let (stdout, stderr) = (common::stdout(&out), common::stderr(&out));
    assert!(out.status.success(), "{stdout}{stderr}");
    // Mode 0666: the file permissions let anyone open them, so the refusal below (EACCES)
    // is the nodev mark of a filesystem mounted in a user namespace, not the permissions.
    assert!(
        stdout.contains("/l0 666 ") && stdout.contains("/kmsg 666 "),
        "{stdout}"
    );
    assert!(
        stdout.contains("mknod: /x: Operation not permitted"),
        "{stdout}"
    );
    let denied = stdout
        .lines()
        .filter(|l| l.contains("can't open") && l.ends_with("Permission denied"))
        .count();
    assert_eq!(denied, 2, "{stdout}");
    assert!(stdout.contains("done"));
    assert_eq!(disk.backing_start(), PATTERN);
}
