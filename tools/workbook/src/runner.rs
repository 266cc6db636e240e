//! How the test executables get root: they are root already, sudo lifts them (as
//! .cargo/runner does for the chapter binaries), or they run in the headless QEMU VM. Always
//! with WORKBOOK_REQUIRE_PRIVILEGED=1, so a privileged test that cannot run fails instead of
//! skipping: a skip never looks like a pass. Without any of the three, nothing runs.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Fail;

/// The variables the tests read, passed through sudo.
const PRESERVED: &str =
    "WORKBOOK_CACHE,WORKBOOK_BUSYBOX,WORKBOOK_STORE,WORKBOOK_BLESS,CARGO";

#[derive(Debug, Clone)]
pub enum Runner {
    Root,
    /// `ask`: sudo may prompt on the terminal (there is one), else it must not (`-n`).
    Sudo {
        ask: bool,
    },
    Vm(PathBuf),
}

/// What one run of a test executable printed, and how it ended.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Runner {
    /// Picks the way to root before anything is built, so that a check which cannot run
    /// says so at once.
    pub fn choose(root: &Path, vm: bool) -> Result<Runner, Fail> {
        if vm {
            let script = root.join("vm/qemu/run-tests");
            if !script.exists() {
                return Err(Fail::tool(format!(
                    "--vm needs {}, which is missing",
                    script.display()
                )));
            }
            return Ok(Runner::Vm(script));
        }
        if nix::unistd::geteuid().is_root() {
            return Ok(Runner::Root);
        }
        let quiet = |args: &[&str], stdin: Stdio| {
            Command::new("sudo")
                .args(args)
                .stdin(stdin)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        // -n: never ask; a password prompt with nobody to answer it would hang.
        let tty = std::io::stdin().is_terminal();
        if quiet(&["-n", "true"], Stdio::null()) {
            return Ok(Runner::Sudo { ask: tty });
        }
        if tty && which("sudo") {
            eprintln!(
                "(the tests read the kernel's state as root: sudo asks for your password)"
            );
            let asked = Command::new("sudo")
                .arg("-v")
                .status()
                .is_ok_and(|s| s.success());
            if asked {
                return Ok(Runner::Sudo { ask: true });
            }
        }
        Err(Fail::needs_root())
    }

    /// Runs `exe` (a test executable) with a name filter, as root, in `root`.
    pub fn run(
        &self,
        root: &Path,
        exe: &Path,
        filter: Option<&str>,
        limit: Duration,
    ) -> Result<Run, Fail> {
        let command = self.command(root, exe, filter.as_slice());
        run_limited(command, limit)
            .map_err(|e| Fail::tool(format!("cannot run {}: {e}", exe.display())))
    }

    /// The command that runs `exe` with `args` as root, in `root` (`cargo workbook test`
    /// runs it with the output on the terminal).
    pub fn command(&self, root: &Path, exe: &Path, args: &[&str]) -> Command {
        let env = ["WORKBOOK_REQUIRE_PRIVILEGED=1", "RUST_BACKTRACE=0"];
        let mut command = match self {
            Runner::Root => {
                let mut c = Command::new(exe);
                c.env("WORKBOOK_REQUIRE_PRIVILEGED", "1")
                    .env("RUST_BACKTRACE", "0");
                c
            }
            Runner::Sudo { ask } => {
                // `env` sets the variables whatever sudo's policy keeps of the environment.
                // When sudo's ticket runs out during --watch, it asks on the terminal again.
                let mut c = Command::new("sudo");
                if !ask {
                    c.arg("-n");
                }
                c.arg(format!("--preserve-env={PRESERVED}"))
                    .arg("--")
                    .arg("env");
                c.args(env).arg(exe);
                c
            }
            Runner::Vm(script) => {
                let mut c = Command::new(script);
                c.arg("--binary").arg(exe).arg("--");
                c
            }
        };
        command.args(args).current_dir(root);
        command
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
    })
}

/// Runs `command` with its output captured, ending it after `limit` (SIGTERM, which sudo
/// passes on, then SIGKILL): a learner's code that hangs must not hang the check.
fn run_limited(mut command: Command, limit: Duration) -> std::io::Result<Run> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline && !timed_out {
            timed_out = true;
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Run {
        success: status.success() && !timed_out,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        timed_out,
    })
}
