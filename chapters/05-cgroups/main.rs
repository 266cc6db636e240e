//! Chapter 5: limits that the kernel enforces.
//!
//! The command runs in a fresh cgroup with the limits given: its memory, its CPU time and
//! its number of processes are counted and capped by the kernel, not by this tool. When it
//! ends, the tool reads back what the kernel counted (peak memory, OOM kills, CPU time,
//! throttling, most pids at once), prints it, and removes the cgroup.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use workbook::cgroup::{
    self, Cgroup, CgroupFs, CpuQuota, CpuWeight, Limits, MemoryLimit, PidsLimit, Usage,
};
use workbook::exit::Status;
use workbook::namespace::Namespaces;
use workbook::{cli, privilege, process, Result};

const NAME: &str = "05-cgroups";

/// Run a command in a cgroup whose limits the kernel enforces.
///
/// The command starts in a new cgroup (v2, or one directory per v1 controller) with the limits
/// below and in a new cgroup namespace, so /proc/self/cgroup shows "/" inside. When it ends, a
/// report of what the kernel counted goes to stderr and the cgroup is removed. The exit status
/// is the command's own (137 when the OOM killer killed it).
///
/// Without a command, a demonstration: a memory hog killed at its limit, a fork bomb stopped
/// at its pids limit and a busy loop throttled to its CPU quota.
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment)]
struct Args {
    /// Memory limit: bytes, or a number with K, M, G or T (powers of 1024), at least 6M. Swap
    /// is not allowed on top of it.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    memory: Option<MemoryLimit>,
    /// CPU quota in CPUs, e.g. 0.5 for 50 ms of CPU time every 100 ms.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    cpus: Option<CpuQuota>,
    /// Relative CPU weight under contention, 1 to 10000 (100 is the default).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    cpu_weight: Option<CpuWeight>,
    /// Most processes (tasks) at once; a fork beyond it fails with EAGAIN.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pids: Option<PidsLimit>,
    /// One of the demonstration's workloads (hog, forks, spin): used by the demonstration,
    /// which runs this same binary inside its cgroups.
    #[arg(long, hide = true, value_name = "KIND")]
    workload: Option<String>,
    /// The command to run, and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if let Some(kind) = &args.workload {
        return workload(kind);
    }
    let limits = Limits {
        memory: args.memory,
        cpus: args.cpus,
        cpu_weight: args.cpu_weight,
        pids: args.pids,
        // No device allow-list: this chapter runs commands in the host's root filesystem,
        // with the host's /dev; chapter 7, which has a root of its own, adds one.
        devices: None,
    };
    limits.check_machine()?;
    privilege::require_cap_sys_admin(NAME, "to create cgroups")?;
    let fs = CgroupFs::detect()?;
    // A run killed with SIGKILL could not remove its cgroup: do it now.
    for leaf in cgroup::cleanup_stale(&fs)? {
        eprintln!("{NAME}: removed the cgroup {leaf} left by a run that was killed");
    }
    if args.command.is_empty() {
        return demonstrate(&fs);
    }
    let run = run_in_cgroup(&fs, &limits, &args.command, |cg| {
        eprintln!(
            "{NAME}: running `{}` in {} [{}]",
            args.command.join(" "),
            cg.dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            fs.layout.describe()
        );
    })?;
    eprint!(
        "{NAME}: the command {}; the kernel counted:\n{}",
        run.status.describe(),
        run.usage.report()
    );
    Ok(run.status.into())
}

/// How a command ran in its cgroup.
struct Run {
    status: Status,
    usage: Usage,
}

/// Creates the cgroup, starts the child held, attaches it, lets it run the command, waits,
/// reads the kernel's figures and removes the cgroup (the guard removes it on every error path).
fn run_in_cgroup(
    fs: &CgroupFs,
    limits: &Limits,
    command: &[String],
    started: impl FnOnce(&Cgroup),
) -> Result<Run> {
    // ANCHOR: run_create
    let cg = Cgroup::create_on(fs, NAME, limits)?;
    // ANCHOR_END: run_create
    // The child waits, blocked on a pipe, until release(): it runs nothing before it is
    // inside.
    // ANCHOR: run_child
    let mut child = process::spawn(Namespaces::of(&[]), || {
        // Now that the parent has moved us, our cgroup becomes the namespace's "/".
        cgroup::unshare_namespace()?;
        process::exec_command(command)
    })?;
    cg.attach(child.pid().as_raw())?;
    started(&cg);
    child.release()?;
    let status = child.wait()?;
    // Read before removing: the figures go with the directory.
    let usage = cg.usage();
    cg.remove()?;
    Ok(Run { status, usage })
    // ANCHOR_END: run_child
}

fn demonstrate(fs: &CgroupFs) -> Result<ExitCode> {
    let me = "/proc/self/exe".to_string();
    println!("Layout: {}.", fs.layout.describe());
    let demos: [(&str, &str, Limits, &str); 3] = [
        (
            "A memory hog under --memory 32M",
            "It allocates 100 MiB and writes to every page.",
            Limits {
                memory: Some("32M".parse().map_err(workbook::Error::Invalid)?),
                ..Limits::default()
            },
            "hog",
        ),
        (
            "A fork bomb under --pids 16",
            "It forks children that sleep, until fork() fails.",
            Limits {
                pids: Some("16".parse().map_err(workbook::Error::Invalid)?),
                ..Limits::default()
            },
            "forks",
        ),
        (
            "A busy loop under --cpus 0.2",
            "It spins on the CPU for one second of wall-clock time.",
            Limits {
                cpus: Some("0.2".parse().map_err(workbook::Error::Invalid)?),
                ..Limits::default()
            },
            "spin",
        ),
    ];
    for (i, (title, what, limits, kind)) in demos.into_iter().enumerate() {
        println!();
        println!("{}. {title}", i + 1);
        println!("   {what}");
        let command = [me.clone(), "--workload".into(), kind.into()];
        let run = run_in_cgroup(fs, &limits, &command, |_| {})?;
        println!("   It {}. The kernel counted:", run.status.describe());
        for line in run.usage.report().lines() {
            println!("   {line}");
        }
    }
    println!();
    println!(
        "Each limit was enforced by the kernel; the figures are the kernel's own counters."
    );
    Ok(ExitCode::SUCCESS)
}

/// The demonstration's workloads, run inside the cgroups by this same binary.
fn workload(kind: &str) -> Result<ExitCode> {
    match kind {
        "hog" => {
            // Writing the pages (not only allocating them) is what makes the kernel charge
            // them.
            let mut held: Vec<Vec<u8>> = Vec::new();
            for _ in 0..100 {
                held.push(vec![1u8; 1 << 20]);
            }
            println!(
                "   The hog holds {} MiB: the limit did not hold.",
                held.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        "forks" => fork_until_refused(),
        "spin" => {
            let start = Instant::now();
            let mut n: u64 = 0;
            while start.elapsed() < Duration::from_secs(1) {
                n = std::hint::black_box(n.wrapping_add(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        other => Err(workbook::Error::Invalid(format!(
            "unknown workload '{other}': use hog, forks or spin"
        ))),
    }
}

/// Forks children that sleep, until the kernel refuses a fork; prints how far it got and why.
fn fork_until_refused() -> Result<ExitCode> {
    use nix::unistd::{fork, ForkResult};
    let mut children = Vec::new();
    let errno = loop {
        // SAFETY: this process is single-threaded (a fresh exec of this binary); the child
        // only sleeps and calls _exit.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                std::thread::sleep(Duration::from_secs(30));
                // SAFETY: _exit ends the child without running the parent's destructors.
                unsafe { libc::_exit(0) }
            }
            Ok(ForkResult::Parent { child }) => children.push(child),
            Err(errno) => break errno,
        }
        if children.len() > 10_000 {
            break nix::errno::Errno::UnknownErrno;
        }
    };
    println!(
        "   With {} children running, fork() failed: {errno:?} ({}).",
        children.len(),
        errno.desc()
    );
    for child in children {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
    }
    Ok(ExitCode::SUCCESS)
}
