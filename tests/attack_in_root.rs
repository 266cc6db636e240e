//! Privileged: issue 21's attacks on paths inside the container (items 2, 5, 7, 11, and
//! item 12's `proc -> proc`). An image controls its symlinks, `/proc` and `/dev` included;
//! a config controls `maskedPaths` and `linux.sysctl`. Each test runs the attack against the
//! built runtime and asserts what the kernel shows afterwards, on the host: its sysctls, its
//! mounts, the files of a directory the test owns.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::oci_bundle::{cgroup_parent, copy_busybox, Bundle as OciBundle};
use common::oci_config::{add_mount, add_namespace, runc_spec, set_capabilities};
use serde_json::{json, Value};
use serial_test::serial;

const OCI: &str = env!("CARGO_BIN_EXE_08-oci-runtime");
const FULL: &str = env!("CARGO_BIN_EXE_07-full-container");

/// The shared bundle (tests/common/oci_bundle.rs) with this file's config, and a host
/// directory of the test's own that the attacks aim at, removed after it.
struct Bundle {
    oci: OciBundle,
    host: tempfile::TempDir,
}

impl Bundle {
    fn new(args: &[&str]) -> Bundle {
        let oci = OciBundle::busybox();
        oci.write_config(&base_config(args));
        Bundle {
            oci,
            host: tempfile::tempdir().expect("host temp dir"),
        }
    }

    /// The host directory the attacks aim at.
    fn host(&self) -> &Path {
        self.host.path()
    }

    /// `08-oci-runtime run` of container `id`.
    fn run(&mut self, id: &str) -> Output {
        self.ids.push(id.to_string());
        self.patch(|c| {
            c["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", cgroup_parent()))
        });
        let bundle = self.path().to_string_lossy().into_owned();
        self.runtime(&["run", "--bundle", &bundle, id])
    }

    /// What the host directory holds now.
    fn host_listing(&self) -> Vec<String> {
        listing(self.host())
    }
}

impl std::ops::Deref for Bundle {
    type Target = OciBundle;
    fn deref(&self) -> &OciBundle {
        &self.oci
    }
}

impl std::ops::DerefMut for Bundle {
    fn deref_mut(&mut self) -> &mut OciBundle {
        &mut self.oci
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the host dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Replaces `rootfs/name` (a directory of the image) with a symlink to `target`.
fn plant_link(rootfs: &Path, name: &str, target: &Path) {
    let at = rootfs.join(name);
    let _ = std::fs::remove_dir_all(&at);
    std::os::unix::fs::symlink(target, &at).expect("plant the symlink");
}

/// Whether the host's mount table (this test's mount namespace) has a mount at or below
/// `dir`.
fn host_mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&dir)))
        .map(String::from)
        .collect()
}

/// `runc spec`'s config, with its masked and read-only paths, and a cgroup parent of the
/// test's own.
fn base_config(args: &[&str]) -> Value {
    let mut config = runc_spec(args, &format!("/{}/CONTAINER", cgroup_parent()));
    set_capabilities(
        &mut config,
        &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    );
    config["hostname"] = json!("inroot");
    add_namespace(&mut config, "network");
    add_mount(
        &mut config,
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
    );
    add_mount(
        &mut config,
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", "ro"]}),
    );
    let linux = &mut config["linux"];
    linux["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    linux["maskedPaths"] = json!([
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi"
    ]);
    linux["readonlyPaths"] = json!([
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger"
    ]);
    config
}

/// A host sysctl, put back as it was when dropped.
struct HostSysctl {
    file: PathBuf,
    before: String,
}

impl HostSysctl {
    fn new(key: &str) -> HostSysctl {
        let file = Path::new("/proc/sys").join(key.replace('.', "/"));
        let before = std::fs::read_to_string(&file).expect("read the host sysctl");
        HostSysctl { file, before }
    }

    fn now(&self) -> String {
        std::fs::read_to_string(&self.file).expect("read the host sysctl")
    }
}

impl Drop for HostSysctl {
    fn drop(&mut self) {
        if self.now() != self.before {
            let _ = std::fs::write(&self.file, self.before.trim());
        }
    }
}

// --- item 2: an image whose /proc is a symlink out of its root --------------------------

/// `proc -> /<host dir>` with `runc spec`'s config: procfs must not land on the host's dir,
/// the masks must not be skipped. runc refuses a /proc that is not a plain directory.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_proc_symlink_out_of_the_root_is_refused() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["cat", "/proc/kcore"]);
    plant_link(&bundle.rootfs(), "proc", bundle.host());
    let burst = HostSysctl::new("kernel.printk_ratelimit_burst");
    let out = bundle.run("procout");
    let err = common::stderr(&out);
    assert!(!out.status.success(), "the run went ahead: {err}");
    assert!(
        err.contains("/proc") && err.contains("plain directory"),
        "not one clear sentence: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        bundle.host_listing().is_empty(),
        "{:?}",
        bundle.host_listing()
    );
    assert!(host_mounts_under(bundle.host()).is_empty());
    assert_eq!(burst.now(), burst.before);
}

/// maskedPaths and readonlyPaths reached through an image's symlink: `evil -> /<host
/// dir>`. Built with root.join, the masks followed the link to the host's dir (and were
/// mounted there, out of sight); inside, the paths stayed open.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_masks_and_read_only_paths_follow_links_inside_the_root() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "cat /evil/masked/secret; echo x > /evil/ro/file && echo wrote",
    ]);
    // On the host: the dirs the link points at. In the image: the same path, with a secret.
    let host = bundle.host().to_path_buf();
    std::fs::create_dir(host.join("masked")).expect("host masked dir");
    std::fs::create_dir(host.join("ro")).expect("host ro dir");
    let inside = bundle
        .rootfs()
        .join(host.strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(inside.join("masked")).expect("image masked dir");
    std::fs::create_dir_all(inside.join("ro")).expect("image ro dir");
    std::fs::write(inside.join("masked/secret"), "SECRET\n").expect("secret");
    std::os::unix::fs::symlink(&host, bundle.rootfs().join("evil")).expect("evil link");
    bundle.patch(|c| {
        c["linux"]["maskedPaths"] = json!(["/proc/kcore", "/evil/masked"]);
        c["linux"]["readonlyPaths"] = json!(["/proc/sys", "/evil/ro"]);
    });
    let out = bundle.run("masklink");
    let (text, err) = (common::stdout(&out), common::stderr(&out));
    assert!(
        !text.contains("SECRET"),
        "the mask was skipped: {text}{err}"
    );
    assert!(
        !text.contains("wrote"),
        "the read-only path was writable: {text}{err}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(listing(&host), ["masked", "ro"]);
    assert!(listing(&host.join("ro")).is_empty());
}

// --- item 5: linux.sysctl -------------------------------------------------------------

/// A sysctl of no namespace (it is the host's), or of a namespace the container shares
/// with the host, is refused in one sentence, and the host keeps its value.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_host_sysctl_is_refused_and_the_host_keeps_its_value() {
    if !privileged!() {
        return;
    }
    let burst = HostSysctl::new("kernel.printk_ratelimit_burst");
    let ttl = HostSysctl::new("net.ipv4.ip_default_ttl");
    let changed = (burst.before.trim().parse::<u64>().expect("a number") + 7).to_string();
    let cases = [
        (
            "kernel.printk_ratelimit_burst",
            changed.as_str(),
            "not namespaced",
        ),
        ("net.ipv4.ip_default_ttl", "33", "network namespace"),
    ];
    for (key, value, why) in cases {
        let mut bundle = Bundle::new(&["true"]);
        bundle.patch(|c| {
            c["linux"]["sysctl"] = json!({ key: value });
            // No network namespace: net.* would be the host's.
            c["linux"]["namespaces"] =
                json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]);
        });
        let out = bundle.run("sysctl");
        let err = common::stderr(&out);
        assert!(!out.status.success(), "{key}: the run went ahead");
        assert!(err.contains(key) && err.contains(why), "{key}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(burst.now(), burst.before, "the host's printk burst changed");
        assert_eq!(ttl.now(), ttl.before, "the host's default TTL changed");
    }
}

/// A sysctl of the container's own IPC or network namespace is set inside (through its own
/// /proc) and not on the host.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_namespaced_sysctl_is_set_inside_only() {
    if !privileged!() {
        return;
    }
    let shmmax = HostSysctl::new("kernel.shmmax");
    let ttl = HostSysctl::new("net.ipv4.ip_default_ttl");
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_default_ttl",
    ]);
    bundle.patch(|c| {
        c["linux"]["sysctl"] =
            json!({"kernel.shmmax": "123456789", "net.ipv4.ip_default_ttl": "33"});
    });
    let out = bundle.run("nssysctl");
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), "123456789\n33\n");
    assert_eq!(shmmax.now(), shmmax.before);
    assert_eq!(ttl.now(), ttl.before);
}

// --- item 7: maskedPaths with `..`, shared propagation ----------------------------------

/// In a throwaway mount namespace whose mounts are shared (as on a systemd host), a mask
/// `/../../…/<host dir>` mounted a read-only tmpfs over the host's dir, and it stayed.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_masked_path_with_dotdot_mounts_nothing_on_the_host() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["true"]);
    let host = bundle.host().to_path_buf();
    std::fs::write(host.join("keep"), "host file\n").expect("host file");
    let climb = format!("/../../../../../../../..{}", host.display());
    bundle.patch(|c| {
        c["linux"]["maskedPaths"] = json!(["/proc/kcore", climb]);
        c["linux"]["rootfsPropagation"] = json!("rshared");
    });
    bundle.ids.push("dotdot".into());
    bundle.patch(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{}/dotdot", cgroup_parent()))
    });
    // Private first (nothing reaches the real host), then shared within the namespace.
    let script = format!(
        "mount --make-rshared / || exit 99; \"$0\" --root '{state}' run --bundle '{bundle}' dotdot >/dev/null 2>&1; \
         echo mounts=$(awk '$5 == \"{host}\"' /proc/self/mountinfo | wc -l); ls '{host}'",
        state = bundle.path().join("state").display(),
        bundle = bundle.path().display(),
        host = host.display(),
    );
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            OCI,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let text = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", common::stderr(&out));
    assert!(
        text.contains("mounts=0") && text.contains("keep"),
        "the mask reached the host's dir: {text}"
    );
    assert!(host_mounts_under(&host).is_empty());
}

// --- item 11: an image's /dev symlink -----------------------------------------------------

/// `dev -> /<host dir>` with a tmpfs on /dev: the runtime made `fd`, `ptmx`, `stdin`,
/// `stdout`, `stderr` in the host's dir. Contained, /dev lands inside the root.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_dev_symlink_out_of_the_root_creates_nothing_on_the_host() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sh", "-c", "ls /dev/ && echo ok > /dev/null"]);
    plant_link(&bundle.rootfs(), "dev", bundle.host());
    let out = bundle.run("devout");
    assert!(
        bundle.host_listing().is_empty(),
        "the runtime made the host's {}: {:?}",
        bundle.host().display(),
        bundle.host_listing()
    );
    assert!(host_mounts_under(bundle.host()).is_empty());
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.contains("null") && text.contains("ptmx"), "{text}");
}

/// Issue 24 item 1: a privileged config lists /dev/ptmx among its devices; /dev/ptmx is
/// the `pts/ptmx` link the runtime made, which mknod must not follow.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_ptmx_device_does_not_follow_the_ptmx_link() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["sh", "-c", "ls -l /dev/ptmx"]);
    bundle.patch(|c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2, "fileMode": 438, "uid": 0, "gid": 0}
        ]);
    });
    let out = bundle.run("ptmx");
    assert!(out.status.success(), "{}", common::stderr(&out));
}

// --- item 2 in chapter 7, and item 12's `proc -> proc` ----------------------------------

/// An image whose /proc or /dev is a symlink out of its root, or a `proc -> proc` loop, is
/// refused by chapter 7 in one sentence, and nothing lands in the host's dir.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn full_container_refuses_an_image_whose_proc_or_dev_is_a_symlink() {
    if !privileged!() {
        return;
    }
    let host = tempfile::tempdir().expect("host dir");
    for (name, target) in [
        ("proc", host.path().to_path_buf()),
        ("dev", host.path().to_path_buf()),
        ("proc", PathBuf::from("proc")),
    ] {
        let dir = tempfile::tempdir().expect("rootfs dir");
        let rootfs = dir.path().join("rootfs");
        copy_busybox(&rootfs);
        plant_link(&rootfs, name, &target);
        let out = common::run_bin(
            FULL,
            &[
                "run",
                "--network",
                "none",
                "--rootfs",
                rootfs.to_str().expect("path"),
                "--",
                "true",
            ],
        );
        let err = common::stderr(&out);
        let what = format!("{name} -> {}", target.display());
        assert!(!out.status.success(), "{what}: the run went ahead");
        assert!(
            err.contains(&format!("/{name}")) && err.contains("plain directory"),
            "{what}: not one clear sentence: {err}"
        );
        assert!(!err.contains("File exists"), "{what}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(listing(host.path()).is_empty(), "{what}");
        assert!(host_mounts_under(host.path()).is_empty(), "{what}");
    }
}

/// The same loop in an OCI bundle: one sentence, not "too many symlinks" or "File exists".
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_proc_self_loop_is_one_clear_sentence() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["true"]);
    plant_link(&bundle.rootfs(), "proc", Path::new("proc"));
    let out = bundle.run("loop");
    let err = common::stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("/proc") && err.contains("plain directory"),
        "not one clear sentence: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// runc's CVE-2025-31133: masked files get /dev/null bound over them. With no tmpfs on
/// /dev, the image's /dev/null is used; as a link to a procfs file it would turn the mask
/// into a writable window on the host's `kernel.core_pattern`.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn oci_a_dev_null_that_is_a_link_never_masks_a_file() {
    if !privileged!() {
        return;
    }
    let mut bundle = Bundle::new(&["cat", "/proc/timer_list"]);
    let dev = bundle.rootfs().join("dev");
    let _ = std::fs::remove_dir_all(&dev);
    std::fs::create_dir(&dev).expect("image /dev");
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", dev.join("null"))
        .expect("dev/null link");
    bundle.patch(|c| {
        let mounts = c["mounts"].as_array_mut().expect("mounts");
        mounts.retain(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"));
        c["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
    });
    let out = bundle.run("devnull");
    let (text, err) = (common::stdout(&out), common::stderr(&out));
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("core");
    assert_ne!(text, pattern, "the mask showed the host's core_pattern");
    assert!(!out.status.success(), "the run went ahead: {text}");
    assert!(err.contains("/dev/null is not the null device"), "{err}");
}
