//! Chapter 3: a mount table and a root filesystem of its own.
//!
//! A new mount namespace starts as a copy of the host's mount table. We make it private (so
//! nothing leaks back), mount the kernel's filesystems under the new root, and pivot_root
//! into it. Afterwards the host's `/` is not hidden: it is gone from the namespace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use workbook::namespace::{Namespace, Namespaces};
use workbook::rootfs::escape::{try_chroot_escape, DirId};
use workbook::rootfs::{self, RootSetup, RootSwitch};
use workbook::{cli, privilege, process, Error, Result};

const NAME: &str = "03-mount-rootfs";

/// Run a command in its own mount namespace, with a root filesystem of its own.
///
/// The child gets new mount and PID namespaces; it makes mount propagation private, bind-mounts
/// the root filesystem onto itself, mounts a fresh /proc, a minimal /dev, a read-only /sys and a
/// tmpfs /tmp under it, and calls pivot_root. The host's mount table is left as it was.
///
/// Without a command it shows the new root, its mount table, and where the classic chroot
/// escape ends. The default root filesystem is built from the host's static busybox
/// (package busybox-static) and cached.
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment, override_usage = "03-mount-rootfs [--rootfs DIR] [--chroot-only] [-- CMD ARGS...]")]
struct Args {
    /// Use this directory (an extracted root filesystem) as the root instead of the busybox one.
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    /// Use chroot(2) instead of pivot_root(2), to compare: the escape then reaches the host.
    #[arg(long)]
    chroot_only: bool,
    /// The command to run inside, and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let switch = if args.chroot_only {
        RootSwitch::ChrootOnly
    } else {
        RootSwitch::PivotRoot
    };
    // Check what the user gave before anything else; build the default root only once we
    // know we may use it.
    let given = args
        .rootfs
        .as_deref()
        .map(|dir| RootSetup::new(dir, switch))
        .transpose()?;
    privilege::require_cap_sys_admin(
        NAME,
        "to create a mount namespace and call pivot_root",
    )?;
    let setup = match given {
        Some(setup) => setup,
        None => RootSetup::new(&rootfs::default_rootfs()?, switch)?,
    };
    let namespaces = Namespaces::of(&[Namespace::Mount, Namespace::Pid]);
    if args.command.is_empty() {
        return demonstrate(namespaces, &setup);
    }
    let program = &args.command[0];
    if process::find_in_path(&setup.root, program, process::DEFAULT_PATH).is_none() {
        return Err(Error::Command {
            program: program.clone(),
            reason: format!("not found in the root filesystem {}", setup.root.display()),
            code: 127,
        });
    }
    let child = process::spawn(namespaces, || {
        rootfs::enter(&setup)?;
        std::env::set_var("PATH", process::DEFAULT_PATH);
        process::exec_command(&args.command)
    })?;
    Ok(child.wait()?.into())
}

fn demonstrate(namespaces: Namespaces, setup: &RootSetup) -> Result<ExitCode> {
    let host_root = DirId::of(Path::new("/"))?;
    let host_mounts = mount_points()?.len();
    println!("Root filesystem: {}", setup.root.display());
    println!(
        "The host's mount table has {host_mounts} entries; its / is device {}, inode {}.",
        host_root.dev, host_root.ino
    );
    let child = process::spawn(namespaces, || {
        rootfs::enter(setup)?;
        show_inside(setup.switch, host_root)
    })?;
    let status = child.wait()?;
    let after = mount_points()?.len();
    println!();
    println!("Back on the host: {after} mount entries, as before. Nothing leaked.");
    Ok(status.into())
}

fn show_inside(switch: RootSwitch, host_root: DirId) -> Result<u8> {
    let how = match switch {
        RootSwitch::PivotRoot => "pivot_root",
        RootSwitch::ChrootOnly => "chroot",
    };
    let mut entries: Vec<String> = std::fs::read_dir("/")
        .map_err(|e| Error::io("listing /", Path::new("/"), e))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    entries.sort();
    println!("Inside, after {how}, / holds: {}", entries.join(" "));
    let mounts = mount_points()?;
    println!("Inside, the mount table has {} entries:", mounts.len());
    for (point, fstype) in mounts.iter().take(12) {
        println!("  {point:<12} {fstype}");
    }
    if mounts.len() > 12 {
        println!(
            "  … and {} more (the host's, still there)",
            mounts.len() - 12
        );
    }
    println!(
        "The chroot escape: chroot into a subdir, chdir(\"..\") 256 times, chroot(\".\")."
    );
    let reached = try_chroot_escape(Path::new("/tmp/decoy"))?;
    println!("It ended at device {}, inode {}:", reached.dev, reached.ino);
    if reached == host_root {
        println!("  the HOST's root. chroot alone does not confine a root process.");
    } else {
        println!(
            "  the container's own root. With the old root detached, no path leads out."
        );
    }
    Ok(0)
}

/// (mount point, filesystem type) of each entry of this process's mount table.
fn mount_points() -> Result<Vec<(String, String)>> {
    let path = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io("reading the mount table", path, e))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let fstype = right.split(' ').next()?;
            Some((point.to_string(), fstype.to_string()))
        })
        .collect())
}
