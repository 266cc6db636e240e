//! containerd driving the runtime under test through its runc shim, privately: a
//! containerd of its own (root, state and sockets in a temp dir, the CRI plugin off, in a
//! namespace holder with a private /run), the test image imported from an archive, and
//! `ctr run --runc-binary RUNTIME`. containerd is stopped and everything removed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::engine::{self, assert_ok, CgroupParent, Holder};
use super::oci_image::{self, TestImage, TAG};
use super::{stderr, stdout};

/// A private containerd; stopped, and its shims and containers removed, on drop.
pub struct Containerd {
    pub daemon: Option<Child>,
    pub holder: Holder,
    /// The containerd namespace, also the cgroup parent (`/NAMESPACE/ID`).
    pub cgroup: CgroupParent,
    pub dir: tempfile::TempDir,
    _image: TestImage,
    pub runtime: PathBuf,
}

impl Containerd {
    pub fn start() -> Containerd {
        Containerd::with_runtime(engine::runtime())
    }

    pub fn with_runtime(runtime: PathBuf) -> Containerd {
        engine::require(
            &["containerd", "ctr", "containerd-shim-runc-v2"],
            "containerd",
        );
        let dir = tempfile::Builder::new()
            .prefix("workbook-containerd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let config = format!(
            "version = 2\n\
             root = \"{root}\"\n\
             state = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{sock}\"\n\
             [ttrpc]\n  address = \"{sock}.ttrpc\"\n\
             [debug]\n  address = \"{d}/debug.sock\"\n",
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("containerd.sock").display(),
            d = d.display(),
        );
        std::fs::write(d.join("config.toml"), config).expect("write config.toml");
        let log = std::fs::File::create(d.join("containerd.log")).expect("containerd.log");
        let holder = Holder::start();
        let daemon = holder
            .command("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log"))
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let c = Containerd {
            daemon: Some(daemon),
            holder,
            cgroup: CgroupParent::new("ctr"),
            _image: oci_image::build(),
            runtime,
            dir,
        };
        c.wait_for_socket();
        let archive = c._image.archive();
        let out = c.ctr(&["images", "import", archive.to_str().expect("utf-8 path")]);
        assert!(out.status.success(), "ctr images import: {}", stderr(&out));
        c
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    pub fn wait_for_socket(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.socket().exists() && self.ctr(&["version"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.path().join("containerd.log"))
            .unwrap_or_default();
        panic!("containerd did not answer on its socket within 30 s; its log:\n{log}");
    }

    pub fn command(&self) -> Command {
        let mut cmd = self.holder.command("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .arg("--namespace")
            .arg(&self.cgroup.name);
        cmd
    }

    pub fn ctr(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run ctr")
    }

    /// `ctr run --runc-binary RUNTIME OPTIONS… IMAGE ID COMMAND…`.
    pub fn run(&self, options: &[&str], id: &str, command: &[&str]) -> Output {
        self.command()
            .arg("run")
            .arg("--runc-binary")
            .arg(&self.runtime)
            .args(options)
            .arg(TAG)
            .arg(id)
            .args(command)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr run")
    }

    /// Deletes a task that was killed (once containerd has seen it exit) and its container.
    pub fn delete_stopped(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.ctr(&["tasks", "delete", id]);
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ctr tasks delete: {}",
                stderr(&out)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_ok(
            &self.ctr(&["containers", "delete", id]),
            "ctr containers delete",
        );
    }

    /// Kills what is left of this containerd's processes: the shims outlive containerd by
    /// design (a restart must not kill the containers), so a test that failed half-way
    /// could leave one. They are found by the socket address on their command line.
    pub fn kill_leftover_shims(&self) {
        let ours = self.socket();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in procs.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let is_shim = cmdline.starts_with(b"/usr/bin/containerd-shim")
                || cmdline.starts_with(b"containerd-shim");
            if is_shim && contains(&cmdline, ours.as_os_str().as_encoded_bytes()) {
                // SAFETY: a signal to a process this test started (through containerd).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let ls = self.ctr(&["containers", "list", "--quiet"]);
        for id in stdout(&ls).lines() {
            let _ = self.ctr(&["tasks", "kill", "--signal", "SIGKILL", id]);
            let _ = self.ctr(&["tasks", "delete", "--force", id]);
            let _ = self.ctr(&["containers", "delete", id]);
        }
        let _ = self.ctr(&["images", "remove", TAG]);
        if let Some(mut daemon) = self.daemon.take() {
            // SIGTERM to containerd itself (nsenter passed its pid on: it execs).
            // SAFETY: a signal to our own child.
            unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = daemon.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        self.kill_leftover_shims();
        // Then the holder goes (its mounts and network with it), the cgroup parent, the
        // temp dir.
    }
}
