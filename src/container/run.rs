//! One run of a container, from checked options to the command's exit status.
//!
//! ```text
//! parent (host)                                child (new namespaces)
//! ─────────────                                ──────────────────────
//! resolve the image, claim the name            
//! make the cgroup with the limits              
//! unshare the time namespace; clone ─────────▶ held
//! uid/gid maps (rootless)                      
//! network: veth into the child's netns, eth0
//!   addressed from outside; proxy threads      
//! release ───────────────────────────────────▶ join the cgroup (v1); cgroup namespace;
//!                                              overlay root, /proc, /dev,
//!                                              /sys, cgroupfs, masked paths; pivot_root;
//!                                              hostname; lo up; workdir; env;
//!                                              no_new_privs, capabilities, seccomp; exec
//! forward signals, wait ◀───────────────────── exits
//! report an OOM kill; remove cgroup, state
//! (a helper removes the upper dir after the status is out)
//! ```

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::cgroup_join::SelfJoin;
use super::cgroupfs::CgroupView;
use super::host_files::ContainerDir;
use super::image::{self, Resolved, Source};
use super::init;
use super::network::{self, NetworkMode};
use super::root::FullRoot;
use super::spec::{self, EnvVar, Name, WorkDir};
use super::tty;
use crate::cgroup::{Cgroup, CgroupFs, DeviceAllowList, Layout, Limits};
use crate::exit::Status;
use crate::hostname::Hostname;
use crate::idmap::{self, IdMaps};
use crate::namespace::{Namespace, Namespaces};
use crate::overlay::Layers;
use crate::{net, process, security, Error, Result};

/// Everything `run` needs, checked when it was parsed.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub source: Source,
    pub limits: Limits,
    pub hostname: Option<Hostname>,
    pub env: Vec<EnvVar>,
    pub workdir: Option<WorkDir>,
    pub read_only: bool,
    pub rootless: bool,
    pub name: Option<Name>,
    pub command: Vec<String>,
    pub network: network::NetworkOptions,
    /// `-t`: the command gets a pty of its own, copied to and from the caller's terminal.
    pub tty: bool,
    /// The name of the binary that runs it, for its messages.
    pub tool: &'static str,
}

/// What the child needs, prepared by the parent before the clone (so that the child,
/// between clone and exec, mostly follows data instead of computing it).
struct ChildSetup {
    root: FullRoot,
    /// The new namespaces (the cgroup namespace is made by the child itself, later).
    namespaces: Namespaces,
    workload: Workload,
    rootless: bool,
    /// Whether the child has a network namespace whose `lo` it brings up.
    loopback: bool,
    /// On cgroup v1, the cgroup's `tasks` files: the child moves itself in (see
    /// `super::cgroup_join` for why not the parent).
    join: Option<SelfJoin>,
    /// With `-t`: the socket that takes the pty's master back, and the caller's size.
    terminal: Option<(UnixStream, Option<tty::Size>)>,
    /// Rootless, in the child: the image's layers, open while the overlay is mounted.
    lower_fds: Vec<OwnedFd>,
}

/// What runs inside, checked before anything is made.
struct Workload {
    hostname: Hostname,
    env: Vec<EnvVar>,
    workdir: PathBuf,
    command: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub oom_killed: bool,
}

/// Runs a container and waits for it. Everything it made is removed before it returns, on
/// every path: the guards `child`, `cgroup` and `dir` are dropped in that order, and a
/// signal that arrives meanwhile waits until `_held` lets go, last.
pub fn run(opts: &RunOptions) -> Result<Outcome> {
    let _held = process::HeldSignals::hold()?;
    if !opts.rootless {
        crate::privilege::require_cap_sys_admin(
            opts.tool,
            "to create namespaces, mount the overlay and make cgroups (or use --rootless)",
        )?;
    }
    // Network options are checked (a --bridge that is not a bridge too) and host ports
    // bound before anything is made: a port in use is refused with nothing to undo.
    opts.network.check(opts.rootless).map_err(Error::Invalid)?;
    network::preflight(&opts.network)?;
    let ports = network::proxy::bind(&opts.network.ports)?;
    // ANCHOR: run_order
    let image = image::resolve(&opts.source)?;
    let name = opts.name.clone().unwrap_or_else(Name::generate);
    let workload = workload_of(opts, &image, &name)?;
    // Declared before the directory and the cgroup, so dropped after them: the kernel
    // deletes the veth with the namespace meanwhile (network::Attachment).
    let network: Option<network::Attachment>;
    let dir = ContainerDir::create(&name, &workload.command)?;
    if opts.rootless {
        idmap::drop_supplementary_groups()?;
        grant_upper_to_mapped_root(&dir)?;
    }
    let cgroup = make_cgroup(opts, &name)?;
    let mut plan = child_setup(workload, opts, &image, &dir, cgroup.as_ref())?;
    let terminal = with_terminal(opts.tty, &mut plan)?;
    // In its cgroup before release, without the grace period a move by pid waits for.
    let mut child = spawn_in_cgroup_fast_or_attach(&mut plan, cgroup.as_ref())?;
    drop(plan.terminal.take()); // the child's end: closed, so a child that fails is seen
    if opts.rootless {
        IdMaps::root_as_caller().write_for(child.pid())?;
    }
    // ANCHOR_END: run_order
    // The guards drop in reverse order: the proxy stops, the child is reaped, the cgroup
    // and the state go, then the NAT rule and the lease (the kernel deletes the veth with
    // the child's network namespace; see net::unplug).
    // ANCHOR: network_steps
    let pid = child.pid();
    network = match opts.network.mode {
        NetworkMode::Bridge => Some(network::attach(&opts.network, pid, name.as_str())?),
        _ => None,
    };
    let _proxy = match &network {
        Some(attachment) => {
            dir.record_address(&attachment.ip().to_string())?;
            Some(ports.start(attachment.ip())?)
        }
        None => None,
    };
    // ANCHOR_END: network_steps
    // ANCHOR: run_end
    dir.record_init(child.pid().as_raw())?;
    child.release()?;
    // What runs killed earlier left behind goes while the child builds its root, on the
    // other CPU: none of it is in this run's way, as every name it holds carries its dead
    // owner (a stale holder of this run's --name was removed when the name was claimed).
    super::cleanup_stale_quietly(cgroup.as_ref().map(Cgroup::fs));
    panic_if_asked();
    // With -t, the child sends the master of its new pty: copy until it ends.
    let copying = terminal
        .map(|ours| tty::Copying::receive(&ours))
        .transpose()?
        .flatten();
    let status = child.wait()?;
    drop(copying); // its last output, then the caller's terminal settings
    let oom_killed = cgroup.as_ref().is_some_and(Cgroup::oom_killed);
    Ok(Outcome { status, oom_killed })
    // ANCHOR_END: run_end
}

/// A test hook: with `WORKBOOK_PANIC_AFTER_START` set, the runtime panics with a running
/// container, and the unwinding guards must still kill it and remove everything
/// (tests/ch07_soak.rs).
fn panic_if_asked() {
    if std::env::var_os("WORKBOOK_PANIC_AFTER_START").is_some() {
        panic!("WORKBOOK_PANIC_AFTER_START is set: panicking with a running container");
    }
}

/// The container's cgroup, with the limits asked for and Docker's device allow-list.
///
/// A rootless run without limits makes none (a user usually may not), and so has no
/// device list. That is still safe: the kernel guards devices twice more for a user
/// namespace. mknod(2) of a device needs CAP_MKNOD in the *initial* user namespace, which
/// root in the container lacks (EPERM); and a filesystem mounted inside a user namespace,
/// like the container's overlay root, is marked SB_I_NODEV, so a device node shipped in
/// the image cannot be opened (EACCES). What is left are the host's own nodes bind-mounted
/// into /dev (null, zero, ...), opened with the caller's own rights.
/// tests/ch07_devices.rs checks both guards.
fn make_cgroup(opts: &RunOptions, name: &Name) -> Result<Option<Cgroup>> {
    if opts.rootless && opts.limits == Limits::default() {
        return Ok(None);
    }
    // Loading the v2 program needs CAP_BPF or CAP_SYS_ADMIN, the v1 files CAP_SYS_ADMIN:
    // a user with a delegated cgroup has neither and relies on the two guards above.
    // (A run that is not rootless has checked already that it holds CAP_SYS_ADMIN.)
    let may = !opts.rootless || crate::privilege::has_cap_sys_admin();
    let devices = may.then(DeviceAllowList::docker_default);
    let limits = Limits {
        devices,
        ..opts.limits.clone()
    };
    Cgroup::create(name.as_str(), &limits).map(Some)
}

// ANCHOR: spawn_in_cgroup_fast_or_attach
/// Clones the child into `plan`'s namespaces, in its cgroup before it is released, the
/// cheapest way the kernel offers (`cgroup::join` says why a move by pid is not).
fn spawn_in_cgroup_fast_or_attach(
    plan: &mut ChildSetup,
    cgroup: Option<&Cgroup>,
) -> Result<process::Child> {
    // cgroup v1: the child moves itself, writing `0` to `tasks`, first thing once released.
    plan.join = cgroup.map(SelfJoin::for_cgroup).transpose()?.flatten();
    // cgroup v2: born inside, with clone3's CLONE_INTO_CGROUP and the cgroup's directory.
    let dir = cgroup.and_then(Cgroup::v2_dir_fd);
    let born = super::spawn_with_time_namespace(
        plan.namespaces,
        dir.as_ref().map(AsFd::as_fd),
        || child_main(&mut *plan),
    )?;
    // Neither (cgroup v2 on a kernel before 5.7): chapter 5's attach, by the parent.
    if let Some(cgroup) = cgroup.filter(|_| !born.in_cgroup && plan.join.is_none()) {
        cgroup.attach(born.child.pid().as_raw())?;
    }
    Ok(born.child)
}
// ANCHOR_END: spawn_in_cgroup_fast_or_attach

/// What the child needs, from the workload and what exists only now: the container's
/// directories (`upper` and `work`, its writable layer; the union is mounted on the shared
/// mount point, see `host_files::mount_point`), its cgroup, and the namespaces to make.
fn child_setup(
    workload: Workload,
    opts: &RunOptions,
    image: &Resolved,
    dir: &ContainerDir,
    cgroup: Option<&Cgroup>,
) -> Result<ChildSetup> {
    // The writable layer is deleted after the run: no sync of it is worth waiting for.
    let mut layers =
        Layers::new(image.lowers.clone(), dir.sub("upper"), dir.sub("work"))?.volatile();
    let mut namespaces = Namespaces::all().without(Namespace::Cgroup);
    if opts.network.mode == NetworkMode::Host {
        namespaces = namespaces.without(Namespace::Net);
    }
    if opts.rootless {
        layers = layers.in_user_namespace();
    } else {
        namespaces = namespaces.without(Namespace::User);
    }
    let root = FullRoot {
        layers,
        merged: super::host_files::mount_point()?,
        cgroupfs: cgroup.map(|c| view_of(c.fs())),
        read_only: opts.read_only,
    };
    Ok(ChildSetup {
        root,
        namespaces,
        workload,
        rootless: opts.rootless,
        loopback: opts.network.mode != NetworkMode::Host,
        join: None,     // see spawn_in_cgroup_fast_or_attach
        terminal: None, // see with_terminal
        lower_fds: Vec::new(),
    })
}

/// With `-t`, a socket pair: the child's end goes into `plan` with the caller's window
/// size, ours is returned (see `container::tty`).
fn with_terminal(tty: bool, plan: &mut ChildSetup) -> Result<Option<UnixStream>> {
    if !tty {
        return Ok(None);
    }
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| Error::io_no_path("creating the socket pair for the pty", e))?;
    plan.terminal = Some((theirs, tty::caller_size()));
    Ok(Some(ours))
}

/// The command, environment, working directory and hostname, from the options and the
/// image's defaults.
fn workload_of(opts: &RunOptions, image: &Resolved, name: &Name) -> Result<Workload> {
    let hostname = match &opts.hostname {
        Some(h) => h.clone(),
        None => Hostname::from_container_name(name.as_str())?,
    };
    let command = if opts.command.is_empty() {
        image.config.command()
    } else {
        opts.command.clone()
    };
    if command.is_empty() {
        return Err(Error::Invalid(format!(
            "the image {} has no default command: give one after --",
            image.label
        )));
    }
    let image_env: Vec<EnvVar> = image
        .config
        .env
        .iter()
        .filter_map(|kv| kv.parse().ok())
        .collect();
    let env =
        spec::merge_env(&[&spec::default_env(hostname.as_str()), &image_env, &opts.env]);
    let workdir = match (&opts.workdir, &image.config.workdir) {
        (Some(w), _) => w.path().to_path_buf(),
        (None, Some(w)) if w.starts_with('/') => PathBuf::from(w),
        _ => PathBuf::from("/"),
    };
    Ok(Workload {
        hostname,
        env,
        workdir,
        command,
    })
}

/// The cgroup filesystems to show inside: cgroup2 on a unified layout, else the v1
/// hierarchies (a hierarchy's mount directory is named after its controllers).
fn view_of(fs: &CgroupFs) -> CgroupView {
    match fs.layout {
        Layout::Unified => CgroupView::Unified,
        _ => CgroupView::PerController(
            fs.v1
                .iter()
                .filter_map(|h| Some(h.mount.file_name()?.to_string_lossy().into_owned()))
                .collect(),
        ),
    }
}

/// In a rootless container, root inside is an unprivileged ID outside, and it mounts the
/// overlay: the upper and work dirs (and the private dir on disk holding them) must be its
/// own.
fn grant_upper_to_mapped_root(dir: &ContainerDir) -> Result<()> {
    let maps = IdMaps::root_as_caller();
    let (uid, gid) = (maps.uids[0].outside, maps.gids[0].outside);
    let layer = dir.layer_dir().map(Path::to_path_buf);
    let paths = layer
        .into_iter()
        .chain(["upper", "work"].map(|s| dir.sub(s)));
    for path in paths {
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).map_err(|e| {
            Error::io("handing the layer dir to the container's root", &path, e)
        })?;
    }
    Ok(())
}

/// The child's side, from the release to exec: chapter 7's kind of container, whose steps
/// [`init::init`] takes in the kernel's order.
fn child_main(plan: &mut ChildSetup) -> Result<u8> {
    match init::init(plan)? {}
}

impl init::Init for ChildSetup {
    fn cgroup_join(&self) -> Option<&SelfJoin> {
        self.join.as_ref()
    }

    /// Rootless: the image's layers are reopened while the child is still the caller (the
    /// overlay takes them by fd), then it becomes root of its user namespace.
    fn enter_namespaces(&mut self) -> Result<()> {
        if self.rootless {
            let (by_fd, fds) = self.root.layers.reopened_by_fd()?;
            self.root.layers = by_fd;
            self.lower_fds = fds;
            idmap::become_root()?;
        }
        Ok(())
    }

    fn new_cgroup_namespace(&self) -> bool {
        true
    }

    fn enter_root(&self) -> Result<()> {
        self.root.enter()
    }

    fn terminal(&self) -> Option<(&UnixStream, Option<tty::Size>)> {
        self.terminal.as_ref().map(|(socket, size)| (socket, *size))
    }

    fn hostname(&self) -> Option<&Hostname> {
        Some(&self.workload.hostname)
    }

    fn set_up_process(&self) -> Result<()> {
        if self.loopback {
            net::loopback_up()?;
        }
        enter_workdir(&self.workload.workdir, self.root.read_only)?;
        set_environment(&self.workload.env);
        Ok(())
    }

    fn command(&self) -> &[String] {
        &self.workload.command
    }

    fn harden(&self) -> Result<()> {
        security::harden()
    }
}

fn enter_workdir(dir: &Path, read_only: bool) -> Result<()> {
    if !read_only {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("creating the working directory", dir, e))?;
    }
    nix::unistd::chdir(dir)
        .map_err(|e| Error::sys_path("chdir", "entering the working directory", dir, e))
}

/// Replaces the environment with the container's. The child is single-threaded here, so
/// changing the environment is safe.
fn set_environment(env: &[EnvVar]) {
    let old: Vec<_> = std::env::vars_os().map(|(k, _)| k).collect();
    for key in old {
        std::env::remove_var(key);
    }
    for var in env {
        std::env::set_var(&var.key, &var.value);
    }
}
