//! Attacks on what the runtime keeps between its invocations (issue 21, items 6, 10, 12):
//! a `cgroupsPath` that names someone else's cgroup, a state that any local user can read,
//! and the faults whose messages left a user guessing. Each test runs the attack (or the
//! input) and checks what the kernel and the file system show afterwards.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::oci_bundle::{cgroup_parent as parent, Bundle};
use common::oci_config::runc_spec;
use common::wait_until;
use serde_json::{json, Value};
use serial_test::serial;
use workbook::cgroup::{CgroupFs, Controller, Layout};

const OCI: &str = env!("CARGO_BIN_EXE_08-oci-runtime");
const FULL: &str = env!("CARGO_BIN_EXE_07-full-container");
const CGROUPS: &str = env!("CARGO_BIN_EXE_05-cgroups");

/// Every directory that is `rel` below the root of a hierarchy of this machine.
fn all_dirs(rel: &str) -> Vec<PathBuf> {
    let fs = CgroupFs::detect().expect("cgroup layout");
    let mut dirs: Vec<PathBuf> = fs.v1.iter().map(|h| h.mount.join(rel)).collect();
    if let Some((mount, _)) = &fs.unified {
        dirs.push(mount.join(rel));
    }
    dirs
}

/// The directory where a test's host process goes: the v2 hierarchy, or v1's pids.
fn host_dir(rel: &str) -> PathBuf {
    let fs = CgroupFs::detect().expect("cgroup layout");
    match (&fs.layout, &fs.unified) {
        (Layout::Unified, Some((mount, _))) => mount.join(rel),
        _ => fs
            .v1_hierarchy(Controller::Pids)
            .expect("a v1 pids hierarchy")
            .mount
            .join(rel),
    }
}

/// Whether `pid` is alive (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_string()))
        .is_some_and(|r| !r.starts_with('Z') && !r.starts_with('X'))
}

/// The shared bundle (tests/common/oci_bundle.rs) with this file's config, a host `sleep`
/// or two, and the inits it was told of: the guard deletes the containers, kills the
/// sleeps and the inits, then the bundle's drop removes every cgroup directory below the
/// test's parent (deepest first) and the temp dir.
struct Guard {
    bundle: Bundle,
    sleeps: Vec<Child>,
    pids: Vec<i32>,
}

impl Guard {
    fn new(args: &[&str]) -> Guard {
        let bundle = Bundle::busybox();
        // Open to every user, as /run is: the state's own modes must keep others out.
        std::fs::set_permissions(bundle.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the temp dir");
        bundle.write_config(&config(args, &format!("/{}/ctr", parent())));
        Guard {
            bundle,
            sleeps: Vec::new(),
            pids: Vec::new(),
        }
    }

    fn with_cgroup(&self, cgroups_path: &str) {
        self.patch(|c| c["linux"]["cgroupsPath"] = json!(cgroups_path));
    }

    /// `create ID`: its pid on success, its stderr on failure.
    fn create(&mut self, id: &str) -> Result<i32, String> {
        let pid = self.bundle.try_create(id)?;
        self.pids.push(pid);
        Ok(pid)
    }

    /// A host `sleep` in the cgroup `rel` (made when missing) of the v2 or v1 pids
    /// hierarchy.
    fn host_sleep_in(&mut self, rel: &str) -> u32 {
        let dir = host_dir(rel);
        let _ = std::fs::create_dir_all(&dir);
        let child = Command::new("sleep").arg("600").spawn().expect("sleep");
        let pid = child.id();
        self.sleeps.push(child);
        std::fs::write(dir.join("cgroup.procs"), pid.to_string()).expect("move the sleep");
        pid
    }
}

impl std::ops::Deref for Guard {
    type Target = Bundle;
    fn deref(&self) -> &Bundle {
        &self.bundle
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.bundle.delete_containers();
        for child in &mut self.sleeps {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in &self.pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A config close to `runc spec`'s with a pid namespace and the cgroup `cgroups_path`.
fn config(args: &[&str], cgroups_path: &str) -> Value {
    let mut config = runc_spec(args, cgroups_path);
    config["linux"]["resources"] =
        json!({"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 32}});
    config
}

// --- item 6: a cgroupsPath that is not the container's -------------------------------

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_cgroup_that_holds_a_host_process_is_refused_and_left_alone() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let hostsvc = format!("{}/hostsvc", parent());
    let sleep = guard.host_sleep_in(&hostsvc);
    guard.with_cgroup(&format!("/{hostsvc}"));
    let err = guard
        .create("adopter")
        .expect_err("create adopted a cgroup that holds a host process");
    eprintln!("{err}");
    assert!(
        err.contains("already holds processes") && err.contains(&hostsvc),
        "the refusal does not name the cgroup: {err}"
    );
    let out = guard.runtime(&["delete", "--force", "adopter"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(sleep), "the host's process was killed");
    assert!(host_dir(&hostsvc).exists(), "the host's cgroup was removed");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_second_container_cannot_take_the_first_ones_cgroup() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    guard.with_cgroup(&format!("/{}/victim", parent()));
    let victim = guard.create("victim").expect("the first container");
    let err = guard
        .create("intruder")
        .expect_err("a second container took the first one's cgroup");
    assert!(err.contains("already holds processes"), "{err}");
    let out = guard.runtime(&["delete", "--force", "intruder"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        alive(victim as u32),
        "delete --force killed another container"
    );
    assert!(
        host_dir(&format!("{}/victim", parent())).exists(),
        "the first container's cgroup was removed"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn delete_force_kills_and_removes_only_what_its_container_made() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    // An empty cgroup made by someone else: create may use it (runc does), but it stays
    // theirs.
    let shared = format!("{}/shared", parent());
    for dir in all_dirs(&shared) {
        std::fs::create_dir_all(&dir).expect("mkdir the shared cgroup");
    }
    guard.with_cgroup(&format!("/{shared}"));
    let init = guard.create("guest").expect("create in an empty cgroup");
    // Its owner starts a process of its own there.
    let owner = guard.host_sleep_in(&shared);
    let out = guard.runtime(&["delete", "--force", "guest"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    wait_until("the container's init to go", || !alive(init as u32));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        alive(owner),
        "delete --force killed a process it did not make"
    );
    assert!(
        host_dir(&shared).exists(),
        "delete --force removed a cgroup it did not make"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn delete_force_of_a_stopped_container_spares_the_one_that_reused_its_cgroup() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let path = format!("{}/reused", parent());
    guard.with_cgroup(&format!("/{path}"));
    let first = guard.create("first").expect("the first container");
    // The first one's init dies (its PID namespace with it); its record and cgroup stay.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the first init");
    wait_until("the first init to go", || !alive(first as u32));
    wait_until("the cgroup to empty", || {
        std::fs::read_to_string(host_dir(&path).join("cgroup.procs"))
            .is_ok_and(|t| t.trim().is_empty())
    });
    // The empty cgroup is taken by a second container.
    let second = guard.create("second").expect("the second container");
    let out = guard.runtime(&["delete", "--force", "first"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        alive(second as u32),
        "delete --force of a stopped container killed the one now in its cgroup"
    );
    assert!(
        host_dir(&path).exists(),
        "the second container's cgroup was removed"
    );
}

// --- item 10: the state is root's alone ----------------------------------------------

/// Whether user `nobody` (uid and gid 65534) can open `file` for reading: asked in a
/// forked child that drops to nobody, so the test harness keeps its root.
fn nobody_can_read(file: &Path) -> bool {
    let path = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: the child makes only system calls and ends in _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        unsafe {
            let ok = libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(65534) == 0
                && libc::setuid(65534) == 0;
            if !ok {
                libc::_exit(2);
            }
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
            libc::_exit(if fd >= 0 { 0 } else { 1 });
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "the child died: {status:#x}");
    let code = libc::WEXITSTATUS(status);
    assert_ne!(code, 2, "the child could not become nobody");
    code == 0
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_state_and_the_hooks_environment_are_not_readable_by_other_users() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let mut config = config(&["sleep", "60"], &format!("/{}/secret", parent()));
    config["hooks"] =
        json!({"poststop": [{"path": "/bin/true", "env": ["API_TOKEN=s3cr3t-token"]}]});
    guard.write_config(&config);
    guard.create("secret").expect("create");
    let state = guard.root().join("secret/state.json");
    let text = std::fs::read_to_string(&state).expect("root reads the state");
    assert!(
        text.contains("s3cr3t-token"),
        "the state holds the hook's env"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert!(
        !nobody_can_read(&state),
        "nobody read {} (modes: root {:o}, dir {:o}, file {:o})",
        state.display(),
        mode(&guard.root()),
        mode(&guard.root().join("secret")),
        mode(&state)
    );
    assert_eq!(mode(&guard.root()), 0o700, "the --root the runtime made");
    assert_eq!(mode(&state), 0o600, "state.json");
    // A --root that exists already, open to all (an admin made it): the container's own
    // directory still keeps others out.
    let out = guard.runtime(&["delete", "--force", "secret"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let open_root = guard.path().join("open-root");
    std::fs::create_dir(&open_root).unwrap();
    std::fs::set_permissions(&open_root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let status = Command::new(OCI)
        .arg("--root")
        .arg(&open_root)
        .args(["create", "--bundle"])
        .arg(guard.path())
        .arg("open")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("create");
    let open_state = open_root.join("open/state.json");
    let readable = status.success() && nobody_can_read(&open_state);
    let _ = Command::new(OCI)
        .arg("--root")
        .arg(&open_root)
        .args(["delete", "--force", "open"])
        .output();
    assert!(
        status.success(),
        "create under an existing 0755 root failed"
    );
    assert!(!readable, "nobody read the state under a 0755 root");
    assert_eq!(
        mode(&open_root),
        0o755,
        "an existing root is left as it was"
    );
}

// --- item 12: one clear sentence for each fault --------------------------------------

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn delete_force_removes_a_container_whose_state_is_damaged() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let init = guard.create("damaged").expect("create");
    let state = guard.root().join("damaged/state.json");
    std::fs::write(&state, "{\"id\": \"damaged\", \"pid\": 12").unwrap();
    let out = guard.runtime(&["delete", "--force", "damaged"]);
    assert!(
        out.status.success(),
        "delete --force refused a damaged state: {}",
        common::stderr(&out)
    );
    eprintln!("{}", common::stderr(&out));
    assert!(
        !guard.root().join("damaged").exists(),
        "the state dir stayed"
    );
    wait_until("the waiting init to be killed", || !alive(init as u32));
    assert!(
        common::stderr(&out).contains("damaged"),
        "no word that the state was damaged: {}",
        common::stderr(&out)
    );
    // Without --force, the damage is named.
    guard.create("damaged2").expect("create");
    std::fs::write(guard.root().join("damaged2/state.json"), "not json").unwrap();
    let out = guard.runtime(&["delete", "damaged2"]);
    eprintln!("{}", common::stderr(&out));
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("delete --force"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_init_killed_by_seccomp_names_the_signal() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let mut config = config(&["sleep", "60"], &format!("/{}/sigsys", parent()));
    // Without no_new_privs the filter goes before the capabilities are dropped (as runc
    // orders it), so the init's write of "ok" to the runtime goes through it. (With
    // no_new_privs the filter is the last step before execve.)
    config["process"]["noNewPrivileges"] = json!(false);
    config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_KILL"}]
    });
    guard.write_config(&config);
    let err = guard.create("sigsys").expect_err("the init was killed");
    eprintln!("{err}");
    assert!(
        err.contains("SIGSYS") && err.contains("seccomp"),
        "the message does not name the signal: {err}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_init_killed_before_it_was_ready_names_sigkill_and_who_sent_it() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let mut config = config(&["sleep", "60"], &format!("/{}/sigkill", parent()));
    // A createRuntime hook gets the state (with the init's pid) while the init waits.
    config["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": [
        "sh", "-c", "kill -9 $(sed -n 's/.*\"pid\":\\([0-9]*\\).*/\\1/p')"
    ]}]});
    guard.write_config(&config);
    let err = guard.create("sigkill").expect_err("the init was killed");
    eprintln!("{err}");
    assert!(
        err.contains("SIGKILL") && err.contains("another process sent it"),
        "the message does not name the signal and its sender: {err}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_rlimit_the_kernel_refuses_to_root_gives_no_sudo_hint() {
    if !privileged!() {
        return;
    }
    let mut guard = Guard::new(&["sleep", "60"]);
    let mut config = config(&["sleep", "60"], &format!("/{}/rlimit", parent()));
    // Above fs.nr_open (1048576 by default): EPERM, even for root.
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "hard": nr_open * 2, "soft": 1024}]);
    guard.write_config(&config);
    let err = guard.create("rlimit").expect_err("setrlimit above nr_open");
    eprintln!("{err}");
    assert!(err.contains("RLIMIT_NOFILE"), "{err}");
    assert!(!err.contains("sudo"), "root was told to use sudo: {err}");
    assert!(
        err.contains("nr_open"),
        "the kernel's ceiling is not named: {err}"
    );
}

#[test]
fn a_memory_limit_below_6_mib_is_refused() {
    for (bin, args) in [
        (FULL, &["run", "--memory", "1", "--", "true"][..]),
        (CGROUPS, &["--memory", "1", "--", "true"][..]),
        (FULL, &["run", "--memory", "5M", "--", "true"][..]),
    ] {
        let out = common::run_bin(bin, args);
        assert!(!out.status.success(), "{bin} {args:?} was accepted");
        let err = common::stderr(&out);
        eprintln!("{err}");
        assert!(err.contains("6 MiB"), "{bin} {args:?}: {err}");
    }
}

#[test]
fn a_log_file_that_cannot_be_written_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("no-such-dir/log.json");
    let out = common::run_bin(
        OCI,
        &[
            "--root",
            dir.path().join("state").to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "state",
            "nothing",
        ],
    );
    assert!(!out.status.success());
    let err = common::stderr(&out);
    eprintln!("{err}");
    assert!(
        err.contains(log.to_str().unwrap()),
        "the log path is not named: {err}"
    );
    assert!(
        err.contains("does not exist"),
        "the error itself is lost: {err}"
    );
}
