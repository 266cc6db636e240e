//! `create`: everything set up, the container's init waiting before the user's program.
//!
//! The parent (this runtime) writes down the state first, then makes the cgroup, clones
//! the child into its namespaces (all but the cgroup namespace), writes its uid maps, moves
//! it into the cgroup (on v2; on v1 the child moves itself) and lets it go; the child makes
//! its cgroup namespace, builds its root and waits on the exec FIFO (see [`super::init::created`]).
//! `create` returns when the child says it is ready; the child stays, reparented to the
//! engine's subreaper (conmon, containerd's shim) or to init.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::config::Spec;
use super::init::created::{child_main, InitSetup};
use super::init::last_steps::PassedFds;
use super::resources;
use super::seccomp::Filter;
use super::state::{now_rfc3339, proc_stat, Record, StateDir, Status};
use crate::hostname::Hostname;
use crate::idmap::{IdMaps, IdRange};
use crate::namespace::{Namespace, Namespaces};
use crate::{Error, Result};

/// What `create` (and `run`) were given on the command line.
pub struct CreateOptions {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// `--preserve-fds`: fds 3 to 3+N-1 (after socket activation's) reach the container.
    pub preserve_fds: u32,
    /// `--systemd-cgroup`: the cgroup is a systemd scope (see [`super::systemd`]).
    pub systemd_cgroup: bool,
}

/// The namespaces of config.json: which to make, which to join.
struct NamespaceSetup {
    new: Namespaces,
    join: Vec<(Namespace, PathBuf)>,
}

/// The spec's names for the namespaces.
fn namespace_kind(name: &str) -> Result<Namespace> {
    Ok(match name {
        "pid" => Namespace::Pid,
        "network" => Namespace::Net,
        "mount" => Namespace::Mount,
        "ipc" => Namespace::Ipc,
        "uts" => Namespace::Uts,
        "user" => Namespace::User,
        "cgroup" => Namespace::Cgroup,
        "time" => Namespace::Time,
        other => {
            return Err(Error::Unsupported(format!(
                "config.json asks for a namespace of type '{other}', which this runtime does not support"
            )))
        }
    })
}

fn namespace_plan(spec: &Spec) -> Result<NamespaceSetup> {
    let mut plan = NamespaceSetup {
        new: Namespaces::default(),
        join: Vec::new(),
    };
    for entry in spec.linux.iter().flat_map(|l| &l.namespaces) {
        let kind = namespace_kind(&entry.kind)?;
        match &entry.path {
            Some(path) if !path.as_os_str().is_empty() => {
                plan.join.push((kind, path.clone()))
            }
            _ => plan.new = plan.new.with(kind),
        }
    }
    // The user namespace is joined first: the others are then joined with its powers.
    plan.join.sort_by_key(|(k, _)| *k != Namespace::User);
    Ok(plan)
}

/// The id maps of config.json (required with a new user namespace).
fn id_maps(spec: &Spec) -> Result<IdMaps> {
    let linux = spec.linux.clone().unwrap_or_default();
    let ranges = |m: &[super::config::IdMapping]| {
        m.iter()
            .map(|m| IdRange {
                inside: m.container_id,
                outside: m.host_id,
                count: m.size,
            })
            .collect::<Vec<_>>()
    };
    if linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty() {
        return Err(Error::Invalid(
            "config.json asks for a user namespace without uidMappings and gidMappings"
                .into(),
        ));
    }
    Ok(IdMaps {
        uids: ranges(&linux.uid_mappings),
        gids: ranges(&linux.gid_mappings),
    })
}

/// The maps of the init's user namespace, written by a privileged writer (root on the host,
/// as an OCI runtime runs): unlike chapter 4's unprivileged [`IdMaps::write_for`], it may
/// write gid_map without denying setgroups(2), so the container keeps its supplementary
/// groups (the spec's `additionalGids`).
fn write_maps_keeping_setgroups(maps: &IdMaps, pid: Pid) -> Result<()> {
    for (file, ranges) in [("uid_map", &maps.uids), ("gid_map", &maps.gids)] {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        std::fs::write(&path, IdMaps::render(ranges))
            .map_err(|e| Error::io(format!("writing {file:?}"), &path, e))?;
    }
    Ok(())
}

/// A created container, for `run` to start and wait for.
pub struct Created {
    pub state: StateDir,
    pub record: Record,
}

// ANCHOR: create
/// `create`: from the bundle to an init waiting on the exec FIFO. On any error, what was
/// made is removed again (`undo`).
pub fn create(options: &CreateOptions) -> Result<Created> {
    let passed_fds = PassedFds::of_caller(options.preserve_fds, true)?;
    let (bundle, spec, rootfs) = read_bundle(options)?;
    let namespaces = namespace_plan(&spec)?;
    let linux = spec.linux.clone().unwrap_or_default();
    let seccomp = Filter::prepare(linux.seccomp.as_ref())?;
    let cgroup = resources::plan_for(options.systemd_cgroup, &options.id, &linux)?;
    // The record first: from here on, `delete --force` finds whatever exists.
    let state = StateDir::make(&options.root, &options.id)?;
    let mut record = new_record(options, &bundle, &rootfs, &spec, &cgroup);
    record.own_pid_namespace = namespaces.new.contains(Namespace::Pid);
    let mut undo = Undo {
        state: Some(state.clone()),
        record: record.clone(),
    };
    state.save(&record)?;
    let mut made_now = Vec::new();
    if let Err(e) = cgroup.apply(&mut made_now) {
        // Only what this run made is undone: one that appeared meanwhile is not ours.
        undo.record.cgroup_made = Some(made_now);
        return Err(e);
    }
    let fifo = make_fifo(&state)?;
    let console = match (&options.console_socket, spec.process()?.terminal) {
        (Some(socket), true) => Some(super::console::connect(socket)?),
        _ => None,
    };
    let mut plan = init_plan(&spec, rootfs, &namespaces, &cgroup, console, fifo, seccomp)?;
    plan.passed_fds = passed_fds;
    let pid = spawn_init(plan, &namespaces, &spec, &mut record, &state, &mut undo)?;
    cgroup.start_scope(pid)?;
    (options.pid_file.iter()).try_for_each(|file| write_pid_file(file, pid))?;
    record.creating = false;
    state.save(&record)?;
    undo.state = None;
    Ok(Created { state, record })
}
// ANCHOR_END: create

/// The bundle's absolute path, its config (checked) and its root filesystem.
fn read_bundle(options: &CreateOptions) -> Result<(PathBuf, Spec, PathBuf)> {
    let bundle = options
        .bundle
        .canonicalize()
        .map_err(|e| Error::io("finding the bundle", &options.bundle, e))?;
    let spec = Spec::load(&bundle)?;
    let root = spec.root.clone().map(|r| r.path).unwrap_or_default();
    let rootfs = bundle.join(root);
    let rootfs = rootfs
        .canonicalize()
        .map_err(|e| Error::io("finding the root filesystem", &rootfs, e))?;
    if spec.process()?.terminal && options.console_socket.is_none() {
        return Err(Error::Invalid(
            "process.terminal is true: give --console-socket, where the pty's master is sent".into(),
        ));
    }
    Ok((bundle, spec, rootfs))
}

/// The record of a container being created.
fn new_record(
    options: &CreateOptions,
    bundle: &Path,
    rootfs: &Path,
    spec: &Spec,
    cgroup: &resources::CgroupSetup,
) -> Record {
    Record {
        id: options.id.clone(),
        bundle: bundle.to_path_buf(),
        rootfs: rootfs.to_path_buf(),
        pid: None,
        pid_start: None,
        created: now_rfc3339(),
        annotations: spec.annotations.clone(),
        cgroup_dirs: cgroup.plan.dirs.clone(),
        cgroup_v2: cgroup.v2,
        cgroup_made: Some(cgroup.made.clone()),
        own_pid_namespace: false,
        creating: true,
        hooks: spec.hooks.clone(),
        seccomp: spec.linux.as_ref().and_then(|l| l.seccomp.clone()),
        systemd_unit: cgroup.scope.as_ref().map(|s| s.unit.clone()),
        rdt_made: Default::default(),
    }
}

/// `linux.intelRdt`: the init into its class, and what was made noted for `delete`.
fn join_rdt_class(
    linux: &super::config::Linux,
    pid: Pid,
    record: &mut Record,
    state: &StateDir,
    undo: &mut Undo,
) -> Result<()> {
    use super::intel_rdt::{host_resctrl, join, IntelRdt};
    let Some(rdt) = IntelRdt::asked(linux.intel_rdt.as_ref()) else {
        return Ok(());
    };
    record.rdt_made = join(rdt, &host_resctrl()?, &record.id, pid.as_raw())?;
    undo.record = record.clone();
    state.save(record)
}

/// The exec FIFO, mode 0622 (whatever user the container runs as must be able to write;
/// mkfifo applies the umask, so the mode is set again), opened O_PATH for the child.
fn make_fifo(state: &StateDir) -> Result<OwnedFd> {
    let fifo = state.fifo();
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o622))
        .map_err(|e| Error::sys_path("mkfifo", "making the exec FIFO", &fifo, e))?;
    std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
        .map_err(|e| Error::io("setting the exec FIFO's mode", &fifo, e))?;
    nix::fcntl::open(&fifo, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::sys_path("open", "opening the exec FIFO", &fifo, e))
}

/// What the child needs, gathered before the clone.
fn init_plan(
    spec: &Spec,
    rootfs: PathBuf,
    namespaces: &NamespaceSetup,
    cgroup: &resources::CgroupSetup,
    console: Option<std::os::unix::net::UnixStream>,
    fifo: OwnedFd,
    seccomp: Option<Filter>,
) -> Result<InitSetup> {
    let hostname = spec
        .hostname
        .as_deref()
        .map(Hostname::as_given)
        .transpose()?;
    // On cgroup v1 the init moves itself into its cgroup (no wait for a grace period; see
    // container::cgroup_join); on v2 the parent moves it before the go-ahead.
    let cgroup_join = (!cgroup.v2)
        .then(|| crate::container::cgroup_join::SelfJoin::open(&cgroup.plan.dirs))
        .transpose()?;
    Ok(InitSetup {
        spec: spec.clone(),
        rootfs,
        // The PID and time namespaces are joined by the parent (see spawn_init).
        join: namespaces
            .join
            .iter()
            .filter(|(k, _)| !matches!(k, Namespace::Pid | Namespace::Time))
            .cloned()
            .collect(),
        hostname,
        new_user: namespaces.new.contains(Namespace::User),
        new_mount: namespaces.new.contains(Namespace::Mount),
        new_cgroup: namespaces.new.contains(Namespace::Cgroup),
        cgroup_dirs: cgroup.plan.dirs.clone(),
        cgroup_join,
        console,
        fifo: Some(fifo),
        seccomp,
        state_json: String::new(),
        resume: None,
        passed_fds: PassedFds::default(),
    })
}

/// Clones the init, does the parent's part, and waits for "ready".
fn spawn_init(
    plan: InitSetup,
    namespaces: &NamespaceSetup,
    spec: &Spec,
    record: &mut Record,
    state: &StateDir,
    undo: &mut Undo,
) -> Result<Pid> {
    let (go_r, go_w) = pipe()?;
    let (ready_r, ready_w) = pipe()?;
    let hooks = &spec.hooks;
    let mut plan = plan;
    let plan_joins_itself = plan.cgroup_join.is_some();
    let mut resume = None;
    if !(hooks.prestart.is_empty()
        && hooks.create_runtime.is_empty()
        && hooks.create_container.is_empty())
    {
        let (r, w) = pipe()?;
        plan.resume = Some(std::fs::File::from(r));
        resume = Some(std::fs::File::from(w));
    }
    // A PID namespace given by path: joining changes where our *children* are born.
    for (kind, path) in &namespaces.join {
        if *kind == Namespace::Pid {
            crate::namespace::join(Namespace::Pid, path)?;
        }
    }
    // The cgroup namespace is made by the init once it is in its cgroup: made here, its
    // root would be this runtime's cgroup (see InitSetup::new_cgroup).
    let new = namespaces.new.without(Namespace::Cgroup);
    let offsets = spec.linux.as_ref().map(|l| l.time_offsets.clone());
    let offsets = offsets.unwrap_or_default();
    let pid = match super::time_namespace::fork_into(new, &namespaces.join, &offsets)? {
        None => {
            drop((go_w, ready_r));
            child_main(
                plan,
                std::fs::File::from(go_r),
                std::fs::File::from(ready_w),
            )
        }
        Some(pid) => pid,
    };
    drop((go_r, ready_w, plan));
    record.pid = Some(pid.as_raw());
    record.pid_start = proc_stat(pid.as_raw()).map(|(s, _)| s);
    undo.record = record.clone();
    state.save(record)?;
    if namespaces.new.contains(Namespace::User) {
        write_maps_keeping_setgroups(&id_maps(spec)?, pid)?;
    }
    if !plan_joins_itself {
        resources::attach(&record.cgroup_dirs, pid.as_raw())?;
    }
    if let Some(linux) = &spec.linux {
        super::net_devices::move_into(&linux.net_devices, pid)?;
        join_rdt_class(linux, pid, record, state, undo)?;
    }
    if let Some(adj) = spec.process.as_ref().and_then(|p| p.oom_score_adj) {
        super::init::rlimits::set_oom_score_adj(pid, adj)?;
    }
    let mut go = std::fs::File::from(go_w);
    let state_json = record.to_json(Status::Created).to_string();
    std::io::Write::write_all(&mut go, state_json.as_bytes())
        .map_err(|e| Error::io_no_path("releasing the container's init", e))?;
    drop(go);
    let mut ready = std::fs::File::from(ready_r);
    let mut answer = read_answer(&mut ready);
    if answer == "hooks\n" {
        let resume = resume.take();
        if let Err(e) = create_hooks(spec, record, pid) {
            // A hook that failed because the init died (its namespaces are gone) is
            // reported as the death. The kernel drops a dying task's namespaces before it
            // becomes a zombie: give it a moment to be reapable.
            return Err(match reap(pid, std::time::Duration::from_secs(1)) {
                Some(s) => Error::Invalid(init_death(s, spec, &record.cgroup_dirs)),
                None => e,
            });
        }
        drop(resume.map(|mut r| std::io::Write::write_all(&mut r, &[1])));
        answer.clear();
        let _ = ready.read_to_string(&mut answer);
    }
    match answer.as_str() {
        "ok" => Ok(pid),
        "" => {
            let status = reap(pid, std::time::Duration::from_secs(2));
            let why = status.map_or(
                "the container's init ended before it was ready".into(),
                |s| init_death(s, spec, &record.cgroup_dirs),
            );
            Err(Error::Invalid(why))
        }
        message => Err(Error::Invalid(message.to_string())),
    }
}

/// Why the init ended without a word: it is still our child, so its status says. A signal
/// is named with its likely sender: SIGSYS comes from a seccomp filter (without
/// no_new_privs the filter comes before the init's last calls, such as the write of "ok"),
/// SIGKILL from the OOM
/// killer when the cgroup counted one (a memory limit too small to start), or from outside.
fn init_death(status: WaitStatus, spec: &Spec, cgroup_dirs: &[PathBuf]) -> String {
    use nix::sys::signal::Signal;
    let limit = spec
        .linux
        .as_ref()
        .and_then(|l| l.resources.as_ref())
        .and_then(|r| r.memory.as_ref())
        .and_then(|m| m.limit);
    match status {
        WaitStatus::Signaled(_, signal, _) => {
            let cause = match signal {
                Signal::SIGSYS => "linux.seccomp refused one of the init's own system calls: allow it, or use SCMP_ACT_ERRNO rather than a kill action".to_string(),
                Signal::SIGKILL if oom_killed(cgroup_dirs) => format!(
                    "the OOM killer ended it at the memory limit of {} bytes (linux.resources.memory.limit): raise it",
                    limit.unwrap_or_default()
                ),
                _ => "another process sent it (the cgroup counted no OOM kill)".to_string(),
            };
            format!(
                "the container's init was killed by {} before it was ready: {cause}",
                signal.as_str()
            )
        }
        WaitStatus::Exited(_, code) => format!(
            "the container's init exited with status {code} before it was ready, without saying why"
        ),
        _ => "the container's init ended before it was ready".into(),
    }
}

/// The init's status once it has ended, waiting up to `patience` (it closed the pipe: it
/// ends at once, or has); `None` while it lives.
fn reap(pid: Pid, patience: std::time::Duration) -> Option<WaitStatus> {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let start = std::time::Instant::now();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if start.elapsed() < patience => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(status) => return Some(status),
        }
    }
}

/// Whether the kernel counted an OOM kill in the cgroup: `oom_kill` in v2's
/// `memory.events`, or in v1's `memory.oom_control` (Linux 4.13 and later).
fn oom_killed(dirs: &[PathBuf]) -> bool {
    use crate::cgroup::usage::read_flat_keyed;
    dirs.iter().any(|d| {
        ["memory.events", "memory.oom_control"]
            .iter()
            .any(|f| read_flat_keyed(&d.join(f), "oom_kill").is_some_and(|n| n > 0))
    })
}

/// What the child says on the ready pipe: "hooks\n" (it waits for the create hooks), or
/// everything up to EOF ("ok", or an error).
fn read_answer(ready: &mut std::fs::File) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while let Ok(n) = ready.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer == b"hooks\n" {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// prestart and createRuntime in the runtime's namespaces, createContainer in the
/// container's (its mount namespace sees the mounts, not yet the pivot), each with the
/// state on stdin.
fn create_hooks(spec: &Spec, record: &Record, pid: Pid) -> Result<()> {
    use std::os::fd::AsRawFd;
    let state = record.to_json(Status::Creating).to_string();
    super::hooks::run_all("prestart", &spec.hooks.prestart, &state)?;
    super::hooks::run_all("createRuntime", &spec.hooks.create_runtime, &state)?;
    let mut files = Vec::new();
    for kind in [
        Namespace::Ipc,
        Namespace::Uts,
        Namespace::Net,
        Namespace::Mount,
    ] {
        let path = kind.proc_path(Some(pid));
        files.push(
            std::fs::File::open(&path)
                .map_err(|e| Error::io("opening the container's namespace", &path, e))?,
        );
    }
    let fds: Vec<_> = files.iter().map(|f| f.as_raw_fd()).collect();
    for hook in &spec.hooks.create_container {
        super::hooks::run_hook_in("createContainer", hook, &state, &fds)?;
    }
    Ok(())
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("pipe2", "creating the runtime-init pipe", e))
}

/// Writes the init's pid (as the host sees it) to `file`, atomically: engines poll for it.
pub fn write_pid_file(file: &Path, pid: Pid) -> Result<()> {
    let tmp = file.with_extension("tmp-wb");
    std::fs::write(&tmp, pid.to_string())
        .map_err(|e| Error::io("writing the pid file", &tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| Error::io("writing the pid file", file, e))
}

/// Removes a half-made container when `create` fails.
struct Undo {
    state: Option<StateDir>,
    record: Record,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            if let Err(e) = super::delete::destroy(&state, &self.record) {
                eprintln!("warning: {e}");
            }
        }
    }
}
