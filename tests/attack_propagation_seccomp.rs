//! Privileged: two attacks of security round 3 (issue 21, items 8 and 9), run as attacks.
//!
//! - **Shared propagation unmounts the host's mounts.** A bundle asks for
//!   `rootfsPropagation: rshared` (Kubernetes "Bidirectional", podman's `-v dir:/p:rshared`)
//!   or `shared`. The runtime runs in a throwaway mount namespace whose mounts are shared, as
//!   a systemd host's are, beside a tmpfs that stands for another container's
//!   `/run/netns/…`. The run must succeed (runc runs this config), the stand-in must still be
//!   mounted afterwards in the namespace the runtime was started from, and a mount the
//!   container makes in its rshared volume must appear there (what Bidirectional is for).
//! - **Seccomp**: conditions on one argument are alternatives (runc's rule), and x32 calls
//!   (the x86-64 arch value, bit 30 in the number) get the profile's answer, never a free
//!   pass. The filters run in a forked child; the errno values are ones the kernel never
//!   returns itself, so a pass is the filter's answer.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::oci_bundle::{cgroup_parent, Bundle as Scene};
use common::oci_config::{add_mount, runc_spec, set_capabilities};
use serde_json::json;
use serial_test::serial;
use workbook::oci::seccomp::OciSeccomp;

const BIN: &str = env!("CARGO_BIN_EXE_08-oci-runtime");

/// The shared bundle (tests/common/oci_bundle.rs) in the temp dir's `bundle/`, beside the
/// runtime's state root, a stand-in for another container's netns mount, and a volume.
impl Scene {
    fn new(propagation: &str, args: &[&str]) -> Scene {
        let mut scene = Scene::busybox_in("bundle");
        for d in ["bundle/rootfs/vol", "netns-x", "vol/sub"] {
            std::fs::create_dir_all(scene.path().join(d)).expect("mkdir");
        }
        // Deleted on drop from the host's namespace: a failed run can leave the init
        // waiting on its FIFO.
        scene.ids.push("prop".into());
        let mut config = runc_spec(args, &format!("/{}/prop", cgroup_parent()));
        set_capabilities(
            &mut config,
            &["CAP_SYS_ADMIN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        );
        config["hostname"] = json!("prop");
        config["linux"]["rootfsPropagation"] = json!(propagation);
        add_mount(
            &mut config,
            json!({"destination": "/vol", "type": "bind", "source": scene.path().join("vol"),
                   "options": ["rbind", "rshared"]}),
        );
        scene.write_config(&config);
        scene
    }
}

/// What the outer shell saw: the runtime's status and stderr, and which of its own mounts
/// were there after the run.
struct Outcome {
    status: String,
    stderr: String,
    mounts: String,
}

/// Runs the bundle from a throwaway mount namespace whose mounts are all shared (cut off
/// from the host's first: private, then rshared, so nothing reaches the host). In it, the
/// rootfs is a mount of its own (as an engine's overlay is) and a tmpfs stands for another
/// container's `/run/netns/x`.
fn run_beside_a_netns_mount(scene: &Scene) -> Outcome {
    let script = r#"
        mount --make-rprivate / && mount --make-rshared / || exit 90
        mount --bind "$T/bundle/rootfs" "$T/bundle/rootfs" || exit 91
        mount -t tmpfs -o size=64k netns-standin "$T/netns-x" || exit 92
        "$RUNTIME" --root "$T/state" run --bundle "$T/bundle" prop 2> "$T/runtime.err"
        echo "status $?" > "$T/status"
        cat /proc/$$/mountinfo > "$T/mountinfo"
    "#;
    // Files, not pipes: a container left behind would hold a pipe open forever.
    let file =
        |name: &str| std::fs::File::create(scene.path().join(name)).expect("log file");
    let status = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("T", scene.path())
        .env("RUNTIME", BIN)
        .stdin(Stdio::null())
        .stdout(file("sh.out"))
        .stderr(file("sh.err"))
        .status()
        .expect("run unshare");
    let read =
        |name: &str| std::fs::read_to_string(scene.path().join(name)).unwrap_or_default();
    assert!(
        status.success(),
        "the throwaway namespace could not be set up, or the shell lost its /proc ({status}): {}",
        read("sh.err")
    );
    Outcome {
        status: read("status").trim().to_string(),
        stderr: read("runtime.err"),
        mounts: read("mountinfo"),
    }
}

/// Whether `path` is a mount point in a mountinfo text (field 5).
fn listed(mountinfo: &str, path: &Path) -> bool {
    let wanted = path.to_str().expect("utf-8 path");
    mountinfo
        .lines()
        .any(|line| line.split(' ').nth(4) == Some(wanted))
}

#[rstest::rstest]
#[case::rshared("rshared")]
#[case::shared("shared")]
#[serial]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn a_shared_root_propagation_runs_and_unmounts_nothing_outside(#[case] propagation: &str) {
    if !privileged!() {
        return;
    }
    // Inside: a mount in the rshared volume, which Bidirectional means to reach the outside.
    let inside =
        "mount -t tmpfs bidi /vol/sub && cat /proc/self/mountinfo > /vol/mountinfo";
    let scene = Scene::new(propagation, &["sh", "-c", inside]);
    let outcome = run_beside_a_netns_mount(&scene);
    eprintln!(
        "{propagation}: {}; {}",
        outcome.status,
        outcome.stderr.trim()
    );
    assert_eq!(
        outcome.status, "status 0",
        "runc runs rootfsPropagation {propagation}; this runtime said: {}",
        outcome.stderr
    );
    assert!(
        listed(&outcome.mounts, &scene.path().join("netns-x")),
        "the container's exit unmounted the neighbour's netns mount outside \
         (rootfsPropagation {propagation}): the old root was detached while shared"
    );
    assert!(
        listed(&outcome.mounts, &scene.path().join("vol/sub")),
        "the mount made in the rshared volume did not reach the outside; inside:\n{}\noutside:\n{}",
        std::fs::read_to_string(scene.path().join("vol/mountinfo")).unwrap_or_default(),
        outcome.mounts
    );
    let host = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !host.contains(scene.path().to_str().expect("utf-8")),
        "a mount of the test reached the host's namespace"
    );
}

/// A profile's errno that no system call returns by itself.
const FILTER_ERRNO: i32 = 3999;

fn compile(profile: serde_json::Value) -> OciSeccomp {
    OciSeccomp::from_json(&profile).expect("the profile compiles")
}

/// runc turns conditions that share an argument index into separate rules: either mode
/// blocks `mkdir`. ANDed, no mode can be both 0777 and 0, and busybox `mkdir` went through.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn two_conditions_on_one_argument_are_alternatives() {
    if !privileged!() {
        return;
    }
    let seccomp = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": FILTER_ERRNO,
            "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"},
                     {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]
    }));
    let dir = tempfile::tempdir().expect("temp dir");
    let cdir = std::ffi::CString::new(dir.path().to_str().expect("utf-8")).expect("path");
    let answers = common::forked::errnos_in_a_child(
        // SAFETY: chdir(2) and seccomp(2) only.
        || unsafe { libc::chdir(cdir.as_ptr()) == 0 && seccomp.install_raw().is_ok() },
        // SAFETY: mkdir(2) of constant relative paths.
        || unsafe {
            let mkdir = |name: &[u8], mode: u32| {
                if libc::syscall(libc::SYS_mkdir, name.as_ptr(), mode) == 0 {
                    0
                } else {
                    *libc::__errno_location()
                }
            };
            [mkdir(b"a\0", 0o777), mkdir(b"b\0", 0), mkdir(b"c\0", 0o755)]
        },
    );
    assert_eq!(
        answers,
        [FILTER_ERRNO, FILTER_ERRNO, 0],
        "mkdir with mode 0777, 0 and 0755: the first two must get the profile's errno"
    );
}

/// The x32 ABI's bit: an x32 call is the x86-64 arch value with this bit in the number.
#[cfg(target_arch = "x86_64")]
const X32: i64 = 0x4000_0000;

/// A deny-list profile that lists x32 (as Docker's and podman's do): the x32 numbers of the
/// denied calls get the profile's errno, as libseccomp's x32 section gives them, including
/// a call whose x32 number is not the x86-64 one (execve: 59 and x32's 520).
#[cfg(target_arch = "x86_64")]
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_x32_call_gets_the_profiles_answer_when_the_profile_lists_x32() {
    if !privileged!() {
        return;
    }
    let seccomp = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["getpid", "execve"], "action": "SCMP_ACT_ERRNO",
            "errnoRet": FILTER_ERRNO}]
    }));
    let answers = common::forked::errnos_in_a_child(
        || seccomp.install_raw().is_ok(),
        // SAFETY: raw calls with NULL arguments, answered by the filter.
        || unsafe {
            let call = |nr: i64| {
                let null = std::ptr::null::<libc::c_char>();
                if libc::syscall(nr, null, null, null) == -1 {
                    *libc::__errno_location()
                } else {
                    0
                }
            };
            [
                call(libc::SYS_getpid),
                call(X32 | libc::SYS_getpid),
                call(X32 | 520),
            ]
        },
    );
    assert_eq!(
        answers, [FILTER_ERRNO; 3],
        "getpid, x32 getpid and x32 execve must get the profile's errno"
    );
}

/// A profile that does not list x32: libseccomp answers x32 calls with its bad-arch action
/// (a kill), never with the profile's default ALLOW.
#[cfg(target_arch = "x86_64")]
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_x32_call_is_killed_when_the_profile_does_not_list_x32() {
    if !privileged!() {
        return;
    }
    let seccomp = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": FILTER_ERRNO}]
    }));
    // SAFETY: the child makes only system calls and ends in _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe {
            if seccomp.install_raw().is_err() {
                libc::_exit(100);
            }
            libc::syscall(X32 | libc::SYS_getpid);
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
        "x32 getpid under a profile without x32 should be killed by SIGSYS (status {status:#x})"
    );
}
