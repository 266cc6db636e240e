//! Chapter 2: a host name and System V IPC of its own.
//!
//! Two small namespaces: UTS holds the host name, IPC the System V IPC objects (shared
//! memory, semaphores, message queues) and POSIX message queues. Changing either inside
//! changes nothing outside.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use clap::Parser;
use workbook::hostname::{self, Hostname};
use workbook::ipc::{self, SharedMemory};
use workbook::namespace::{Namespace, Namespaces};
use workbook::{cli, privilege, process, Error, Result};

const NAME: &str = "02-uts-ipc";

/// Run a command with its own host name and its own System V IPC.
///
/// The child gets new UTS and IPC namespaces and sets the host name given with --hostname;
/// the host's name is unchanged afterwards. Without a command it shows the host name and the
/// shared memory segments inside and on the host.
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment, override_usage = "02-uts-ipc [--hostname NAME] [-- CMD ARGS...]")]
struct Args {
    /// The host name inside: RFC 1123 (letters, digits, '-' and dots), at most 64 bytes.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "box",
        allow_hyphen_values = true
    )]
    hostname: String,
    /// The command to run inside, and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let hostname = Hostname::parse(&args.hostname)?;
    privilege::require_cap_sys_admin(NAME, "to create UTS and IPC namespaces")?;
    // ANCHOR: run
    let namespaces = Namespaces::of(&[Namespace::Uts, Namespace::Ipc]);
    if args.command.is_empty() {
        return demonstrate(namespaces, &hostname);
    }
    let child = process::spawn(namespaces, || {
        hostname.apply()?;
        process::exec_command(&args.command)
    })?;
    Ok(child.wait()?.into())
    // ANCHOR_END: run
}

/// Keys for the demonstration's segments: arbitrary, fixed so the text can name them.
const HOST_KEY: i32 = 0x0b0c_0001;
const INSIDE_KEY: i32 = 0x0b0c_0002;

fn demonstrate(namespaces: Namespaces, name: &Hostname) -> Result<ExitCode> {
    println!("On the host, the hostname is {}.", hostname::current()?);
    let _host_segment = SharedMemory::create(HOST_KEY)?;
    println!("On the host, we create shared memory segment with key {HOST_KEY:#x}.");
    let (mut to_child, from_parent) =
        UnixStream::pair().map_err(|e| Error::io_no_path("creating a socket pair", e))?;
    let child = process::spawn(namespaces, move || {
        name.apply()?;
        println!(
            "Inside, after sethostname: the hostname is {}.",
            hostname::current()?
        );
        let keys = ipc::visible_keys()?;
        println!(
            "Inside, /proc/sysvipc/shm lists {} segment(s); key {HOST_KEY:#x} is {}.",
            keys.len(),
            if keys.contains(&HOST_KEY) {
                "VISIBLE"
            } else {
                "not there"
            }
        );
        let _segment = SharedMemory::create(INSIDE_KEY)?;
        println!("Inside, we create a segment with key {INSIDE_KEY:#x}.");
        // Tell the parent, then wait until it has looked.
        let mut line = String::new();
        let mut conversation = BufReader::new(&from_parent);
        (&from_parent)
            .write_all(b"created\n")
            .map_err(|e| Error::io_no_path("talking to the parent", e))?;
        let _ = conversation.read_line(&mut line);
        Ok(0)
    })?;
    let mut child = child;
    child.release()?;
    let mut line = String::new();
    let _ = BufReader::new(&to_child).read_line(&mut line);
    let keys = ipc::visible_keys()?;
    println!(
        "On the host, key {INSIDE_KEY:#x} is {}.",
        if keys.contains(&INSIDE_KEY) {
            "VISIBLE"
        } else {
            "not there"
        }
    );
    let _ = to_child.write_all(b"done\n");
    let status = child.wait()?;
    println!(
        "On the host, the hostname is still {}.",
        hostname::current()?
    );
    println!();
    println!("Each side has its own hostname and its own table of IPC keys.");
    Ok(status.into())
}
