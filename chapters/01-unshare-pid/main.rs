//! Chapter 1: a process that is PID 1 of its own world.
//!
//! `clone(CLONE_NEWPID)` starts a child in a new PID namespace. Inside, it is PID 1, the
//! init of that namespace; on the host it has an ordinary PID. The two names are the same
//! process: the kernel keeps one number per namespace the process is visible in.

use std::process::ExitCode;

use clap::Parser;
use nix::unistd::{getpid, getppid};
use workbook::namespace::{Namespace, Namespaces};
use workbook::{cli, privilege, process, Result};

const NAME: &str = "01-unshare-pid";

/// Run a command as PID 1 of a new PID namespace.
///
/// With a command, runs it as PID 1 of a new PID namespace and exits with its status.
/// Without one, shows the child's PID inside and on the host, and the inode of
/// /proc/PID/ns/pid inside and outside.
///
/// PID 1 is special: the kernel drops every signal it has no handler for. Ctrl-C (SIGINT),
/// SIGTERM and SIGHUP sent to this tool are passed on to the command when it handles them;
/// when it does not, the tool ends it with SIGKILL and exits with the status of the signal
/// that was meant (130 for Ctrl-C).
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment, override_usage = "01-unshare-pid [-- CMD ARGS...]")]
struct Args {
    /// The command to run as PID 1, and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    privilege::require_cap_sys_admin(NAME, "to create a PID namespace")?;
    // ANCHOR: run
    let namespaces = Namespaces::of(&[Namespace::Pid]);
    if args.command.is_empty() {
        return demonstrate(namespaces);
    }
    let child = process::spawn(namespaces, || process::exec_command(&args.command))?;
    let status = child.wait()?;
    Ok(status.into())
    // ANCHOR_END: run
}

fn demonstrate(namespaces: Namespaces) -> Result<ExitCode> {
    let host_ns = Namespace::Pid.inode(None)?;
    let child = process::spawn(namespaces, || {
        println!("Inside, the child calls getpid():   {}", getpid());
        println!("Inside, the child calls getppid():  {}", getppid());
        println!("  (0: its parent lives outside the namespace and has no PID in here)");
        let inside_ns = Namespace::Pid.inode(None)?;
        println!("Inside, /proc/self/ns/pid is        pid:[{inside_ns}]");
        Ok(0)
    })?;
    println!("This tool (on the host) has PID     {}", getpid());
    println!("The host sees the child as PID      {}", child.pid());
    println!("On the host, /proc/self/ns/pid is   pid:[{host_ns}]");
    let status = child.wait()?;
    println!();
    println!(
        "Different inodes: the child lives in a new PID namespace, where it is PID 1."
    );
    Ok(status.into())
}
