//! Chapter 4: root inside, nobody outside; and an empty network.
//!
//! A user namespace maps IDs: the child is uid 0 inside, with every capability over the
//! namespaces it owns, while on the host it is an unprivileged ID. A network namespace
//! gives it a network stack of its own, holding only a loopback device.

use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;

use clap::Parser;
use nix::unistd::{getgid, getuid};
use std::net::Ipv4Addr;

use workbook::idmap::{self, IdMaps};
use workbook::namespace::{Namespace, Namespaces};
use workbook::{cli, net, process, Error, Result};

const NAME: &str = "04-user-net";

/// Run a command as root of a new user namespace, in a new network namespace.
///
/// Root inside (uid and gid 0) is mapped to the invoking user outside, or to nobody (65534)
/// when you run this as root. setgroups is denied before gid_map is written, as the kernel
/// requires. The network namespace holds only lo, which is brought up.
///
/// This chapter works without root where the distribution allows unprivileged user
/// namespaces. Without a command it shows the IDs inside and outside, the owner on the host
/// of a file made inside, and the network devices inside and on the host.
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment, override_usage = "04-user-net [--veth] [-- CMD ARGS...]")]
struct Args {
    /// Also connect the namespace to the host with a veth pair: wb04host (10.204.0.1/30)
    /// on the host, eth0 (10.204.0.2/30) inside. Needs root on the host. Without a
    /// command, shows `ip addr` on each side and a ping across.
    #[arg(long)]
    veth: bool,
    /// The command to run inside, and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    // ANCHOR: run
    let namespaces = Namespaces::of(&[Namespace::User, Namespace::Net]);
    let maps = IdMaps::root_as_caller();
    if args.veth {
        return with_veth(namespaces, &maps, &args.command);
    }
    if args.command.is_empty() {
        return demonstrate(namespaces, &maps);
    }
    idmap::drop_supplementary_groups()?;
    let mut child = process::spawn(namespaces, || {
        idmap::become_root()?;
        net::loopback_up()?;
        process::exec_command(&args.command)
    })?;
    maps.write_for(child.pid())?;
    child.release()?;
    Ok(child.wait()?.into())
    // ANCHOR_END: run
}

fn demonstrate(namespaces: Namespaces, maps: &IdMaps) -> Result<ExitCode> {
    let scratch = tempfile::Builder::new()
        .prefix("workbook-04-")
        .tempdir()
        .map_err(|e| Error::io("creating a scratch dir", &std::env::temp_dir(), e))?;
    // Anyone may create files in it, as in /tmp: the child is an unprivileged ID on the
    // host.
    std::fs::set_permissions(
        scratch.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .map_err(|e| Error::io("opening the scratch dir to all", scratch.path(), e))?;
    let file = scratch.path().join("made-inside");
    println!(
        "On the host, this tool runs as uid {}, gid {}.",
        getuid(),
        getgid()
    );
    println!(
        "On the host, the network devices are: {}.",
        net::interfaces()?.join(", ")
    );
    idmap::drop_supplementary_groups()?;
    let mut child = process::spawn(namespaces, || {
        idmap::become_root()?;
        net::loopback_up()?;
        let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        println!(
            "Inside, getuid() = {}, getgid() = {}; uid_map reads: {}",
            getuid(),
            getgid(),
            uid_map.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        std::fs::write(&file, "hello\n")
            .map_err(|e| Error::io("creating a file", &file, e))?;
        println!(
            "Inside, root created {}, owned by uid {} as seen from inside.",
            file.file_name().unwrap_or_default().to_string_lossy(),
            std::fs::metadata(&file).map(|m| m.uid()).unwrap_or(0)
        );
        println!(
            "Inside, the network devices are: {}.",
            net::interfaces()?.join(", ")
        );
        Ok(0)
    })?;
    maps.write_for(child.pid())?;
    child.release()?;
    let status = child.wait()?;
    let owner = std::fs::metadata(&file)
        .map_err(|e| Error::io("reading the file's owner", &file, e))?;
    println!(
        "On the host, that file is owned by uid {}, gid {}.",
        owner.uid(),
        owner.gid()
    );
    println!();
    println!("Root inside is uid {} outside: powerful in its own namespaces, nobody special on the host.", maps.uids[0].outside);
    Ok(status.into())
}

/// The two ends of chapter 4's veth pair: a /30 holds exactly these two host addresses.
const HOST_END: &str = "wb04host";
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 204, 0, 1);
const INSIDE_IP: Ipv4Addr = Ipv4Addr::new(10, 204, 0, 2);
const PREFIX: u8 = 30;

/// What `--veth` runs inside when no command is given: `ip addr` and a ping to the host's end.
const VETH_DEMO: &str = "echo 'Inside, ip -4 -brief addr shows (name, address):'; ip -4 -brief addr | awk '{print \"  \" $1, $3}'; \
echo 'Inside, busybox ping -c 1 10.204.0.1:'; busybox ping -c 1 -W 2 10.204.0.1 | grep -E 'transmitted' | sed 's/^/  /'";

/// Runs `command` (or the demonstration) in the new namespaces, joined to the host by a
/// veth pair that the parent creates and addresses before it releases the child.
fn with_veth(
    namespaces: Namespaces,
    maps: &IdMaps,
    command: &[String],
) -> Result<ExitCode> {
    workbook::privilege::require_cap_sys_admin(
        NAME,
        "to create a veth pair on the host (--veth); without it, the namespace has only lo",
    )?;
    let demo = command.is_empty();
    let argv: Vec<String> = if demo {
        vec!["sh".into(), "-c".into(), VETH_DEMO.into()]
    } else {
        command.to_vec()
    };
    // ANCHOR: veth_child
    idmap::drop_supplementary_groups()?;
    let mut child = process::spawn(namespaces, || {
        idmap::become_root()?;
        net::loopback_up()?;
        process::exec_command(&argv)
    })?;
    maps.write_for(child.pid())?;
    // Dropped last: the pair is deleted however this function ends.
    let _veth = net::veth::pair(child.pid(), HOST_END, HOST_IP, INSIDE_IP, PREFIX)?;
    // ANCHOR_END: veth_child
    if demo {
        println!("A veth pair: {HOST_END} ({HOST_IP}/{PREFIX}) on the host, eth0 ({INSIDE_IP}/{PREFIX}) in the new namespace.");
        println!(
            "On the host, ip -4 -brief addr show dev {HOST_END} shows (name, address):"
        );
        show_host_side()?;
    }
    child.release()?;
    Ok(child.wait()?.into())
}

/// Prints what `ip` shows of the host's end (iproute2 only reads here; the pair was made over
/// netlink by the library).
fn show_host_side() -> Result<()> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-brief", "addr", "show", "dev", HOST_END])
        .output()
        .map_err(|e| Error::io("running ip (iproute2)", std::path::Path::new("ip"), e))?;
    // Name and address; the state column (UP, LOWERLAYERDOWN…) settles a moment later.
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [name, _state, address, ..] = words.as_slice() {
            println!("  {name} {address}");
        }
    }
    Ok(())
}
