//! Chapter 8: speak OCI, so that podman and containerd can drive the runtime we built.
//!
//! An engine never calls the library: it writes a bundle (config.json and a root
//! filesystem) and runs a runtime binary with runc's command line, one short command per
//! step of the container's life. This file is that command line; `workbook::oci` does the
//! work with the earlier chapters' parts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use workbook::oci::commands::{events, pause, ps, signal, update};
use workbook::oci::config::{Process, Spec, User};
use workbook::oci::create::{create, CreateOptions};
use workbook::oci::exec::{exec, ExecOptions};
use workbook::oci::state::{StateDir, DEFAULT_ROOT};
use workbook::oci::{delete, features, foreground, lifecycle, sealed_exe};
use workbook::{Error, Result};

const NAME: &str = "08-oci-runtime";

/// An OCI runtime: runc's command line over the workbook's namespaces, cgroups and root.
///
/// Engines call it with a bundle (a directory with config.json and the root filesystem):
/// `create` sets everything up and leaves the container's init waiting; `start` lets it run
/// the program; `state` reports; `kill` signals; `delete` removes what is left. Point an
/// engine at it: `podman --runtime PATH run …`, `ctr run --runc-binary PATH …`.
#[derive(Parser, Debug)]
#[command(
    name = NAME,
    version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.0.2"),
    verbatim_doc_comment
)]
struct Cli {
    /// Where the containers' state lives (one directory per container; a tmpfs).
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    root: PathBuf,
    /// Write errors (and, with --debug, progress) to this file instead of stderr.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// The log's format: text, or json as runc writes it (engines read it).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log each step.
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd's cgroup driver: linux.cgroupsPath is `slice:prefix:name`, and the
    /// container's cgroup is the scope `prefix-name.scope` in that slice, started through
    /// systemd's D-Bus API (the system bus); `delete` stops it.
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    /// Accepted and ignored, as engines pass it: this runtime has no checkpointing.
    #[arg(long, global = true, hide = true)]
    criu: Option<String>,
    /// Accepted for runc compatibility: `false`, `true` or `auto`.
    #[arg(long, global = true, hide = true)]
    rootless: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

// ANCHOR: commands
#[derive(Subcommand, Debug)]
enum Command {
    /// Set up a container from a bundle; its init waits for `start` on the exec FIFO.
    Create(CreateArgs),
    /// Let a created container run its program.
    Start { id: String },
    /// Print the container's state as the OCI spec's JSON.
    State { id: String },
    /// Send a signal (default SIGTERM) to the container's init, or with --all to all of it.
    Kill(KillArgs),
    /// Remove a stopped (or, with --force, any) container: processes, cgroup, state.
    Delete(DeleteArgs),
    /// Create and start a container, wait for it and remove it; exits with its status.
    Run(RunArgs),
    /// Run another process in a running container, in its namespaces and cgroup.
    Exec(Box<ExecArgs>),
    /// Print what this runtime supports, as JSON (the spec's features document).
    Features,
    /// The commands engines call on a running container: pause, resume, update, ps, events.
    #[command(flatten)]
    Engine(EngineCommand),
}
// ANCHOR_END: commands

/// The commands beyond the life cycle: each reads or writes the container's cgroup.
#[derive(Subcommand, Debug)]
enum EngineCommand {
    /// Freeze every process of a created or running container (the cgroup freezer).
    ///
    /// Returns once the kernel says every task has stopped (v1 `freezer.state` FROZEN, v2
    /// `frozen 1` in cgroup.events); `state` then says "paused".
    Pause {
        /// The container's id.
        id: String,
    },
    /// Thaw a paused container: its processes go on where they stopped.
    Resume {
        /// The container's id.
        id: String,
    },
    /// Rewrite the limits of a running container's cgroup (memory, CPU, pids).
    ///
    /// The new values come as `linux.resources` JSON (--resources, as engines send them)
    /// or as flags; a value left out, or 0, keeps the current limit, and the device list
    /// is not touched. What `create` refuses in config.json, update refuses too.
    Update(Box<UpdateArgs>),
    /// List the processes in the container's cgroup (their host pids).
    Ps(PsArgs),
    /// Print what the container's cgroup counted (CPU, memory, pids, I/O) as JSON lines.
    ///
    /// Each line is `{"type":"stats","id":ID,"data":{…}}` in runc's shape; without
    /// --stats, one every --interval until the container stops, and `{"type":"oom",…}`
    /// when the OOM killer struck in the cgroup.
    Events(EventsArgs),
}

/// runc's `update` flags; `--resources` (the `linux.resources` JSON that engines send)
/// replaces them all.
#[derive(Args, Debug)]
struct UpdateArgs {
    /// A file of `linux.resources` JSON, or `-` for stdin; the other flags are then ignored.
    #[arg(long, short = 'r')]
    resources: Option<PathBuf>,
    /// The memory limit in bytes (128m, 1g; -1: none).
    #[arg(long, allow_hyphen_values = true)]
    memory: Option<String>,
    /// The limit of memory + swap, in bytes (-1: unlimited swap).
    #[arg(long, allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// A soft limit (refused: not implemented).
    #[arg(long)]
    memory_reservation: Option<String>,
    /// Kernel memory limits: obsolete, ignored with a warning as runc does.
    #[arg(long, hide = true)]
    kernel_memory: Option<String>,
    #[arg(long, hide = true)]
    kernel_memory_tcp: Option<String>,
    /// CPU time allowed per period, in microseconds (-1: none).
    #[arg(long, allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// The period of the quota, in microseconds.
    #[arg(long)]
    cpu_period: Option<u64>,
    /// CPU shares, the weight against other cgroups.
    #[arg(long, alias = "cpu-shares")]
    cpu_share: Option<u64>,
    /// Real-time CPU runtime (refused: not implemented).
    #[arg(long)]
    cpu_rt_runtime: Option<i64>,
    /// Real-time CPU period (refused: not implemented).
    #[arg(long)]
    cpu_rt_period: Option<u64>,
    /// The CPUs the container may run on (linux.resources.cpu.cpus).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// The memory nodes the container may use (linux.resources.cpu.mems).
    #[arg(long)]
    cpuset_mems: Option<String>,
    /// The block I/O weight, 10 to 1000 (linux.resources.blockIO.weight).
    #[arg(long)]
    blkio_weight: Option<u16>,
    /// The most processes at once (-1: none).
    #[arg(long, allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Intel RDT (refused: not supported).
    #[arg(long)]
    l3_cache_schema: Option<String>,
    /// Intel RDT (refused: not supported).
    #[arg(long)]
    mem_bw_schema: Option<String>,
    /// The container's id.
    id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PsFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
#[command(override_usage = "08-oci-runtime ps [OPTIONS] <ID> [PS_OPTIONS...]")]
struct PsArgs {
    /// `table`: the host's `ps` (with PS_OPTIONS, default -ef) for those pids; `json`: an
    /// array of pids.
    #[arg(long, short = 'f', value_enum, default_value_t = PsFormat::Table)]
    format: PsFormat,
    /// The container's id.
    id: String,
    /// Options for the host's `ps` in the table form.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_options: Vec<String>,
}

#[derive(Args, Debug)]
struct EventsArgs {
    /// Print the stats once and exit.
    #[arg(long)]
    stats: bool,
    /// How often to print the stats until the container stops (5s, 200ms, 1m).
    #[arg(long, default_value = "5s")]
    interval: String,
    /// The container's id.
    id: String,
}

#[derive(Args, Debug)]
struct CreateArgs {
    /// The bundle: a directory with config.json and the root filesystem.
    #[arg(long, short = 'b', default_value = ".")]
    bundle: PathBuf,
    /// A unix socket to send the pty's master to (when process.terminal is true).
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Write the init's pid (as the host sees it) to this file.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Refused: this runtime always uses pivot_root.
    #[arg(long)]
    no_pivot: bool,
    /// Accepted: this runtime never makes a session keyring.
    #[arg(long)]
    no_new_keyring: bool,
    /// Pass fds 3 to 3+N-1 of this runtime to the container's process (socket
    /// activation); every other fd above stderr is closed at its exec. Sockets of systemd's
    /// activation (LISTEN_FDS, with LISTEN_PID this runtime's pid) pass first, and the
    /// container gets LISTEN_FDS and LISTEN_PID=1, as runc does.
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    /// The container's name, unique under --root.
    id: String,
}

#[derive(Args, Debug)]
struct KillArgs {
    /// Signal every process in the container's cgroup, not only its init.
    #[arg(long, short = 'a')]
    all: bool,
    id: String,
    /// A name (TERM, SIGKILL) or a number.
    #[arg(default_value = "SIGTERM")]
    signal: String,
}

#[derive(Args, Debug)]
struct DeleteArgs {
    /// Kill a running container first; a missing one is no error.
    #[arg(long, short = 'f')]
    force: bool,
    id: String,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    create: CreateArgs,
    /// Return once the container runs, instead of waiting for it.
    #[arg(long, short = 'd')]
    detach: bool,
    /// Keep the container's state after it ends (no delete).
    #[arg(long)]
    keep: bool,
    /// Accepted for runc compatibility.
    #[arg(long)]
    no_subreaper: bool,
}

#[derive(Args, Debug)]
#[command(override_usage = "08-oci-runtime exec [OPTIONS] <ID> [CMD ARGS...]")]
struct ExecArgs {
    /// A process.json (the "process" object of config.json) to run.
    #[arg(long, short = 'p')]
    process: Option<PathBuf>,
    /// Allocate a pty (sent over --console-socket).
    #[arg(long, short = 't')]
    tty: bool,
    /// A unix socket to send the pty's master to.
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Return once the process runs, instead of waiting for it.
    #[arg(long, short = 'd')]
    detach: bool,
    /// Write the process's pid to this file.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// The working directory inside the container.
    #[arg(long)]
    cwd: Option<String>,
    /// Set an environment variable (KEY=value); repeatable.
    #[arg(long, short = 'e')]
    env: Vec<String>,
    /// The user: UID, or UID:GID.
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long)]
    no_new_privs: bool,
    /// Pass fds 3 to 3+N-1 of this runtime to the process; every other fd above stderr
    /// is closed at its exec.
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    id: String,
    /// The command and its arguments (without --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = Log::new(cli.log.clone(), cli.log_format, cli.debug);
    match body(&cli, &log) {
        Ok(code) => code,
        Err(error) => {
            log.error(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

fn body(cli: &Cli, log: &Log) -> Result<ExitCode> {
    // ANCHOR: sealed
    // The commands whose processes enter the container run from a sealed copy of this
    // binary, so that /proc/PID/exe inside leads nowhere writable (CVE-2019-5736).
    if matches!(
        cli.command,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        sealed_exe::reexec_sealed(c"08-oci-runtime")?;
    }
    // ANCHOR_END: sealed
    let state = |id: &str| StateDir::of(&cli.root, id);
    log.debug(&format!("{:?}", cli.command));
    match &cli.command {
        Command::Create(args) => {
            create(&create_options(cli, args)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Start { id } => lifecycle::start(&state(id)?).map(|()| ExitCode::SUCCESS),
        Command::State { id } => {
            println!("{}", lifecycle::state_json(&state(id)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Kill(args) => {
            let signal = signal::parse(&args.signal)?;
            lifecycle::kill(&state(&args.id)?, signal, args.all).map(|()| ExitCode::SUCCESS)
        }
        Command::Delete(args) => {
            delete::delete(&state(&args.id)?, args.force).map(|()| ExitCode::SUCCESS)
        }
        Command::Run(args) => run(cli, args),
        Command::Exec(args) => exec_command(cli, args),
        Command::Engine(EngineCommand::Pause { id }) => {
            pause::pause(&state(id)?).map(|()| ExitCode::SUCCESS)
        }
        Command::Engine(EngineCommand::Resume { id }) => {
            pause::resume(&state(id)?).map(|()| ExitCode::SUCCESS)
        }
        Command::Engine(EngineCommand::Update(args)) => {
            let resources = update_resources(args)?;
            update::update(&state(&args.id)?, &resources).map(|()| ExitCode::SUCCESS)
        }
        Command::Engine(EngineCommand::Ps(args)) => {
            let pids = ps::pids(&state(&args.id)?)?;
            match args.format {
                PsFormat::Json => println!("{}", ps::json(&pids)),
                PsFormat::Table => print!("{}", ps::table(&pids, &args.ps_options)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Engine(EngineCommand::Events(args)) => {
            events_command(&state(&args.id)?, args)
        }
        Command::Features => {
            let text = serde_json::to_string_pretty(&features::features())
                .map_err(|e| Error::Invalid(format!("cannot encode the features: {e}")))?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn create_options(cli: &Cli, args: &CreateArgs) -> Result<CreateOptions> {
    if args.no_pivot {
        return Err(Error::Unsupported(
            "--no-pivot is not supported: this runtime always uses pivot_root, which chroot cannot replace safely".into(),
        ));
    }
    // The spec: an id that is not unique is an error, and nothing is created.
    StateDir::of(&cli.root, &args.id)?.refuse_taken()?;
    Ok(CreateOptions {
        root: cli.root.clone(),
        id: args.id.clone(),
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        preserve_fds: args.preserve_fds,
        systemd_cgroup: cli.systemd_cgroup,
    })
}

/// `run`: create, start, wait (forwarding signals), delete.
fn run(cli: &Cli, args: &RunArgs) -> Result<ExitCode> {
    if !args.detach {
        foreground::block()?;
    }
    let created = create(&create_options(cli, &args.create)?)?;
    let state = created.state;
    if let Err(e) = lifecycle::start(&state) {
        let _ = delete::delete(&state, true);
        return Err(e);
    }
    if args.detach {
        return Ok(ExitCode::SUCCESS);
    }
    let pid = nix::unistd::Pid::from_raw(created.record.pid.unwrap_or(0));
    let status = foreground::wait_forwarding(pid)?;
    if !args.keep {
        delete::delete(&state, true)?;
    }
    Ok(status.into())
}

/// `exec`: the process from --process, or from the arguments on top of the container's
/// own process (its env, capabilities and no_new_privs).
fn exec_command(cli: &Cli, args: &ExecArgs) -> Result<ExitCode> {
    let state = StateDir::of(&cli.root, &args.id)?;
    let mut process = match &args.process {
        Some(file) => Process::load(file)?,
        None => {
            let record = state.load()?;
            let mut p = Spec::load(&record.bundle)?.process()?.clone();
            if args.command.is_empty() {
                return Err(Error::Invalid(
                    "exec needs a command, or --process FILE".into(),
                ));
            }
            p.args = args.command.clone();
            p.terminal = args.tty;
            p
        }
    };
    if let Some(cwd) = &args.cwd {
        process.cwd = cwd.clone();
    }
    process.env.extend(args.env.iter().cloned());
    if let Some(user) = &args.user {
        process.user = parse_user(user)?;
    }
    process.no_new_privileges |= args.no_new_privs;
    process.terminal |= args.tty;
    let options = ExecOptions {
        state,
        process,
        detach: args.detach,
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        preserve_fds: args.preserve_fds,
    };
    Ok(match exec(options)? {
        Some(status) => status.into(),
        None => ExitCode::SUCCESS,
    })
}

/// The resources of `update`: the JSON of --resources, or the flags.
fn update_resources(args: &UpdateArgs) -> Result<workbook::oci::config::Resources> {
    if let Some(path) = &args.resources {
        return update::read_resources(path);
    }
    if args.l3_cache_schema.is_some() || args.mem_bw_schema.is_some() {
        return Err(Error::Unsupported(
            "--l3-cache-schema and --mem-bw-schema are not supported: this runtime has no Intel RDT".into(),
        ));
    }
    if args.kernel_memory.is_some() || args.kernel_memory_tcp.is_some() {
        eprintln!("warning: kernel memory settings are ignored (the kernel dropped them)");
    }
    update::Flags {
        memory: args.memory.clone(),
        memory_reservation: args.memory_reservation.clone(),
        memory_swap: args.memory_swap.clone(),
        cpu_shares: args.cpu_share,
        cpu_quota: args.cpu_quota,
        cpu_period: args.cpu_period,
        cpu_rt_runtime: args.cpu_rt_runtime,
        cpu_rt_period: args.cpu_rt_period,
        cpuset_cpus: args.cpuset_cpus.clone(),
        cpuset_mems: args.cpuset_mems.clone(),
        blkio_weight: args.blkio_weight,
        pids_limit: args.pids_limit,
    }
    .resources()
}

/// `events`: one stats line with --stats, else a line every --interval until the
/// container stops.
fn events_command(state: &StateDir, args: &EventsArgs) -> Result<ExitCode> {
    let interval = events::parse_duration(&args.interval)?;
    if args.stats {
        println!("{}", events::stats_event(state)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout();
    events::watch(state, interval, &mut |event| {
        writeln!(out, "{event}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::io_no_path("writing an event to stdout", e))
    })?;
    Ok(ExitCode::SUCCESS)
}

fn parse_user(text: &str) -> Result<User> {
    let bad =
        || Error::Invalid(format!("--user '{text}' must be UID or UID:GID (numbers)"));
    let (uid, gid) = text.split_once(':').unwrap_or((text, "0"));
    Ok(User {
        uid: uid.parse().map_err(|_| bad())?,
        gid: gid.parse().map_err(|_| bad())?,
        umask: None,
        additional_gids: Vec::new(),
    })
}

/// Where errors go: stderr, or the --log file (as JSON lines, `{"level":"error","msg":…,
/// "time":…}`, which conmon and containerd's shim read back to report the failure).
struct Log {
    file: Option<PathBuf>,
    format: LogFormat,
    debug: bool,
}

impl Log {
    fn new(file: Option<PathBuf>, format: LogFormat, debug: bool) -> Log {
        Log {
            file,
            format,
            debug,
        }
    }

    /// Writes one line; true when it went to the --log file (false: to stderr).
    fn write(&self, level: &str, msg: &str) -> bool {
        let line = match self.format {
            LogFormat::Json => serde_json::json!({
                "level": level,
                "msg": msg,
                "time": workbook::oci::state::now_rfc3339(),
            })
            .to_string(),
            LogFormat::Text => format!("{NAME}: {level}: {msg}"),
        };
        let Some(path) = &self.file else {
            eprintln!("{line}");
            return false;
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            // The engine looks for the message in the log: say where it should have been.
            eprintln!(
                "{NAME}: cannot write the --log file {}: {e}; the message follows here",
                path.display()
            );
            eprintln!("{line}");
            return false;
        }
        true
    }

    fn error(&self, error: &Error) {
        let msg = error.to_string();
        // The engine shows the log; a person at a terminal reads stderr (once: a log that
        // cannot be written has put the message there already).
        if self.write("error", &msg) {
            eprintln!("{NAME}: {msg}");
        }
    }

    fn debug(&self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }
}
