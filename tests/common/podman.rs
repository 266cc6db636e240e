//! podman driving the runtime under test, privately: its own storage and config in a temp
//! dir, run inside a namespace holder (see [`super::engine`]), with a containers.conf the
//! test owns: cgroupfs (no systemd here), events to a file, and default ulimits that fit
//! this machine (podman's defaults exceed its hard nofile/nproc limits; runc and crun fail
//! on them the same way). The test image is loaded from an archive (no registry).

use std::path::PathBuf;
use std::process::{Command, Output};

use super::engine::{self, CgroupParent, Holder};
use super::oci_image::{self, TestImage, TAG};
use super::{stderr, stdout};

/// A podman with its own storage, config and namespaces; everything removed on drop.
pub struct Podman {
    // Dropped in this order, after Drop::drop removed the containers.
    pub holder: Holder,
    pub cgroup: CgroupParent,
    pub dir: tempfile::TempDir,
    _image: TestImage,
    pub runtime: PathBuf,
}

impl Podman {
    /// Sets podman up and loads the test image.
    pub fn new() -> Podman {
        Podman::with_runtime(engine::runtime())
    }

    pub fn with_runtime(runtime: PathBuf) -> Podman {
        engine::require(&["podman", "conmon"], "podman");
        let dir = tempfile::Builder::new()
            .prefix("workbook-podman-")
            .tempdir()
            .expect("temp dir");
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\n\
             default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             [engine]\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"file\"\n",
        )
        .expect("write containers.conf");
        let podman = Podman {
            runtime,
            cgroup: CgroupParent::new("podman"),
            holder: Holder::start(),
            _image: oci_image::build(),
            dir,
        };
        let archive = podman._image.archive();
        let load = podman.cmd(&["load", "-i", archive.to_str().expect("utf-8 path")]);
        assert!(load.status.success(), "podman load: {}", stderr(&load));
        podman
    }

    pub fn command(&self) -> Command {
        let d = self.dir.path();
        let mut cmd = self.holder.command("podman");
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .arg("--network-config-dir")
            .arg(d.join("networks"))
            .arg("--runtime")
            .arg(&self.runtime);
        cmd
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run podman")
    }

    /// `podman run --cgroup-parent OURS OPTIONS… IMAGE COMMAND…`.
    pub fn run(&self, options: &[&str], command: &[&str]) -> Output {
        let mut cmd = self.command();
        self.run_args(&mut cmd, options, command);
        cmd.output().expect("run podman run")
    }

    pub fn run_args(&self, cmd: &mut Command, options: &[&str], command: &[&str]) {
        cmd.arg("run")
            .arg("--cgroup-parent")
            .arg(format!("/{}", self.cgroup.name))
            .args(options)
            .arg(TAG)
            .args(command);
    }

    /// Starts `sleep` detached; returns the container's id and its init's host PID.
    pub fn detached_sleep(&self) -> (String, i32) {
        self.detached(&[], &["sleep", "1000"])
    }

    /// `run -d OPTIONS… IMAGE COMMAND…`; returns the container's id and its init's host
    /// PID.
    pub fn detached(&self, options: &[&str], command: &[&str]) -> (String, i32) {
        let options = [&["-d"], options].concat();
        let out = self.run(&options, command);
        assert!(out.status.success(), "run -d {options:?}: {}", stderr(&out));
        let id = stdout(&out).trim().to_string();
        let pid = self.cmd(&["inspect", "--format", "{{.State.Pid}}", &id]);
        let pid: i32 = stdout(&pid).trim().parse().expect("a PID from inspect");
        assert!(pid > 0);
        (id, pid)
    }

    pub fn containers(&self) -> String {
        stdout(&self.cmd(&["ps", "-a", "--format", "{{.ID}} {{.Status}}"]))
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-af", "-t", "0"]);
        let _ = self.cmd(&["rmi", "-af"]);
        // The holder (dropped after this) takes the network, the mounts and /run with it;
        // the cgroup parent is removed by its own guard; the temp dir by its own.
    }
}
