//! Attacks on the caller's session (issue 21, items 3 and 4): a container that shares the
//! caller's session and controlling terminal can type into the caller's shell with
//! ioctl(TIOCSTI), and a container in the caller's process group can `kill 0` it.
//!
//! The "host shell" of these tests is a real `sh` on a pty the test makes: it is the
//! session leader, the pty is its controlling terminal, and it runs the runtime as any
//! script would. The payload is a static C program (built with `gcc -static`) that says
//! which session and terminal it has and pushes a command into its stdin's terminal.
//!
//! What the kernel allows (drivers/tty/tty_io.c, tiocsti): with `dev.tty.legacy_tiocsti`
//! = 1 (this machine), TIOCSTI works on the caller's *controlling* terminal, or on any
//! terminal with CAP_SYS_ADMIN in the initial user namespace. A container that has a
//! session of its own has no controlling terminal, and without CAP_SYS_ADMIN its TIOCSTI
//! on the inherited terminal fd fails with EPERM.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::oci_config::{add_mount, runc_spec, set_capabilities};
use serde_json::json;
use serial_test::serial;

const CH01: &str = env!("CARGO_BIN_EXE_01-unshare-pid");
const CH03: &str = env!("CARGO_BIN_EXE_03-mount-rootfs");
const CH07: &str = env!("CARGO_BIN_EXE_07-full-container");
const CH08: &str = env!("CARGO_BIN_EXE_08-oci-runtime");

/// The payload: its session, process group and controlling terminal as the kernel shows
/// them to it, then argv[1] pushed byte by byte into the input of the terminal on fd 0.
const PAYLOAD_C: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char stat[1024] = {0};
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd >= 0) { read(fd, stat, sizeof stat - 1); close(fd); }
    char *p = strrchr(stat, ')');
    int tty_nr = -1;
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %d", &tty_nr);
    const char *text = argc > 1 ? argv[1] : "";
    int err = 0;
    for (const char *c = text; *c; c++)
        if (ioctl(0, TIOCSTI, c) < 0) { err = errno; break; }
    char result[32] = "pushed";
    if (err == EPERM) strcpy(result, "EPERM");
    else if (err) snprintf(result, sizeof result, "errno-%d", err);
    printf("payload: pid=%d sid=%d pgrp=%d tty_nr=%d tiocsti=%s\n", (int)getpid(),
           (int)getsid(0), (int)getpgrp(), tty_nr, result);
    return 0;
}
"#;

/// A temp dir with the payload, a busybox root filesystem holding it at `/payload`, and
/// the file the injected command would create on the host.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("payload.c");
        std::fs::write(&source, PAYLOAD_C).expect("write payload.c");
        let built = Command::new("gcc")
            .args(["-static", "-O1", "-o"])
            .arg(dir.path().join("payload"))
            .arg(&source)
            .output()
            .expect("run gcc (the payload is a static C program)");
        assert!(
            built.status.success(),
            "gcc -static failed: {}",
            common::stderr(&built)
        );
        let busybox = workbook::rootfs::default_rootfs().expect("the busybox rootfs");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&busybox)
            .arg(dir.path().join("rootfs"))
            .status()
            .expect("cp -a the rootfs");
        assert!(copied.success(), "copying the busybox rootfs");
        std::fs::copy(
            dir.path().join("payload"),
            dir.path().join("rootfs/payload"),
        )
        .expect("copy the payload into the rootfs");
        Lab { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn rootfs(&self) -> PathBuf {
        self.path().join("rootfs")
    }

    fn payload(&self) -> PathBuf {
        self.path().join("payload")
    }

    /// What the container types into the caller's terminal: a command that leaves a file
    /// on the host when the caller's shell runs it.
    fn proof(&self) -> PathBuf {
        self.path().join("proof")
    }

    fn injected(&self) -> String {
        format!("touch {}\n", self.proof().display())
    }
}

/// A process tree on a pty of its own, the pty its controlling terminal; everything written
/// to the pty is collected.
struct OnPty {
    child: Child,
    master: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl OnPty {
    fn spawn(mut command: Command) -> OnPty {
        let size = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        command
            .stdin(Stdio::from(slave.try_clone().expect("dup the slave")))
            .stdout(Stdio::from(slave.try_clone().expect("dup the slave")))
            .stderr(Stdio::from(slave.try_clone().expect("dup the slave")));
        // SAFETY: between fork and exec only setsid(2) and ioctl(2), which allocate nothing.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn the host shell on the pty");
        drop(command);
        drop(slave);
        let master = std::fs::File::from(pty.master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut from = master.try_clone().expect("dup the master");
        let into = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once no process holds the slave open any more.
            while let Ok(n @ 1..) = from.read(&mut buf) {
                into.lock()
                    .expect("output lock")
                    .extend_from_slice(&buf[..n]);
            }
        });
        OnPty {
            child,
            master,
            output,
            reader: Some(reader),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output lock")).into_owned()
    }

    fn wait_for_text(&self, marker: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.text().contains(marker) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {marker:?} on the pty; it shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(line.as_bytes())
            .expect("write to the pty master");
    }

    /// Waits (at most 20 s) for the host shell; the pty's whole output.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("try_wait").is_none() {
            assert!(Instant::now() < deadline, "the host shell did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.text()
    }
}

impl Drop for OnPty {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // The host shell leads a session and a process group of its own.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = self.child.wait();
        }
    }
}

/// The host shell: it runs the runtime, says how it ended, then reads its next command
/// line from the terminal and runs it, as an interactive shell does after a command. When
/// nothing was injected, the test types `true`.
fn host_shell(runtime: &[&str]) -> Command {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(r#""$@"; echo "runtime-exit=$?"; read -r line; eval "$line"; echo host-shell-done"#)
        .arg("sh")
        .args(runtime);
    command
}

/// Runs `runtime` from the host shell on a pty; the pty's output once the shell ended.
fn run_on_pty(runtime: &[&str]) -> String {
    let mut pty = OnPty::spawn(host_shell(runtime));
    pty.wait_for_text("runtime-exit=");
    pty.type_line("true\n");
    pty.finish()
}

/// The payload's report line, parsed: (field, value) pairs.
fn report(output: &str) -> Vec<(String, String)> {
    let line = output
        .lines()
        .find(|l| l.starts_with("payload:"))
        .unwrap_or_else(|| panic!("the payload did not run; the pty shows:\n{output}"));
    line["payload:".len()..]
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field(report: &[(String, String)], name: &str) -> String {
    report
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The container's process has no controlling terminal and leads a session of its own,
/// and the caller's shell ran nothing it did not type.
fn assert_no_injection(lab: &Lab, what: &str, output: &str) {
    let report = report(output);
    assert_eq!(
        field(&report, "tty_nr"),
        "0",
        "{what}: the container's process has the caller's terminal as its controlling \
         terminal (tty_nr in /proc/self/stat); the pty shows:\n{output}"
    );
    assert_eq!(
        field(&report, "sid"),
        field(&report, "pid"),
        "{what}: the container's process does not lead a session of its own; the pty \
         shows:\n{output}"
    );
    assert!(
        !lab.proof().exists(),
        "{what}: the container typed `{}` into the caller's terminal and the host shell \
         ran it; the pty shows:\n{output}",
        lab.injected().trim_end()
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn tiocsti_from_07_run_does_not_reach_the_callers_shell() {
    if !privileged!() {
        return;
    }
    let lab = Lab::new();
    let rootfs = lab.rootfs();
    let injected = lab.injected();
    let output = run_on_pty(&[
        CH07,
        "run",
        "--network",
        "none",
        "--rootfs",
        rootfs.to_str().expect("utf-8 path"),
        "--",
        "/payload",
        &injected,
    ]);
    assert!(output.contains("runtime-exit=0"), "{output}");
    assert_no_injection(&lab, "07 run", &output);
    // Without CAP_SYS_ADMIN and with no controlling terminal, the kernel refuses.
    assert_eq!(field(&report(&output), "tiocsti"), "EPERM", "{output}");
}

/// A created and started OCI container running `sleep`, deleted on drop.
struct OciContainer {
    root: PathBuf,
    id: String,
}

impl OciContainer {
    fn start(lab: &Lab, id: &str) -> OciContainer {
        let parent = format!("wb-session-test-{}", std::process::id());
        let mut config = runc_spec(&["sleep", "60"], &format!("/{parent}/{id}"));
        set_capabilities(
            &mut config,
            &["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
        );
        add_mount(
            &mut config,
            json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                   "options": ["newinstance", "ptmxmode=0666"]}),
        );
        std::fs::write(
            lab.path().join("config.json"),
            serde_json::to_string_pretty(&config).expect("json"),
        )
        .expect("write config.json");
        let container = OciContainer {
            root: lab.path().join("state"),
            id: id.to_string(),
        };
        let log = std::fs::File::create(lab.path().join("create.log")).expect("log");
        let created = Command::new(CH08)
            .arg("--root")
            .arg(&container.root)
            .args(["create", "--bundle"])
            .arg(lab.path())
            .arg(id)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .status()
            .expect("run 08 create");
        let log =
            std::fs::read_to_string(lab.path().join("create.log")).unwrap_or_default();
        assert!(created.success(), "create failed: {log}");
        let started = container.runtime(&["start", id]);
        assert!(
            started.status.success(),
            "start: {}",
            common::stderr(&started)
        );
        container
    }

    fn runtime(&self, args: &[&str]) -> std::process::Output {
        Command::new(CH08)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run 08-oci-runtime")
    }

    /// The runtime and its global arguments, for a command line.
    fn exec_args(&self) -> Vec<String> {
        vec![
            CH08.to_string(),
            "--root".into(),
            self.root.display().to_string(),
            "exec".into(),
            self.id.clone(),
        ]
    }
}

impl Drop for OciContainer {
    fn drop(&mut self) {
        let _ = self.runtime(&["delete", "--force", &self.id]);
        let parent = format!("wb-session-test-{}", std::process::id());
        if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir(entry.path().join(&parent));
            }
        }
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(&parent));
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn tiocsti_from_08_exec_does_not_reach_the_callers_shell() {
    if !privileged!() {
        return;
    }
    let lab = Lab::new();
    let container = OciContainer::start(&lab, "session-tiocsti");
    let injected = lab.injected();
    let mut args = container.exec_args();
    args.extend(["/payload".to_string(), injected]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run_on_pty(&args);
    assert!(output.contains("runtime-exit=0"), "{output}");
    assert_no_injection(&lab, "08 exec", &output);
    assert_eq!(field(&report(&output), "tiocsti"), "EPERM", "{output}");
}

/// Chapters 1 and 3 run their command as the host's root, with every capability: with
/// CAP_SYS_ADMIN, TIOCSTI works on any terminal, session or not (what chapter 7's dropped
/// capabilities are for). What the fix gives them is the session: no controlling terminal,
/// a process group of their own.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_commands_of_chapters_1_and_3_lead_a_session_without_a_terminal() {
    if !privileged!() {
        return;
    }
    let lab = Lab::new();
    let payload = lab.payload();
    let rootfs = lab.rootfs();
    let runs: [(&str, Vec<&str>); 2] = [
        (
            "01-unshare-pid",
            vec![CH01, "--", payload.to_str().expect("utf-8"), ""],
        ),
        (
            "03-mount-rootfs",
            vec![
                CH03,
                "--rootfs",
                rootfs.to_str().expect("utf-8"),
                "--",
                "/payload",
                "",
            ],
        ),
    ];
    for (what, runtime) in runs {
        let output = run_on_pty(&runtime);
        assert!(output.contains("runtime-exit=0"), "{what}: {output}");
        assert_no_injection(&lab, what, &output);
        assert_eq!(
            field(&report(&output), "pgrp"),
            field(&report(&output), "pid")
        );
    }
}

/// A script in a process group of its own (the test makes it) runs a sibling `sleep` and
/// the runtime; the container's command signals its process group with `kill -TERM 0`.
/// Returns what the script printed and how it ended.
fn kill_zero_from(runtime: &[&str]) -> (String, std::process::ExitStatus) {
    let script = r#"sleep 60 & sibling=$!
"$@"; rc=$?
if kill -0 "$sibling" 2>/dev/null; then state=alive; else state=dead; fi
kill "$sibling" 2>/dev/null
echo "script=alive runtime=$rc sibling=$state""#;
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(runtime)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the script");
    struct Group(i32);
    impl Drop for Group {
        fn drop(&mut self) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _group = Group(child.id() as i32);
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read the script's output");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read the script's errors");
    let status = child.wait().expect("wait for the script");
    (format!("{out}{err}"), status)
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn kill_zero_in_07_run_reaches_only_the_container() {
    if !privileged!() {
        return;
    }
    let lab = Lab::new();
    let rootfs = lab.rootfs();
    let (text, status) = kill_zero_from(&[
        CH07,
        "run",
        "--network",
        "none",
        "--rootfs",
        rootfs.to_str().expect("utf-8"),
        "--",
        "sh",
        "-c",
        "kill -TERM 0; exit 7",
    ]);
    assert!(
        status.success(),
        "the caller's script ended with {status}: `kill -TERM 0` in the container \
         reached the caller's process group; it printed:\n{text}"
    );
    // The container's shell is PID 1 of its namespace, which ignores a SIGTERM it has no
    // handler for, and goes on to `exit 7`.
    assert!(
        text.contains("script=alive runtime=7 sibling=alive"),
        "{text}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn kill_zero_in_08_exec_reaches_only_the_container() {
    if !privileged!() {
        return;
    }
    let lab = Lab::new();
    let container = OciContainer::start(&lab, "session-kill0");
    let mut args = container.exec_args();
    args.extend(["sh", "-c", "kill -TERM 0; exit 7"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (text, status) = kill_zero_from(&args);
    assert!(
        status.success(),
        "the caller's script ended with {status}: `kill -TERM 0` in the container \
         reached the caller's process group; it printed:\n{text}"
    );
    // The exec'd shell is not PID 1: its own SIGTERM kills it, and exec reports 128+15.
    assert!(
        text.contains("script=alive runtime=143 sibling=alive"),
        "{text}"
    );
    // The container's init was not in the group either.
    let state = container.runtime(&["state", "session-kill0"]);
    assert!(
        common::stdout(&state).contains("running"),
        "{}",
        common::stdout(&state)
    );
}

/// `07 run -t` gives the command a terminal of its own: a new pty, its controlling
/// terminal, with the caller's window size; the caller's terminal is in raw mode meanwhile
/// and restored after.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn run_with_a_tty_gives_the_command_a_pty_of_its_own() {
    if !privileged!() {
        return;
    }
    let lab = Lab::new();
    let rootfs = lab.rootfs();
    let injected = lab.injected();
    let mut pty = OnPty::spawn(host_shell(&[
        "sh",
        "-c",
        r#"stty -g > "$0.before"; "$@"; rc=$?; stty -g > "$0.after"; exit $rc"#,
        lab.path().join("stty").to_str().expect("utf-8"),
        CH07,
        "run",
        "-t",
        "--network",
        "none",
        "--rootfs",
        rootfs.to_str().expect("utf-8"),
        "--",
        "sh",
        "-c",
        &format!(
            "tty; stty size; /payload '{injected}'; read -r l; echo \"[$l]\"; \
             echo resize-me; read -r l; echo \"size: $(stty size)\""
        ),
    ]));
    pty.wait_for_text("resize-me");
    // Meanwhile the caller's terminal is raw: keys go through as typed, Ctrl-C too.
    let raw = nix::sys::termios::tcgetattr(&pty.master).expect("tcgetattr");
    use nix::sys::termios::LocalFlags;
    assert!(
        !raw.local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
        "the caller's terminal is not in raw mode: {:?}",
        raw.local_flags
    );
    // The caller's window grows: SIGWINCH to the runtime, the new size to the pty.
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize that outlives the call.
    let rc = unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    assert_eq!(rc, 0, "TIOCSWINSZ on the test's pty");
    pty.type_line("go\n");
    pty.wait_for_text("runtime-exit=");
    pty.type_line("true\n");
    let output = pty.finish();
    let report = report(&output);
    assert_ne!(field(&report, "tty_nr"), "0", "{output}");
    assert_eq!(field(&report, "tiocsti"), "pushed", "{output}");
    assert!(
        output.contains("/dev/pts/0"),
        "the pty is the container's own: {output}"
    );
    assert!(
        output.contains("24 80"),
        "the caller's window size: {output}"
    );
    assert!(
        output.contains(&format!("[{}]", injected.trim_end())),
        "what the command pushed came back to its own shell: {output}"
    );
    assert!(!lab.proof().exists(), "{output}");
    assert!(
        output.contains("size: 30 100"),
        "the new window size: {output}"
    );
    let before = std::fs::read_to_string(lab.path().join("stty.before")).expect("before");
    let after = std::fs::read_to_string(lab.path().join("stty.after")).expect("after");
    assert_eq!(
        before, after,
        "the caller's terminal settings were not restored"
    );
}
