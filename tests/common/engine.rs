//! What the engine tests (podman, containerd) share: the runtime they drive, a private
//! network and mount namespace to run the engine in, a cgroup parent of their own, and a
//! pseudo-terminal.
//!
//! The engines change the host as they work: podman's default network makes a bridge and
//! firewall rules, netavark keeps state under /run, containers get network namespaces bound
//! under /run/netns. So every engine command runs inside the namespaces of a *holder*
//! process (`nsenter -t HOLDER -n -m`): a new network namespace (bridge, veths and firewall
//! rules live and die there) and a new mount namespace with a tmpfs on /run (the engines'
//! runtime state, the overlay mounts of the containers) and one on /dev/shm (podman's lock
//! file). Killing the holder, once the
//! containers are gone, takes all of it away. Other helpers' containers are never seen.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The runtime the engines are pointed at: chapter 8's binary, or the one named by
/// `WORKBOOK_ENGINE_RUNTIME` (to compare with `/usr/sbin/runc`, or to run a wrapper that
/// logs what the engine passes).
pub fn runtime() -> PathBuf {
    if let Some(path) = std::env::var_os("WORKBOOK_ENGINE_RUNTIME") {
        return PathBuf::from(path);
    }
    // option_env!: tests/common is shared with the tool's package (tools/workbook), which
    // has no chapter 8 binary to name.
    match option_env!("CARGO_BIN_EXE_08-oci-runtime") {
        Some(path) => PathBuf::from(path),
        None => panic!("the engine tests run from the container-workbook package"),
    }
}

/// Whether the engine's binaries are installed; a test without them fails (CI installs
/// them), with the package to install named.
pub fn require(binaries: &[&str], package: &str) {
    for bin in binaries {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
            .unwrap_or(false);
        assert!(found, "{bin} is not installed: apt-get install {package}");
    }
}

/// A process holding a new network and mount namespace with a private /run and /dev/shm
/// (podman keeps its locks in the shared memory file /dev/shm/libpod_lock).
pub struct Holder {
    child: Child,
}

impl Holder {
    pub fn start() -> Holder {
        let mut child = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
            ])
            .arg(
                "mount -t tmpfs -o mode=755 wb-engine-run /run \
                 && mount -t tmpfs -o mode=1777 wb-engine-shm /dev/shm \
                 && ip link set lo up && echo ready && exec sleep 100000",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the namespace holder (unshare)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("holder's stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read the holder's ready line");
        assert_eq!(line.trim(), "ready", "the namespace holder did not start");
        Holder { child }
    }

    /// A command run inside the holder's namespaces.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.child.id().to_string())
            .args(["-n", "-m", "--"])
            .arg(program);
        cmd
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cgroup parent of the test's own (a name, created by the engine below each
/// hierarchy's root), removed on drop with whatever the engine left below it.
pub struct CgroupParent {
    pub name: String,
}

impl CgroupParent {
    pub fn new(tag: &str) -> CgroupParent {
        CgroupParent {
            name: format!("workbook-{tag}-{}", std::process::id()),
        }
    }
}

impl Drop for CgroupParent {
    fn drop(&mut self) {
        let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        let mut roots: Vec<PathBuf> = hierarchies.flatten().map(|e| e.path()).collect();
        roots.push(PathBuf::from("/sys/fs/cgroup"));
        for root in roots {
            remove_cgroup_tree(&root.join(&self.name));
        }
    }
}

/// Removes a cgroup directory and its children, deepest first (cgroupfs needs rmdir).
pub fn remove_cgroup_tree(dir: &Path) {
    if !dir.is_dir() {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::remove_dir(dir).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The cgroup file `file` of process `pid` for `controller`, on a v1 or a v2 layout.
pub fn cgroup_file(pid: i32, controller: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    let table =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("/proc/PID/cgroup");
    for line in table.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        let (Some(controllers), Some(path)) = (controllers, path) else {
            continue;
        };
        if controllers.split(',').any(|c| c == controller) {
            return Path::new("/sys/fs/cgroup")
                .join(controller)
                .join(path.trim_start_matches('/'))
                .join(v1_file);
        }
        if controllers.is_empty() && !Path::new("/sys/fs/cgroup/memory").exists() {
            return Path::new("/sys/fs/cgroup")
                .join(path.trim_start_matches('/'))
                .join(v2_file);
        }
    }
    panic!("process {pid} has no {controller} cgroup:\n{table}");
}

/// A pseudo-terminal pair: the engine gets the follower as its controlling terminal.
pub struct Pty {
    pub leader: OwnedFd,
    pub follower: OwnedFd,
}

impl Pty {
    pub fn open() -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        Pty {
            leader: pty.master,
            follower: pty.slave,
        }
    }

    /// Makes `cmd` run with the follower as stdin/stdout/stderr and controlling terminal.
    pub fn attach(&self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        let fd = self.follower.as_raw_fd();
        let io = || Stdio::from(self.follower.try_clone().expect("dup the pty follower"));
        cmd.stdin(io()).stdout(io()).stderr(io());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Writes to the terminal as a typist would.
    pub fn type_text(&self, text: &str) {
        nix::unistd::write(&self.leader, text.as_bytes()).expect("write to the pty");
    }

    /// Reads what the terminal showed until `until` appears or the time is up.
    pub fn read_until(&self, until: &str, timeout: Duration) -> String {
        let mut seen = Vec::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let mut fds = libc::pollfd {
                fd: self.leader.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd on the stack, a 100 ms timeout.
            let ready = unsafe { libc::poll(&mut fds, 1, 100) };
            if ready > 0 {
                let mut buf = [0u8; 4096];
                match nix::unistd::read(&self.leader, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
                if String::from_utf8_lossy(&seen).contains(until) {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    }
}

/// A runtime wrapper that logs each command line the engine passes, then runs the real
/// runtime with it: how the book learns what podman/conmon and the shim ask for.
pub struct LoggingRuntime {
    dir: tempfile::TempDir,
}

impl LoggingRuntime {
    pub fn around(real: &Path) -> LoggingRuntime {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("workbook-runtime-log-")
            .tempdir()
            .expect("temp dir");
        let log = dir.path().join("argv.log");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        );
        let path = dir.path().join("runtime");
        std::fs::write(&path, script).expect("write the wrapper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the wrapper executable");
        LoggingRuntime { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    /// The logged command lines, with `replace` (from, to) applied and every 64-digit
    /// hex id replaced by `<ID>`.
    pub fn lines(&self, replace: &[(&str, &str)]) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("argv.log")).unwrap_or_default();
        let mut out = String::new();
        for line in text.lines() {
            let mut line = line.to_string();
            for (from, to) in replace {
                line = line.replace(from, to);
            }
            let words: Vec<String> = line.split(' ').map(redact_ids).collect();
            out.push_str(&words.join(" "));
            out.push('\n');
        }
        // Temp files the engines name at random.
        for stem in ["exec-process-", "runc-process", "conmon-term."] {
            out = redact_after(&out, stem);
        }
        out
    }
}

/// Replaces 64-digit hex runs (container ids) with `<ID>`, and digits after the given
/// temp-file stems with `<N>`.
fn redact_ids(word: &str) -> String {
    let mut out = String::new();
    let bytes = word.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if run == 64 {
            out.push_str("<ID>");
            i += 64;
        } else if run > 0 {
            out.push_str(&word[i..i + run]);
            i += run;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

/// Replaces the run of letters and digits after each `stem` with `<N>`.
fn redact_after(text: &str, stem: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(stem) {
        let after = i + stem.len();
        out.push_str(&rest[..after]);
        let run = rest[after..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if run > 0 {
            out.push_str("<N>");
        }
        rest = &rest[after + run..];
    }
    out.push_str(rest);
    out
}

/// The engine command's stdout, after asserting that it succeeded (its status, stdout and
/// stderr are the message when it did not).
pub fn assert_ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        super::stdout(out),
        super::stderr(out)
    );
    super::stdout(out)
}
