//! The container's side of `create`: chapter 7's init (`container::init`), its steps
//! filled from config.json, with the go-ahead before it and the wait for `start` at its
//! end.
//!
//! ```text
//!  wait for the parent (uid maps, cgroup)   ◀── "go"
//!  on cgroup v1, move into the cgroup; join namespaces given by path; lo up; setsid
//!  a cgroup namespace, once in the cgroup
//!  mounts, devices, pivot_root; sysctl, read-only and masked paths inside the root
//!  pty (bound on /dev/console), hostname, rlimits, cwd, env, the program looked up
//!  user, capabilities, no_new_privs (seccomp here only without no_new_privs)
//!  tell the parent "ready"                   ──▶ create returns
//!  open the exec FIFO for writing: blocks until `start` opens it to read
//!  startContainer hooks; fds close-on-exec but the passed ones; seccomp; execve
//! ```
//!
//! The runtime is single-threaded, so the child may allocate (no other thread can hold the
//! allocator's lock at the clone).

use std::convert::Infallible;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, unlinkat, UnlinkatFlags};

use super::capability_sets::{self, Sets};
use super::last_steps::{self, PassedFds};
use super::mounts;
use super::rlimits::Rlimit;
use crate::container::cgroup_join::SelfJoin;
use crate::container::init::{self, Init};
use crate::container::tty;
use crate::hostname::Hostname;
use crate::namespace::Namespace;
use crate::oci::config::{Device, Process, Spec};
use crate::oci::seccomp::Filter;
use crate::security::capabilities::last_capability;
use crate::{mount, Error, Result};

/// What the child needs, prepared by the parent before the clone.
pub struct InitSetup {
    pub spec: Spec,
    pub rootfs: PathBuf,
    /// Namespaces to join by path (the PID namespace is joined by the parent).
    pub join: Vec<(Namespace, PathBuf)>,
    /// The config's hostname, set by chapter 2's step.
    pub hostname: Option<Hostname>,
    pub new_user: bool,
    pub new_mount: bool,
    /// A cgroup namespace of its own, made by the init itself once it is in its cgroup:
    /// its root is the cgroup the process is in when it is made, which must be the
    /// container's, not the runtime's (the container would see `/../PATH` instead of `/`).
    pub new_cgroup: bool,
    pub cgroup_dirs: Vec<PathBuf>,
    /// On cgroup v1, the `tasks` files through which the init moves itself in.
    pub cgroup_join: Option<crate::container::cgroup_join::SelfJoin>,
    pub console: Option<UnixStream>,
    /// The exec FIFO, opened O_PATH: reopened for writing through /proc/self/fd after the
    /// pivot, when its path on the host is out of reach.
    pub fifo: Option<OwnedFd>,
    pub seccomp: Option<Filter>,
    /// The state as JSON, for the startContainer hooks (sent by the parent with "go").
    pub state_json: String,
    /// Set when createRuntime or createContainer hooks must run before the pivot: the
    /// child says "hooks" and waits for a byte on it.
    pub resume: Option<std::fs::File>,
    /// The fds from 3 up that reach the container (`--preserve-fds`, socket activation).
    pub passed_fds: PassedFds,
}

/// The child's whole life. `go` brings the parent's go-ahead (the state JSON); `ready`
/// carries "ok" or the error back. Never returns.
pub fn child_main(plan: InitSetup, mut go: std::fs::File, ready: std::fs::File) -> ! {
    // Until it reports ready, the child dies with the runtime: nothing half-made survives.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    crate::oci::foreground::unblock_all();
    // The go-ahead is the container's state, which only the parent can write: the pid as
    // the host sees it (ours, in the new PID namespace, is 1).
    let mut state_json = String::new();
    if go.read_to_string(&mut state_json).is_err() || state_json.is_empty() {
        // SAFETY: _exit runs no destructor of the parent's state.
        unsafe { libc::_exit(125) };
    }
    drop(go);
    let plan = InitSetup { state_json, ..plan };
    let process = match plan.spec.process() {
        Ok(process) => process,
        Err(error) => report_to_create(ready, &error),
    };
    let mut created = Created {
        plan: &plan,
        process,
        ready: Some(ready),
    };
    let error = match init::init(&mut created) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    match created.ready {
        Some(ready) => report_to_create(ready, &error),
        None => {
            // After "ok": `create` has returned, so the error goes to stderr.
            let _ = writeln!(std::io::stderr(), "08-oci-runtime init: {error}");
            // SAFETY: as above.
            unsafe { libc::_exit(error.exit_code() as i32) }
        }
    }
}

/// Before "ok": the error goes back to `create`, which reports it.
fn report_to_create(mut ready: std::fs::File, error: &Error) -> ! {
    let _ = ready.write_all(error.to_string().as_bytes());
    // SAFETY: _exit runs no destructor of the parent's state.
    unsafe { libc::_exit(125) }
}

/// Chapter 8's kind of container for `create`: the config's steps, filled into chapter
/// 7's init, and the pipe on which it tells `create` that it is ready.
struct Created<'a> {
    plan: &'a InitSetup,
    process: &'a Process,
    /// Taken when the child says "ok", just before it waits for `start`.
    ready: Option<std::fs::File>,
}

impl Init for Created<'_> {
    fn cgroup_join(&self) -> Option<&SelfJoin> {
        self.plan.cgroup_join.as_ref()
    }

    /// In the cgroup now (moved by the parent before the go-ahead, or by itself), the
    /// namespaces given by path, root of a new user namespace (which will own the cgroup
    /// namespace), and a session of its own.
    fn enter_namespaces(&mut self) -> Result<()> {
        for (kind, path) in &self.plan.join {
            crate::namespace::join(*kind, path)?;
        }
        if self.plan.new_user {
            // The parent has written the maps: exercise 04.2.
            crate::idmap::become_root()?;
        }
        super::loopback::up_if_new(&self.plan.spec)?;
        nix::unistd::setsid()
            .map_err(|e| Error::sys("setsid", "starting a new session", e))?;
        Ok(())
    }

    fn new_cgroup_namespace(&self) -> bool {
        self.plan.new_cgroup
    }

    /// In a new mount namespace, or one joined by path (a pod's sandbox's, as runc does):
    /// never in the host's.
    fn enter_root(&self) -> Result<()> {
        let joined = self.plan.join.iter().any(|(k, _)| *k == Namespace::Mount);
        if !self.plan.new_mount && !joined {
            return Err(Error::Unsupported(
                "config.json has no mount namespace: this runtime never changes the host's mounts".into(),
            ));
        }
        match &self.ready {
            Some(ready) => make_root(self.plan, ready),
            None => Err(Error::Invalid("the ready pipe was closed too early".into())),
        }
    }

    fn terminal(&self) -> Option<(&UnixStream, Option<tty::Size>)> {
        let size = crate::oci::console::size(self.process.console_size);
        self.plan.console.as_ref().map(|socket| (socket, size))
    }

    fn hostname(&self) -> Option<&Hostname> {
        self.plan.hostname.as_ref()
    }

    /// Also, as runc: the pty on /dev/console, the activation's environment, and the
    /// program looked up while `create` can still report it.
    fn set_up_process(&self) -> Result<()> {
        super::uts::set_domainname(self.plan.spec.domainname.as_deref())?;
        if self.plan.console.is_some() {
            super::dev_console::bind_pty()?;
        }
        set_up_process(self.process)?;
        for pair in self.plan.passed_fds.env() {
            if let Some((key, value)) = pair.split_once('=') {
                std::env::set_var(key, value);
            }
        }
        last_steps::look_up(self.process).map(drop)
    }

    fn command(&self) -> &[String] {
        &self.process.args
    }

    fn not_found(&self) -> &'static str {
        NOT_FOUND
    }

    fn harden(&self) -> Result<()> {
        harden(self.process, self.plan.seccomp.as_ref())
    }

    /// "ok" to `create`, which returns; then the wait for `start`.
    fn before_exec(&mut self) -> Result<()> {
        // SAFETY: prctl with integer arguments only: from now on the container outlives
        // `create`.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0) };
        if let Some(mut ready) = self.ready.take() {
            let _ = ready.write_all(b"ok");
        }
        wait_for_start(self.plan)
    }

    fn exec(&mut self) -> Result<Infallible> {
        let program = last_steps::look_up(self.process)?;
        let filter = late_filter(self.process, self.plan.seccomp.as_ref());
        last_steps::exec(&program, &self.process.args, self.plan.passed_fds, filter)
    }
}

/// The filter that goes last, right before execve: with no_new_privs, as runc orders it
/// (without, [`harden`] installed it before the capabilities went).
pub fn late_filter<'f>(
    process: &Process,
    seccomp: Option<&'f Filter>,
) -> Option<&'f Filter> {
    seccomp.filter(|_| process.no_new_privileges)
}

pub use super::last_steps::NOT_FOUND;

/// The root: private (or the config's propagation), the rootfs bound on itself, the
/// config's mounts in order, /dev's nodes, pivot_root, then sysctls and masked paths.
fn make_root(plan: &InitSetup, mut ready: &std::fs::File) -> Result<()> {
    let linux = plan.spec.linux.clone().unwrap_or_default();
    let root = &plan.rootfs;
    // runc's default is rslave: host mounts still reach the container, none go back.
    let propagation = match linux.rootfs_propagation.as_deref() {
        Some(p) if !p.is_empty() => mounts::propagation(p)?,
        _ => MsFlags::MS_REC | MsFlags::MS_SLAVE,
    };
    nix::mount::mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>).map_err(
        |e| Error::sys_path("mount", "setting the root's propagation", Path::new("/"), e),
    )?;
    // pivot_root refuses a shared new root or parent: the rootfs's mount goes private first.
    super::propagation::unshare_rootfs_mount(root, propagation)?;
    mount::bind(root, root)?;
    for entry in &plan.spec.mounts {
        mounts::mount_entry(root, entry, &plan.cgroup_dirs)?;
    }
    let fresh_dev = plan
        .spec
        .mounts
        .iter()
        .any(|m| m.destination == Path::new("/dev"));
    if fresh_dev {
        default_dev(root)?;
    }
    for device in &linux.devices {
        // runc's rule: /dev/ptmx is the link to the container's own devpts, made above.
        if fresh_dev && device.path == Path::new("/dev/ptmx") {
            continue;
        }
        make_device(root, device)?;
    }
    if let Some(resume) = &plan.resume {
        // The createRuntime and createContainer hooks see the mounts, before the pivot.
        ready
            .write_all(b"hooks\n")
            .map_err(|e| Error::io_no_path("asking for the create hooks", e))?;
        let mut byte = [0u8; 1];
        if !matches!((&*resume).read(&mut byte), Ok(1)) {
            return Err(Error::Invalid(
                "the runtime gave up during the create hooks".into(),
            ));
        }
    }
    super::propagation::pivot_into(root)?;
    inside_the_root(&linux)?;
    if plan.spec.root.as_ref().is_some_and(|r| r.readonly) {
        mount::remount_read_only(Path::new("/"), MsFlags::empty())?;
    }
    if super::propagation::reapply_after_pivot(propagation) {
        nix::mount::mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
            .map_err(|e| {
                Error::sys_path("mount", "sharing the new root", Path::new("/"), e)
            })?;
    }
    Ok(())
}

/// After the pivot, as runc does it: the sysctls, through the container's own /proc, then
/// the read-only and masked paths. `/` is now the container's root and the host's is
/// detached, so neither an image's symlink (`proc -> /p`) nor a `..` in the config can
/// lead a write or a mount out of it (issue 21: built under the root before the pivot, the
/// masks followed `proc -> /p` to the host and were skipped, and a sysctl reached the
/// host's /proc/sys).
fn inside_the_root(linux: &crate::oci::config::Linux) -> Result<()> {
    for (key, value) in &linux.sysctl {
        let file = crate::oci::config::sysctl_file(key)?;
        let what = format!("setting the sysctl {key}");
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .map_err(|e| {
                Error::io(format!("{what} (is proc mounted at /proc?)"), &file, e)
            })?;
        // Only the kernel's procfs: not a file the image put where /proc should be.
        let fs = nix::sys::statfs::fstatfs(&out)
            .map_err(|e| Error::sys_path("fstatfs", what.clone(), &file, e))?;
        if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
            return Err(Error::Invalid(format!(
                "linux.sysctl sets {key}, but {} is not on procfs: mount proc at /proc",
                file.display()
            )));
        }
        out.write_all(value.as_bytes())
            .map_err(|e| Error::io(what, &file, e))?;
    }
    crate::security::paths::protect_paths(&linux.masked_paths, &linux.readonly_paths)
}

/// The nodes every container's /dev has (the spec's "default devices") and the usual
/// links, when /dev is a fresh tmpfs.
fn default_dev(root: &Path) -> Result<()> {
    for (name, major, minor) in crate::rootfs::DEVICES {
        let device = Device {
            path: PathBuf::from("/dev").join(name),
            kind: "c".into(),
            major: major as i64,
            minor: minor as i64,
            file_mode: Some(0o666),
            uid: Some(0),
            gid: Some(0),
        };
        make_device(root, &device)?;
    }
    // The links go into /dev as the container will see it: `root.join("dev/…")` followed
    // an image's `dev -> /host/dir` and made them on the host (issue 21).
    let dev = mounts::open_in_root(root, Path::new("/dev"), mounts::Make::Nothing)?;
    for (link, target) in crate::rootfs::LINKS {
        // symlinkat(2) never follows its last component: an existing entry is kept.
        match nix::unistd::symlinkat(target, &dev, link) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => {
                let shown = root.join("dev").join(link);
                return Err(Error::sys_path(
                    "symlinkat",
                    "creating a /dev link",
                    &shown,
                    e,
                ));
            }
        }
    }
    Ok(())
}

/// mknod(2) one node of `linux.devices` under the root, with its mode and owner. The
/// node's directory is opened inside the root ([`mounts::open_in_root`]), and the node is
/// made, changed and owned relative to it, never followed: it replaces whatever entry has
/// its name (a link included).
fn make_device(root: &Path, device: &Device) -> Result<()> {
    let kind = match device.kind.as_str() {
        "c" | "u" => SFlag::S_IFCHR,
        "b" => SFlag::S_IFBLK,
        "p" => SFlag::S_IFIFO,
        other => {
            return Err(Error::Invalid(format!(
                "linux.devices: {} has type '{other}': use c, b, u or p",
                device.path.display()
            )))
        }
    };
    let (Some(parent), Some(std::path::Component::Normal(name))) =
        (device.path.parent(), device.path.components().next_back())
    else {
        return Err(Error::Invalid(format!(
            "linux.devices: {} names no file: give the node's path, e.g. /dev/fuse",
            device.path.display()
        )));
    };
    let path = root.join(device.path.strip_prefix("/").unwrap_or(&device.path));
    let dir = mounts::open_in_root(root, parent, mounts::Make::Dir)?;
    let _ = unlinkat(&dir, name, UnlinkatFlags::NoRemoveDir);
    let mode = device.file_mode.unwrap_or(0o666);
    let number = makedev(device.major as u64, device.minor as u64);
    match mknodat(&dir, name, kind, Mode::from_bits_truncate(mode), number) {
        Ok(()) => {}
        // In a user namespace the kernel refuses mknod: bind the host's node instead, as
        // runc does (its owner and mode are then the host's).
        Err(nix::errno::Errno::EPERM) => {
            let flags =
                OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW;
            let point = openat(&dir, name, flags | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| {
                    Error::sys_path("openat", "creating a device mount point", &path, e)
                })?;
            return mount::bind(&device.path, &mounts::fd_path(&point));
        }
        Err(e) => {
            return Err(Error::sys_path(
                "mknodat",
                "creating a device node",
                &path,
                e,
            ))
        }
    }
    // mknod applies the umask: set the mode asked for (through an fd of the node itself),
    // then the owner.
    let node = openat(
        &dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys_path("openat", "opening a device node", &path, e))?;
    std::fs::set_permissions(
        mounts::fd_path(&node),
        std::os::unix::fs::PermissionsExt::from_mode(mode),
    )
    .map_err(|e| Error::io("setting a device node's mode", &path, e))?;
    fchownat(
        &dir,
        name,
        device.uid.map(Into::into),
        device.gid.map(Into::into),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::sys_path("fchownat", "setting a device node's owner", &path, e))
}

/// The process's own surroundings: rlimits (raising one needs CAP_SYS_RESOURCE, so before
/// the capabilities go), cwd, env.
pub fn set_up_process(process: &Process) -> Result<()> {
    for limit in &process.rlimits {
        Rlimit::named(&limit.kind, limit.soft, limit.hard)
            .ok_or_else(|| {
                Error::Unsupported(format!("process.rlimits: unknown limit {}", limit.kind))
            })?
            .apply()?;
    }
    nix::unistd::chdir(Path::new(&process.cwd)).map_err(|e| {
        Error::sys_path(
            "chdir",
            "entering the working directory",
            Path::new(&process.cwd),
            e,
        )
    })?;
    set_env(&process.env);
    super::process_attrs::apply(process.attrs())?;
    // The profile and label take effect at the execve: written last, before the hardening.
    super::lsm::apply(process.labels())
}

/// The hardening, in the order the kernel needs: the user (with the permitted set kept
/// across setuid), the five capability sets through chapter 7's step, no_new_privs. The
/// seccomp filter goes last, right before execve ([`late_filter`]); without no_new_privs
/// it needs CAP_SYS_ADMIN, which the capability step may drop: then it goes first, as
/// runc orders it.
pub fn harden(process: &Process, seccomp: Option<&Filter>) -> Result<()> {
    if let Some(mask) = process.user.umask {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask));
    }
    if let (Some(filter), false) = (seccomp, process.no_new_privileges) {
        filter.install()?;
    }
    let sets = capability_sets(process)?;
    capability_sets::keep_across_setuid(true)?;
    set_user(process)?;
    capability_sets::keep_across_setuid(false)?;
    capability_sets::restrict(&sets)?;
    if process.no_new_privileges {
        crate::security::set_no_new_privs()?;
    }
    Ok(())
}

/// Replaces the environment with the config's `KEY=value` list.
fn set_env(env: &[String]) {
    for (key, _) in std::env::vars_os() {
        std::env::remove_var(key);
    }
    for pair in env {
        if let Some((k, v)) = pair.split_once('=') {
            if !k.is_empty() {
                std::env::set_var(k, v);
            }
        }
    }
}

/// setgroups, setgid, setuid: supplementary groups first, the uid last (after it, the
/// others may no longer be changed).
fn set_user(process: &Process) -> Result<()> {
    let user = &process.user;
    let groups: Vec<nix::unistd::Gid> =
        user.additional_gids.iter().map(|g| (*g).into()).collect();
    nix::unistd::setgroups(&groups)
        .map_err(|e| Error::sys("setgroups", "setting the supplementary groups", e))?;
    let gid = nix::unistd::Gid::from_raw(user.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| Error::sys("setresgid", format!("becoming group {}", user.gid), e))?;
    let uid = nix::unistd::Uid::from_raw(user.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| Error::sys("setresuid", format!("becoming user {}", user.uid), e))?;
    Ok(())
}

/// The config's five sets as masks; an unknown name is refused.
fn capability_sets(process: &Process) -> Result<Sets> {
    let caps = process.capabilities.clone().unwrap_or_default();
    let mask = |names: &[String], set: &str| -> Result<u64> {
        let mut m = 0u64;
        for name in names {
            let c = capability_sets::named(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "process.capabilities.{set} names an unknown capability {name}"
                ))
            })?;
            if c.number <= last_capability() {
                m |= 1 << c.number;
            }
        }
        Ok(m)
    };
    Ok(Sets {
        bounding: mask(&caps.bounding, "bounding")?,
        effective: mask(&caps.effective, "effective")?,
        permitted: mask(&caps.permitted, "permitted")?,
        inheritable: mask(&caps.inheritable, "inheritable")?,
        ambient: mask(&caps.ambient, "ambient")?,
    })
}

// ANCHOR: exec_fifo
/// Waits for `start`: opening a FIFO for writing blocks until someone opens it for
/// reading. The FIFO's path is on the host, out of reach since the pivot, so it is reopened
/// through the O_PATH fd the child inherited (/proc/self/fd/N, as runc does). Then the
/// startContainer hooks; chapter 7's init then execs.
fn wait_for_start(plan: &InitSetup) -> Result<()> {
    if let Some(fifo) = &plan.fifo {
        let path = PathBuf::from(format!("/proc/self/fd/{}", fifo.as_raw_fd()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| {
                Error::io(
                    "waiting on the exec FIFO (the container needs /proc mounted)",
                    &path,
                    e,
                )
            })?;
        file.write_all(b"0")
            .map_err(|e| Error::io("answering on the exec FIFO", &path, e))?;
        // Kept open, and close-on-exec: the execve closes it, and that end of file tells
        // `start` the program runs, so its poststart hooks come after (runc waits alike).
        let _open_until_exec = file.into_raw_fd();
    }
    let hooks = &plan.spec.hooks.start_container;
    crate::oci::hooks::run_all("startContainer", hooks, &plan.state_json)
}
// ANCHOR_END: exec_fifo
