//! An OCI bundle in a temp dir, for the tests that drive chapter 8's runtime as an engine
//! does: a copy of the busybox rootfs, the config.json the test writes, the runtime's
//! state root, and the containers made from it. Dropped, it deletes those containers
//! (`delete --force`), removes the test's cgroup parent in every hierarchy, then the dir.
//!
//! ```text
//! <temp dir>/          path()
//!     state/           root(): the runtime's --root
//!     [FOLDER/]        bundle(): the temp dir itself, or a folder of it
//!         config.json
//!         rootfs/      rootfs(): `cp -a` of the busybox rootfs
//! ```
//!
//! A test file gives it a constructor of its own (an `impl Bundle` in the file, with the
//! file's config), or wraps it when it keeps more (a host dir, host processes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The cgroup parent of this test process's containers, below each hierarchy's root: the
/// runtime's default parent is shared, and a leftover named after its test binary and pid
/// says where it came from.
pub fn cgroup_parent() -> String {
    format!("wb-{}-{}", env!("CARGO_CRATE_NAME"), std::process::id())
}

/// Copies the busybox rootfs to `to` (`cp -a`: modes, owners and links as they are).
pub fn copy_busybox(to: &Path) {
    let rootfs = workbook::rootfs::default_rootfs().expect("busybox rootfs");
    let copy = Command::new("cp")
        .arg("-a")
        .arg(&rootfs)
        .arg(to)
        .status()
        .expect("cp");
    assert!(copy.success(), "copying the rootfs");
}

/// See the module's doc.
pub struct Bundle {
    /// The temp dir, removed last.
    pub dir: tempfile::TempDir,
    /// The containers `delete --force`d on drop.
    pub ids: Vec<String>,
    bundle: PathBuf,
    runtime: PathBuf,
    output_in_files: bool,
}

impl Bundle {
    /// A temp dir that is the bundle, with the rootfs and no config yet.
    pub fn busybox() -> Bundle {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().to_path_buf();
        Bundle::with_rootfs(dir, bundle)
    }

    /// A temp dir with the bundle in its `folder`, with the rootfs and no config yet.
    pub fn busybox_in(folder: &str) -> Bundle {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join(folder);
        std::fs::create_dir(&bundle).expect("bundle dir");
        Bundle::with_rootfs(dir, bundle)
    }

    fn with_rootfs(dir: tempfile::TempDir, bundle: PathBuf) -> Bundle {
        copy_busybox(&bundle.join("rootfs"));
        // option_env!: tests/common is shared with the tool's package, which has no
        // chapter 8 binary.
        let Some(runtime) = option_env!("CARGO_BIN_EXE_08-oci-runtime") else {
            panic!("the OCI tests run from the container-workbook package");
        };
        Bundle {
            dir,
            ids: Vec::new(),
            bundle,
            runtime: PathBuf::from(runtime),
            output_in_files: false,
        }
    }

    /// Runs `runtime` instead of the built 08-oci-runtime, in every command and the drop.
    pub fn use_runtime(&mut self, runtime: PathBuf) {
        self.runtime = runtime;
    }

    /// [`Bundle::runtime`] puts the output in files: the processes a command leaves in the
    /// container (`exec -d`) inherit its stdio, and pipes would never reach EOF.
    pub fn keep_output_in_files(&mut self) {
        self.output_in_files = true;
    }

    /// The temp dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The bundle: the dir of config.json and rootfs.
    pub fn bundle(&self) -> &Path {
        &self.bundle
    }

    /// The runtime's state root (`--root`).
    pub fn root(&self) -> PathBuf {
        self.path().join("state")
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle.join("rootfs")
    }

    /// The runtime the commands run.
    pub fn runtime_path(&self) -> &Path {
        &self.runtime
    }

    pub fn write_config(&self, config: &Value) {
        let text = serde_json::to_string_pretty(config).expect("json");
        std::fs::write(self.bundle.join("config.json"), text).expect("config.json");
    }

    pub fn config(&self) -> Value {
        let text =
            std::fs::read_to_string(self.bundle.join("config.json")).expect("config");
        serde_json::from_str(&text).expect("json")
    }

    /// Changes the config.json with `f`.
    pub fn patch(&self, f: impl FnOnce(&mut Value)) {
        let mut config = self.config();
        f(&mut config);
        self.write_config(&config);
    }

    /// Runs the runtime with `--root` set and stdin empty.
    pub fn runtime(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.runtime);
        command
            .arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(Stdio::null());
        let what = format!("run {}", self.runtime.display());
        if !self.output_in_files {
            return command.output().expect(&what);
        }
        let file = |name: &str| std::fs::File::create(self.path().join(name)).expect("log");
        let status = command
            .stdout(file("out"))
            .stderr(file("err"))
            .status()
            .expect(&what);
        let read = |name: &str| std::fs::read(self.path().join(name)).unwrap_or_default();
        Output {
            status,
            stdout: read("out"),
            stderr: read("err"),
        }
    }

    /// [`Bundle::runtime`], asserting success.
    pub fn ok(&self, args: &[&str]) {
        let out = self.runtime(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            super::stderr(&out)
        );
    }

    /// `state ID`, asserting success.
    pub fn state(&self, id: &str) -> Value {
        let out = self.runtime(&["state", id]);
        assert!(
            out.status.success(),
            "state failed: {}",
            super::stderr(&out)
        );
        serde_json::from_slice(&out.stdout).expect("state is JSON")
    }

    /// `create ID` with the bundle and a pid file: the init's pid, or create's stderr.
    pub fn try_create(&mut self, id: &str) -> Result<i32, String> {
        self.ids.push(id.to_string());
        let pid_file = self.path().join(format!("{id}.pid"));
        // The container's init inherits create's stdio and keeps it open: pipes would
        // never reach EOF, so the output goes to files.
        let file = |ext: &str| {
            std::fs::File::create(self.path().join(format!("{id}.{ext}"))).expect("log")
        };
        let status = Command::new(&self.runtime)
            .arg("--root")
            .arg(self.root())
            .arg("create")
            .arg("--bundle")
            .arg(self.bundle())
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(file("out"))
            .stderr(file("err"))
            .status()
            .expect("create");
        if !status.success() {
            let err = std::fs::read_to_string(self.path().join(format!("{id}.err")));
            return Err(err.unwrap_or_default());
        }
        let pid = std::fs::read_to_string(&pid_file)
            .expect("pid file")
            .trim()
            .parse()
            .expect("a pid");
        Ok(pid)
    }

    /// [`Bundle::try_create`], asserting success.
    pub fn create(&mut self, id: &str) -> i32 {
        self.try_create(id)
            .unwrap_or_else(|err| panic!("create failed: {err}"))
    }

    /// `delete --force` of each container made (the drop does it; a wrapper that must
    /// kill its own processes after the containers calls it first).
    pub fn delete_containers(&mut self) {
        for id in std::mem::take(&mut self.ids) {
            let _ = Command::new(&self.runtime)
                .arg("--root")
                .arg(self.root())
                .args(["delete", "--force", &id])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        self.delete_containers();
        // The parent the containers' cgroupsPath made, in every hierarchy: the root (v2)
        // and each directory below it (v1's, hybrid's unified).
        let parent = cgroup_parent();
        let hierarchies = Path::new("/sys/fs/cgroup");
        remove_cgroup_tree(&hierarchies.join(&parent));
        if let Ok(entries) = std::fs::read_dir(hierarchies) {
            for entry in entries.flatten() {
                remove_cgroup_tree(&entry.path().join(&parent));
            }
        }
    }
}

/// Removes a cgroup directory and the ones below it, deepest first, waiting (at most 5 s
/// each) while the last killed process leaves: rmdir of a cgroup is EBUSY until then.
/// Whatever is still inside is killed first: a test whose `delete` failed (a wrong answer
/// to an exercise, a runtime bug) must not leave an init waiting on its FIFO.
pub fn remove_cgroup_tree(dir: &Path) {
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: kill(2) with a pid read from the test's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let start = Instant::now();
    while dir.exists()
        && std::fs::remove_dir(dir).is_err()
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
}
