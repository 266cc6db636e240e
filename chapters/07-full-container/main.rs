//! Chapter 7: the full container.
//!
//! Every building block of the earlier chapters, joined in the order the kernel requires:
//! an image's layers under a fresh writable layer, a cgroup with limits, all eight
//! namespaces, pivot_root, and the hardening a runtime owes the host (capabilities,
//! no_new_privs, seccomp, masked paths). The library's `container::run` does the work; this
//! file is the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use workbook::cgroup::{CpuQuota, Limits, MemoryLimit, PidsLimit};
use workbook::container::image::Source;
use workbook::container::network::bridge::{self, DEFAULT_BRIDGE};
use workbook::container::network::subnet::DEFAULT_SUBNET;
use workbook::container::network::{NetworkMode, NetworkOptions, PortMapping, Subnet};
use workbook::container::run::{run, RunOptions};
use workbook::container::spec::{EnvVar, Name, WorkDir};
use workbook::container::{self as container, host_files};
use workbook::hostname::Hostname;
use workbook::image::store::ImageStore;
use workbook::{cli, Result};

const NAME: &str = "07-full-container";

/// Run a command in a full container: every namespace, a layered root, limits, hardening.
///
/// `run` starts a container from an image (the busybox one by default) and waits for it;
/// `images`, `ps` and `cleanup` look after the rest. With no arguments at all, a short tour:
/// a container that prints what it sees.
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a command in a new container and wait for it; exits with the command's status.
    Run(Box<RunArgs>),
    /// List the images in the store.
    Images,
    /// List the running containers.
    Ps,
    /// Remove what runs killed with SIGKILL left behind (state, upper layers, cgroups,
    /// address leases with their veths and NAT rules).
    Cleanup,
}

/// The options of `run`, in the spirit of `docker run`.
#[derive(Args, Debug)]
#[command(
    override_usage = "07-full-container run [OPTIONS] [--] [CMD ARGS...]",
    verbatim_doc_comment
)]
struct RunArgs {
    /// An image: a name or id in the store, or a `docker save` / OCI archive to import.
    /// Default: the busybox image made from the host's static busybox.
    #[arg(long, value_name = "NAME|ARCHIVE", conflicts_with = "rootfs")]
    image: Option<String>,
    /// An extracted root filesystem, used read-only under a fresh writable layer.
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Memory limit (K, M, G or bytes; at least 6M); the kernel OOM-kills the command above it.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    memory: Option<MemoryLimit>,
    /// CPU quota in CPUs (0.5 = half of one CPU's time).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    cpus: Option<CpuQuota>,
    /// Most processes at once (a fork bomb stops there).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pids: Option<PidsLimit>,
    /// Host name inside (default: the container's name): RFC 1123, at most 64 bytes.
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    hostname: Option<String>,
    /// Set an environment variable inside (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<EnvVar>,
    /// Working directory inside (absolute).
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    workdir: Option<WorkDir>,
    /// Mount the root filesystem read-only (/tmp stays a writable tmpfs).
    #[arg(long)]
    read_only: bool,
    /// Add a user namespace: root inside is you (or nobody, when you are root) outside.
    #[arg(long)]
    rootless: bool,
    /// The container's name (default: generated).
    #[arg(long, value_name = "NAME")]
    name: Option<Name>,
    /// Give the command a terminal of its own (a new pty, copied to and from yours), as
    /// `docker run -t` does: for an interactive shell. Without it the command still has
    /// a session of its own and cannot type into your terminal.
    #[arg(short = 't', long)]
    tty: bool,
    /// The network: `bridge` (its own eth0 on the host bridge, an address of the subnet,
    /// a default route; the default), `none` (only lo) or `host` (no network namespace:
    /// the host's devices and ports; unsafe). With --rootless the default is none.
    #[arg(long, value_name = "MODE")]
    network: Option<NetworkMode>,
    /// Publish a container port on the host: connections to HOSTPORT on any host address
    /// (127.0.0.1 too) go to CONTAINERPORT of the container (repeatable; tcp only).
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "HOSTPORT:CONTAINERPORT[/tcp]"
    )]
    publish: Vec<PortMapping>,
    /// Masquerade the container's traffic that leaves the host (an nftables rule, removed
    /// at exit; switches on net.ipv4.ip_forward).
    #[arg(long)]
    nat: bool,
    /// The host bridge to plug the container into (made if missing).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_BRIDGE, value_parser = bridge::check_name)]
    bridge: String,
    /// The bridge's address and prefix length: the containers' gateway and subnet.
    #[arg(long, value_name = "ADDRESS/PREFIX", default_value = DEFAULT_SUBNET)]
    subnet: Subnet,
    /// The command and its arguments (default: the image's command).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, || match Cli::parse().command {
        None => tour(),
        Some(Command::Run(args)) => run_container(options(*args)?),
        Some(Command::Images) => images(),
        Some(Command::Ps) => ps(),
        Some(Command::Cleanup) => cleanup(),
    })
}

fn options(args: RunArgs) -> Result<RunOptions> {
    let limits = Limits {
        memory: args.memory,
        cpus: args.cpus,
        cpu_weight: None,
        pids: args.pids,
        // The device allow-list is not an option: run() always sets Docker's.
        ..Limits::default()
    };
    limits.check_machine()?;
    let source = match (args.image, args.rootfs) {
        (Some(image), _) => Source::Image(image),
        (None, Some(dir)) => Source::Dir(dir),
        (None, None) => Source::Busybox,
    };
    Ok(RunOptions {
        source,
        limits,
        hostname: args.hostname.as_deref().map(Hostname::parse).transpose()?,
        env: args.env,
        workdir: args.workdir,
        read_only: args.read_only,
        rootless: args.rootless,
        name: args.name,
        tty: args.tty,
        command: args.command,
        network: NetworkOptions {
            mode: args.network.unwrap_or(if args.rootless {
                NetworkMode::None
            } else {
                NetworkMode::Bridge
            }),
            bridge: args.bridge,
            subnet: args.subnet,
            ports: args.publish,
            nat: args.nat,
        },
        tool: NAME,
    })
}

fn run_container(options: RunOptions) -> Result<ExitCode> {
    let outcome = run(&options)?;
    if outcome.oom_killed {
        let limit = options
            .limits
            .memory
            .map_or("its memory limit".to_string(), |m| {
                format!("the memory limit of {m}")
            });
        eprintln!("{NAME}: the kernel OOM-killed the command at {limit}.");
    }
    Ok(outcome.status.into())
}

// ANCHOR: tour
/// What the tour's container runs: its own tools, reporting what they see.
const TOUR: &str = r#"
echo "I am PID $$, on host $(hostname), as uid $(id -u)."
echo "My / holds: $(ls / | tr '\n' ' ')"
echo "My mounts:"
awk '{printf "  %-22s %s\n", $2, $3}' /proc/self/mounts
cg=$(grep -E ':memory:|^0::' /proc/self/cgroup | head -n 1)
echo "My cgroup: ${cg##*:}"
for f in memory.max memory/memory.limit_in_bytes pids.max pids/pids.max \
         cpu.max cpu/cpu.cfs_quota_us; do
  [ -r /sys/fs/cgroup/$f ] && echo "  $f = $(cat /sys/fs/cgroup/$f)"
done
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | sed 's/^/  /'
net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
echo "My uptime (time namespace): $(cut -d' ' -f1 /proc/uptime) s; network: $net"
"#;
// ANCHOR_END: tour

fn tour() -> Result<ExitCode> {
    println!(
        "A container with every namespace, the busybox image under a fresh upper layer,"
    );
    println!("64 MiB of memory, half a CPU, 64 processes, and the hardening of chapter 7.");
    println!("What it prints is what it sees:\n");
    let options = RunOptions {
        source: Source::Busybox,
        limits: Limits {
            memory: Some("64M".parse().map_err(workbook::Error::Invalid)?),
            cpus: Some("0.5".parse().map_err(workbook::Error::Invalid)?),
            cpu_weight: None,
            pids: Some("64".parse().map_err(workbook::Error::Invalid)?),
            ..Limits::default()
        },
        hostname: Some(Hostname::parse("box")?),
        env: Vec::new(),
        workdir: None,
        read_only: false,
        rootless: false,
        name: None,
        command: vec!["sh".into(), "-c".into(), TOUR.trim().into()],
        network: NetworkOptions::new(NetworkMode::Bridge),
        tty: false,
        tool: NAME,
    };
    run_container(options)
}

fn images() -> Result<ExitCode> {
    let store = ImageStore::open(ImageStore::default_dir()?)?;
    let list = store.list()?;
    println!("{:<32} {:<19} {:>6}  COMMAND", "TAG", "ID", "LAYERS");
    for img in &list {
        let tag = img.tags.first().map_or("<none>", String::as_str);
        let id = img.id.trim_start_matches("sha256:");
        println!(
            "{tag:<32} {:<19} {:>6}  {}",
            &id[..id.len().min(19)],
            img.diff_ids.len(),
            img.config().command().join(" ")
        );
    }
    if list.is_empty() {
        println!("(no images yet: `07-full-container run --image ARCHIVE` imports one)");
    }
    Ok(ExitCode::SUCCESS)
}

fn ps() -> Result<ExitCode> {
    println!("{:<28} {:>8}  {:<15}  COMMAND", "NAME", "PID", "ADDRESS");
    for entry in host_files::list().into_iter().filter(|e| e.alive) {
        let pid = entry.init.map_or("-".to_string(), |p| p.to_string());
        let address = entry.address.as_deref().unwrap_or("-");
        println!(
            "{:<28} {pid:>8}  {address:<15}  {}",
            entry.name, entry.command
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn cleanup() -> Result<ExitCode> {
    let cleaned = container::cleanup_stale()?;
    println!(
        "Removed {} stale container(s){} and {} stale cgroup(s){}.",
        cleaned.containers.len(),
        list(&cleaned.containers),
        cleaned.cgroups.len(),
        list(&cleaned.cgroups)
    );
    if !cleaned.leases.is_empty() {
        println!(
            "Gave back {} stale address lease(s) ({}), with their veths and NAT rules.",
            cleaned.leases.len(),
            cleaned.leases.join(", ")
        );
    }
    if !cleaned.imports.is_empty() {
        println!(
            "Removed {} half-done image import(s) of killed runs ({}).",
            cleaned.imports.len(),
            cleaned.imports.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}
