//! Privileged: chapter 3's child has its own root and mount table, and the host's is
//! untouched.

mod common;

use std::os::unix::fs::MetadataExt;

use serial_test::serial;

const BIN: &str = env!("CARGO_BIN_EXE_03-mount-rootfs");

fn mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo")
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(mounts)]
fn ls_lists_the_rootfs_and_the_host_mount_table_is_unchanged() {
    if !privileged!() {
        return;
    }
    let rootfs = workbook::rootfs::default_rootfs().expect("the busybox rootfs");
    let before = mountinfo();
    let out = common::run_bin(BIN, &["--", "ls", "-a", "/"]);
    let after = mountinfo();
    common::verdict::succeeded(&out, "03-mount-rootfs -- ls -a /");
    let mut inside: Vec<String> = common::stdout(&out)
        .lines()
        .filter(|l| *l != "." && *l != "..")
        .map(str::to_string)
        .collect();
    inside.sort();
    let mut expected: Vec<String> = std::fs::read_dir(&rootfs)
        .expect("list the rootfs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(
        inside,
        expected,
        "inside, `ls /` listed {} entries that are not the rootfs's {}: the child must switch \
         its root to the rootfs",
        inside.len(),
        expected.len()
    );
    assert!(
        before == after,
        "the host's mount table changed ({}): what the child mounts must stay in its own \
         private mount namespace",
        common::verdict::mount_changes(&before, &after)
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(mounts)]
fn proc_dev_and_sys_are_the_containers_own() {
    if !privileged!() {
        return;
    }
    let out = common::run_bin(
        BIN,
        &[
            "--",
            "sh",
            "-c",
            "ls /proc > /tmp/procs; grep -c '^[0-9]' /tmp/procs; stat -c '%t:%T %a' /dev/null /dev/zero /dev/urandom; \
             ls /dev/pts; touch /sys/x 2>&1 || true; touch /tmp/x && echo tmp-writable",
        ],
    );
    common::verdict::succeeded(&out, "03-mount-rootfs -- sh -c 'ls /proc; stat /dev/…'");
    let text = common::stdout(&out);
    let mut lines = text.lines();
    let mut next = || lines.next().unwrap_or("(nothing)");
    // Only sh and ls are in this PID namespace's /proc.
    let procs = next();
    assert_eq!(
        procs, "2",
        "inside, /proc listed {procs} processes, not 2 (sh and ls): /proc must be a new proc \
         mount for the child's own PID namespace"
    );
    let devices = [next(), next(), next()];
    assert_eq!(
        devices,
        ["1:3 666", "1:5 666", "1:9 666"],
        "inside, /dev/null, /dev/zero and /dev/urandom are {devices:?} (major:minor mode), not \
         1:3, 1:5 and 1:9 with mode 666: /dev must be the container's own tmpfs with its nodes"
    );
    let pts = next();
    assert!(
        pts.contains("ptmx"),
        "inside, /dev/pts holds {pts:?} and no ptmx: /dev/pts must be a new devpts instance"
    );
    assert!(
        text.contains("Read-only file system"),
        "inside, touching /sys/x did not fail with \"Read-only file system\": /sys must be \
         mounted read-only"
    );
    assert!(
        text.contains("tmp-writable"),
        "inside, /tmp is not writable: /tmp must be a tmpfs of its own"
    );
}

/// The (device, inode) where the demonstration's chroot escape ended.
fn escape_end(text: &str) -> (u64, u64) {
    let line = text
        .lines()
        .find(|l| l.starts_with("It ended at device "))
        .unwrap_or_else(|| {
            panic!("the demonstration printed no \"It ended at device …\" line: it stopped early")
        });
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("number"))
        .collect();
    (nums[0], nums[1])
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(mounts)]
fn the_chroot_escape_fails_after_pivot_root() {
    if !privileged!() {
        return;
    }
    let host_root = std::fs::metadata("/").expect("stat /");
    let before = mountinfo();
    let out = common::run_bin(BIN, &[]);
    common::verdict::succeeded(&out, "03-mount-rootfs (the demonstration)");
    let text = common::stdout(&out);
    assert!(
        escape_end(&text) != (host_root.dev(), host_root.ino()),
        "the demonstration's chroot escape climbed to the host's root (device {}, inode {}): \
         after pivot_root the old root must be detached, so that no path leads back to it",
        host_root.dev(),
        host_root.ino()
    );
    let after = mountinfo();
    assert!(
        before == after,
        "the host's mount table changed ({}): the demonstration's mounts must stay in its \
         own private mount namespace",
        common::verdict::mount_changes(&before, &after)
    );
    let rootfs = workbook::rootfs::default_rootfs().expect("rootfs");
    // The rootfs's own filesystem type (ext4 here, tmpfs in the VM) is the machine's
    // business.
    let text: String = text
        .lines()
        .map(|l| match l.strip_prefix("  /            ") {
            Some(_) => "  /            <the rootfs's filesystem>\n".to_string(),
            None => format!("{l}\n"),
        })
        .collect();
    let redacted = common::redact_numbers_after(
        &text.replace(&rootfs.display().to_string(), "<ROOTFS>"),
        &[
            ("table has ", "<N>"),
            ("device ", "<DEV>"),
            ("inode ", "<INO>"),
            ("Back on the host: ", "<N>"),
        ],
    );
    common::assert_book_output("03-mount-rootfs-demo", &redacted);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(mounts)]
fn the_chroot_escape_succeeds_with_chroot_alone() {
    if !privileged!() {
        return;
    }
    let host_root = std::fs::metadata("/").expect("stat /");
    let out = common::run_bin(BIN, &["--chroot-only"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert_eq!(
        escape_end(&text),
        (host_root.dev(), host_root.ino()),
        "with chroot only, the climb reaches the host's root: {text}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(mounts)]
fn a_command_missing_from_the_rootfs_is_127_and_mounts_nothing() {
    if !privileged!() {
        return;
    }
    let empty = tempfile::tempdir().expect("temp dir");
    let before = mountinfo();
    let out = common::run_bin(
        BIN,
        &[
            "--rootfs",
            empty.path().to_str().expect("utf-8"),
            "--",
            "sh",
        ],
    );
    assert_eq!(out.status.code(), Some(127));
    assert!(common::stderr(&out).contains("sh: not found in the root filesystem"));
    assert_eq!(before, mountinfo());
    assert_eq!(
        std::fs::read_dir(empty.path()).expect("list").count(),
        0,
        "nothing was created in it"
    );
}

/// A tmpfs of the test's own, made *shared*, as `/` is on a systemd host; unmounted (with
/// everything below it) on every path.
struct SharedTmpfs(tempfile::TempDir);

impl SharedTmpfs {
    fn new() -> Self {
        use nix::mount::{mount, MsFlags};
        let dir = tempfile::tempdir().expect("temp dir");
        mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=64m"),
        )
        .expect("mount a tmpfs");
        let guard = SharedTmpfs(dir);
        mount(
            None::<&str>,
            guard.0.path(),
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .expect("make it shared");
        guard
    }
}

impl Drop for SharedTmpfs {
    fn drop(&mut self) {
        // Detach whatever may have leaked onto it too: MNT_DETACH takes the whole subtree.
        let _ = nix::mount::umount2(self.0.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The lines of the host's mount table that lie under `dir`.
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    mountinfo()
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(&dir)))
        .map(str::to_string)
        .collect()
}

/// On a host whose mounts are shared (systemd's default) a mount made in a new mount
/// namespace travels back to the host unless the child makes its tree private first; and
/// pivot_root refuses a new root whose parent mount is shared. Here the rootfs lies on a
/// shared tmpfs, so this holds whatever the propagation of the host's own `/`.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial(mounts)]
fn a_rootfs_on_a_shared_mount_leaks_no_mount_to_the_host() {
    if !privileged!() {
        return;
    }
    let shared = SharedTmpfs::new();
    let root = shared.0.path().join("root");
    let source = workbook::rootfs::default_rootfs().expect("the busybox rootfs");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&source)
        .arg(&root)
        .status()
        .expect("run cp");
    assert!(copied.success(), "copying the rootfs");
    let before = mounts_under(shared.0.path());
    let out = common::run_bin(
        BIN,
        &["--rootfs", root.to_str().expect("utf-8"), "--", "true"],
    );
    let after = mounts_under(shared.0.path());
    common::verdict::succeeded(&out, "03-mount-rootfs --rootfs ROOT -- true");
    let leaked: Vec<_> = after.iter().filter(|m| !before.contains(m)).collect();
    assert!(
        leaked.is_empty(),
        "{} mounts of the child appeared on the host under the shared mount (the first at \
         {}): make every mount private, recursively, before mounting anything",
        leaked.len(),
        leaked
            .first()
            .and_then(|l| l.split(' ').nth(4))
            .unwrap_or("?")
    );
}
