//! Privileged: `process.apparmorProfile` (issue 24 item 10), asserted for the host the test
//! runs on. Where AppArmor is on (the QEMU VM boots with `apparmor=1 security=apparmor`), a
//! small profile is loaded with apparmor_parser, a container asks for it, and the kernel's
//! answer is read back: /proc/PID/attr/apparmor/current of the container's program names the
//! profile in enforce mode; a profile that is not loaded fails `create` with one sentence.
//! Where AppArmor is off, the field is refused with one sentence before anything is made.
//! Each case runs beside runc where it is installed, and the output says which case ran.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::oci_bundle::{cgroup_parent, Bundle};
use common::oci_config::{add_namespace, runc_spec};
use serde_json::{json, Value};
use serial_test::serial;

const PROFILE: &str = "workbook-test";
const NOT_LOADED: &str = "workbook-test-not-loaded";
const RUNC: &str = "/usr/sbin/runc";

/// Allows everything a confined program may be allowed: the test is about the label the
/// kernel gives, not about what the profile forbids. attach_disconnected: after
/// pivot_root the container's paths are not reachable from AppArmor's root, which would
/// otherwise deny them.
const PROFILE_TEXT: &str =
    "profile workbook-test flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
}
";

/// A config close to `runc spec`'s running `sleep 60` as container `id` in `profile`.
fn config(id: &str, profile: &str) -> Value {
    let mut config = runc_spec(&["sleep", "60"], &format!("/{}/{id}", cgroup_parent()));
    config["process"]["apparmorProfile"] = json!(profile);
    config["hostname"] = json!("apparmor");
    add_namespace(&mut config, "network");
    config
}

/// A bundle for container `id` in `profile`, run by `runtime` (ours when None).
fn bundle(id: &str, profile: &str, runtime: Option<&Path>) -> Bundle {
    let mut bundle = Bundle::busybox();
    if let Some(runtime) = runtime {
        bundle.use_runtime(runtime.to_path_buf());
    }
    bundle.write_config(&config(id, profile));
    bundle
}

/// runc, where it is installed.
fn runc() -> Option<PathBuf> {
    Some(PathBuf::from(RUNC)).filter(|p| p.exists())
}

/// What the kernel says: AppArmor's `enabled` parameter reads Y.
fn apparmor_on() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'))
}

/// The profile, loaded for the test's lifetime and removed on drop (on every path).
struct LoadedProfile {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl LoadedProfile {
    fn load() -> LoadedProfile {
        assert!(
            Path::new("/sys/kernel/security/apparmor/profiles").exists(),
            "AppArmor is on, but its securityfs is not mounted at /sys/kernel/security: mount -t securityfs securityfs /sys/kernel/security"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(PROFILE);
        std::fs::write(&file, PROFILE_TEXT).expect("write the profile");
        let loaded = LoadedProfile { _dir: dir, file };
        let out = parser(&["-r", "-K"], &loaded.file);
        assert!(
            out.status.success(),
            "apparmor_parser -r {} failed: {}",
            loaded.file.display(),
            common::stderr(&out)
        );
        loaded
    }
}

impl Drop for LoadedProfile {
    fn drop(&mut self) {
        let _ = parser(&["-R", "-K"], &self.file);
    }
}

fn parser(args: &[&str], file: &Path) -> std::process::Output {
    Command::new("apparmor_parser")
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("apparmor_parser is not installed (Debian: apt-get install apparmor)")
}

/// Whether AppArmor has the profile loaded (its `profiles` list names it).
fn loaded(name: &str) -> bool {
    std::fs::read_to_string("/sys/kernel/security/apparmor/profiles")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(" (").next() == Some(name))
}

/// The label the kernel gives `pid`: attr/apparmor/current (Linux 5.8+), else attr/current.
fn current_label(pid: i32) -> String {
    let own = format!("/proc/{pid}/attr/apparmor/current");
    std::fs::read_to_string(&own)
        .or_else(|_| std::fs::read_to_string(format!("/proc/{pid}/attr/current")))
        .unwrap_or_default()
        .trim_end_matches(['\n', '\0'])
        .to_string()
}

/// Created and started by `runtime`: the label of its program once it runs.
fn label_of_a_started_container(id: &str, runtime: Option<&Path>) -> String {
    let mut bundle = bundle(id, PROFILE, runtime);
    let pid = bundle.create(id);
    bundle.ok(&["start", id]);
    let want = format!("{PROFILE} (enforce)");
    let mut label = String::new();
    common::wait_until("the program's exec into the profile", || {
        label = current_label(pid);
        label == want
    });
    label
}

/// A create that must fail: its stderr.
fn refused(id: &str, profile: &str, runtime: Option<&Path>) -> String {
    let mut bundle = bundle(id, profile, runtime);
    let err = bundle
        .try_create(id)
        .expect_err("the runtime accepted the profile");
    err.trim().to_string()
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_profile_is_the_kernels_label_of_the_program_or_refused_where_apparmor_is_off() {
    if !privileged!() {
        return;
    }
    if !apparmor_on() {
        println!("AppArmor is off on this host: checking that process.apparmorProfile is refused");
        let err = refused("aa-off", PROFILE, None);
        assert_eq!(err.lines().count(), 1, "not one sentence: {err}");
        assert!(
            err.contains("apparmorProfile") && err.contains("AppArmor is not enabled"),
            "{err}"
        );
        println!("ours: {err}");
        if let Some(runc) = runc() {
            let err = refused("aa-off-runc", PROFILE, Some(&runc));
            println!("runc: {}", err.lines().last().unwrap_or_default());
        }
        return;
    }

    println!("AppArmor is on: loading profile {PROFILE} and reading the container's label");
    let profile = LoadedProfile::load();
    assert!(loaded(PROFILE), "apparmor_parser -r did not load {PROFILE}");
    assert!(!loaded(NOT_LOADED), "{NOT_LOADED} is loaded on this host");

    let ours = label_of_a_started_container("aa-on", None);
    println!("ours: the container's program runs as {ours:?}");
    if let Some(runc) = runc() {
        let theirs = label_of_a_started_container("aa-on-runc", Some(&runc));
        println!("runc: the container's program runs as {theirs:?}");
        assert_eq!(theirs, ours, "runc, then ours");
    }

    let err = refused("aa-missing", NOT_LOADED, None);
    assert_eq!(err.lines().count(), 1, "not one sentence: {err}");
    assert!(
        err.contains("apparmorProfile")
            && err.contains(NOT_LOADED)
            && err.contains("no profile of that name loaded")
            && err.contains("apparmor_parser -r"),
        "{err}"
    );
    println!("ours, a profile that is not loaded: {err}");
    if let Some(runc) = runc() {
        let err = refused("aa-missing-runc", NOT_LOADED, Some(&runc));
        println!(
            "runc, a profile that is not loaded: {}",
            err.lines().last().unwrap_or_default()
        );
    }

    drop(profile);
    assert!(!loaded(PROFILE), "apparmor_parser -R left {PROFILE} loaded");
}
