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
use workbook::oci::config::{Process, Spec, User};
use workbook::oci::create::{create, CreateOptions};
use workbook::oci::exec::{exec, ExecOptions};
use workbook::oci::state::{StateDir, DEFAULT_ROOT};
use workbook::oci::{delete, features, lifecycle, sealed_exe, signal, wait};
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
    /// Use systemd's cgroup driver: not supported, refused.
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
}
// ANCHOR_END: commands

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
    /// Refused unless 0: passing extra fds into the container is not supported.
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
    /// The user, UID[:GID].
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long)]
    no_new_privs: bool,
    /// Refused unless 0: passing extra fds is not supported.
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
    if cli.systemd_cgroup {
        return Err(Error::Unsupported(
            "--systemd-cgroup is not supported: this runtime manages cgroups through the cgroup filesystem only".into(),
        ));
    }
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
    if args.preserve_fds > 0 {
        return Err(Error::Unsupported(
            "--preserve-fds is not supported: only stdio reaches the container".into(),
        ));
    }
    Ok(CreateOptions {
        root: cli.root.clone(),
        id: args.id.clone(),
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
    })
}

/// `run`: create, start, wait (forwarding signals), delete.
fn run(cli: &Cli, args: &RunArgs) -> Result<ExitCode> {
    if !args.detach {
        wait::block()?;
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
    let status = wait::wait_forwarding(pid)?;
    if !args.keep {
        delete::delete(&state, true)?;
    }
    Ok(status.into())
}

/// `exec`: the process from --process, or from the arguments on top of the container's
/// own process (its env, capabilities and no_new_privs).
fn exec_command(cli: &Cli, args: &ExecArgs) -> Result<ExitCode> {
    if args.preserve_fds > 0 {
        return Err(Error::Unsupported(
            "--preserve-fds is not supported: only stdio reaches the container".into(),
        ));
    }
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
    };
    Ok(match exec(options)? {
        Some(status) => status.into(),
        None => ExitCode::SUCCESS,
    })
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
