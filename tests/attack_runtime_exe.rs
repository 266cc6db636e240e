//! Privileged: CVE-2019-5736, the container overwrites the runtime's binary.
//!
//! Every process that `create`, `run` and `exec` put into a container runs the runtime's
//! code until its execve, and `/proc/PID/exe` of such a process is a link to the file it
//! runs. A process in the container opens that link read-only while the runtime runs it
//! (writing a running binary is ETXTBSY), and writes through the fd once no runtime
//! process runs it any more: the next `runc` started on the host runs the attacker's code
//! as root. Both forms of the attack run here against a *copy* of the built runtime, and
//! the copy must come out unchanged.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::oci_bundle::{cgroup_parent, Bundle as Lab};
use common::oci_config::{runc_spec, set_capabilities};
use serde_json::{json, Value};
use serial_test::serial;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_08-oci-runtime");

/// What the attacker appends; the host's binary must never hold it.
const PWNED: &str = "#PWNED-by-container";

/// The shared bundle (tests/common/oci_bundle.rs) with this file's config, run by a copy
/// of the runtime in its temp dir; the drop deletes the containers made and the temp dir.
impl Lab {
    fn new(args: &[&str], capabilities: &[String]) -> Lab {
        let mut lab = Lab::busybox();
        let copy = lab.path().join("08-oci-runtime");
        std::fs::copy(BIN, &copy).expect("copy the runtime");
        // The attack runs against the copy, never the build's own binary.
        lab.use_runtime(copy);
        // The container's processes inherit the runtime's stdio and keep pipes open.
        lab.keep_output_in_files();
        lab.write_config(&config(args, capabilities));
        lab
    }

    fn digest(&self) -> Vec<u8> {
        let bytes = std::fs::read(self.runtime_path()).expect("read the runtime's copy");
        Sha256::digest(&bytes).to_vec()
    }

    /// Waits (up to `limit`) for the file `name` in the rootfs and returns its text.
    fn wait_for(&self, name: &str, limit: Duration) -> Option<String> {
        let path = self.rootfs().join(name);
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if text.ends_with('\n') {
                    return Some(text);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// The config: namespaces as `runc spec` has them, no cgroup limits, a cgroup below the
/// test's own parent, the capabilities given.
fn config(args: &[&str], capabilities: &[String]) -> Value {
    let mut config = runc_spec(args, &format!("/{}/lab", cgroup_parent()));
    set_capabilities(&mut config, capabilities);
    config["hostname"] = json!("attack");
    config
}

/// `runc spec`'s three capabilities.
fn default_capabilities() -> Vec<String> {
    ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        .map(String::from)
        .to_vec()
}

/// Every capability this test holds (its bounding set): a privileged container (`docker
/// run --privileged`). /proc/PID/exe of a process is open to another only if the opener's
/// capabilities cover the target's (ptrace access, PTRACE_MODE_READ), and an `exec` child
/// holds all of the runtime's until just before its execve.
fn all_capabilities() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .expect("CapBnd in /proc/self/status");
    workbook::oci::init::capability_sets::NAMES
        .iter()
        .enumerate()
        .filter(|(number, _)| mask & (1 << number) != 0)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// Form 1: a process of `exec -d` holds /proc/1/exe (the created container's init, the
/// runtime) read-only; after `start` no runtime process runs the file any more, and it
/// appends through /proc/self/fd/3.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn form1_init_exe_held_across_start_is_not_writable() {
    if !privileged!() {
        return;
    }
    let mut lab = Lab::new(&["sleep", "60"], &default_capabilities());
    let before = lab.digest();
    let id = format!("atk-exe1-{}", std::process::id());
    lab.create(&id);
    let holder = format!(
        r#"exec 3</proc/1/exe || {{ echo open-failed > /held; exit 0; }}
echo holding > /held
until [ /proc/1/exe -ef /bin/sleep ]; do sleep 0.05; done
i=0
while [ $i -lt 20 ]; do
  if (echo '{PWNED}' >> /proc/self/fd/3) 2>/err; then echo written > /result; exit 0; fi
  i=$((i+1)); sleep 0.1
done
echo "refused: $(cat /err)" > /result
"#
    );
    lab.ok(&["exec", "-d", &id, "/bin/sh", "-c", &holder]);
    let held = lab
        .wait_for("held", Duration::from_secs(10))
        .expect("the holder never said whether it opened /proc/1/exe");
    assert_eq!(
        held.trim(),
        "holding",
        "the attack could not open /proc/1/exe"
    );
    lab.ok(&["start", &id]);
    let result = lab
        .wait_for("result", Duration::from_secs(20))
        .expect("the holder never reported its write");
    eprintln!("the holder of /proc/1/exe: {}", result.trim());
    let after = lab.digest();
    assert!(
        before == after && result.starts_with("refused"),
        "the container wrote the runtime's binary through /proc/1/exe (CVE-2019-5736): \
         holder says {result:?}, binary unchanged: {}",
        before == after
    );
}

/// Form 2: the container's process scans /proc/*/exe while `exec` children start; one it
/// catches before its execve is the runtime. It keeps the fd and writes once `exec` ended.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn form2_exec_child_exe_caught_by_a_scanner_is_not_writable() {
    if !privileged!() {
        return;
    }
    let scanner = format!(
        r#"while [ ! -e /stop ]; do
  for e in /proc/[0-9]*/exe; do
    command exec 4<"$e" 2>/dev/null || continue
    if [ /proc/self/fd/4 -ef /bin/sh ]; then exec 4<&-; continue; fi
    echo caught > /caught
    i=0
    while [ $i -lt 40 ]; do
      if (echo '{PWNED}' >> /proc/self/fd/4) 2>/err; then echo written > /result; exit 0; fi
      i=$((i+1)); sleep 0.1
    done
    echo "refused: $(cat /err)" > /result
    exit 0
  done
done
echo "never caught" > /result
"#
    );
    let mut lab = Lab::new(&["/bin/sh", "-c", &scanner], &all_capabilities());
    let before = lab.digest();
    let id = format!("atk-exe2-{}", std::process::id());
    lab.create(&id);
    lab.ok(&["start", &id]);
    let mut execs = 0;
    while execs < 60 && !lab.rootfs().join("caught").exists() {
        // An exec may fail once the scanner has stopped; only the catch matters.
        let _ = lab.runtime(&["exec", &id, "/bin/true"]);
        execs += 1;
    }
    std::fs::write(lab.rootfs().join("stop"), "").expect("stop the scanner");
    let result = lab
        .wait_for("result", Duration::from_secs(20))
        .expect("the scanner never reported");
    assert_ne!(
        result.trim(),
        "never caught",
        "the scanner saw no exec child before its execve in {execs} execs: the attack did not run"
    );
    eprintln!("the scanner, after {execs} execs: {}", result.trim());
    let after = lab.digest();
    assert!(
        before == after && result.starts_with("refused"),
        "the container wrote the runtime's binary through an exec child's /proc/PID/exe \
         (CVE-2019-5736), caught after {execs} execs: scanner says {result:?}, binary \
         unchanged: {}",
        before == after
    );
}

/// `run` waits for its container as long as it lives, and its init ran the runtime's code
/// too: both run from the sealed copy, whose link reads `/memfd:NAME (deleted)`.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn run_waits_for_its_container_from_the_sealed_copy() {
    if !privileged!() {
        return;
    }
    let mut lab = Lab::new(&["sleep", "5"], &default_capabilities());
    let id = format!("atk-exe3-{}", std::process::id());
    lab.ids.push(id.clone());
    let log = std::fs::File::create(lab.dir.path().join("run.err")).expect("log");
    let mut run = Command::new(lab.runtime_path())
        .arg("--root")
        .arg(lab.dir.path().join("state"))
        .args(["run", "--bundle"])
        .arg(lab.dir.path())
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start run");
    let exe = format!("/proc/{}/exe", run.id());
    let start = Instant::now();
    let mut link = String::new();
    while start.elapsed() < Duration::from_secs(5) {
        link = std::fs::read_link(&exe)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if link.starts_with("/memfd:") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = run.kill();
    let _ = run.wait();
    assert_eq!(
        link, "/memfd:08-oci-runtime (deleted)",
        "`run` still runs the host's binary"
    );
}
