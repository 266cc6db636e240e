//! Chapter 6: images as layers.
//!
//! An image is a stack of read-only directories; overlayfs shows them as one tree and sends
//! every change to a writable layer on top. This binary stacks the layers it is given (or
//! an imported image), and either shows where each path comes from or runs a command in the
//! merged tree as its root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use workbook::image::{demo, ImageConfig, ImageStore};
use workbook::namespace::{Namespace, Namespaces};
use workbook::overlay::provenance::{
    all_paths, expected_source, kernel_source, KernelView, Source,
};
use workbook::overlay::whiteout::is_whiteout;
use workbook::overlay::{Layers, Overlay};
use workbook::rootfs::{self, RootSetup, RootSwitch};
use workbook::{cli, mount, privilege, process, Error, Result};

const NAME: &str = "06-overlayfs";

/// Stack directories (or an image's layers) with overlayfs and run a command in the union.
///
/// Layers are given bottom first, as a Dockerfile builds them: the last --layer is the topmost.
/// They are used read-only; every change goes to a fresh, temporary upper layer, so running a
/// command never changes a given directory.
///
/// Without a command and without layers it demonstrates overlayfs: three layers (a base, one
/// that overwrites a file, one that deletes a file and makes a directory opaque), which layer
/// each path of the merged view comes from, and copy-up on write. Without a command but with
/// layers it prints that provenance table for them; an --image then runs its default command.
/// With a command and neither, it runs it in a demonstration image whose base layer is the
/// busybox root filesystem.
///
/// Images are imported into the store at $WORKBOOK_STORE (default:
/// $XDG_CACHE_HOME/container-workbook/images or ~/.cache/container-workbook/images).
#[derive(Parser, Debug)]
#[command(name = NAME, version, verbatim_doc_comment)]
struct Args {
    /// A read-only layer directory; repeat it, bottom layer first.
    #[arg(long = "layer", value_name = "DIR")]
    layers: Vec<PathBuf>,
    /// A `docker save` or OCI image layout archive (tar, or tar.gz) to import; its layers go
    /// below the --layer ones.
    #[arg(long, value_name = "ARCHIVE")]
    image: Option<PathBuf>,
    /// The command to run inside, and its arguments (after `--`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<String>,
}

fn main() -> ExitCode {
    cli::main(NAME, run)
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    for dir in &args.layers {
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "the layer dir {} does not exist or is not a directory",
                dir.display()
            )));
        }
    }
    privilege::require_cap_sys_admin(NAME, "to mount an overlay filesystem")?;
    // Everything this process mounts stays in a mount namespace of its own: if it is
    // killed, the kernel takes the mounts down with the namespace, and the host never sees
    // them.
    // ANCHOR: private_ns
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::sys("unshare", "creating a mount namespace", e))?;
    mount::make_private()?;
    // ANCHOR_END: private_ns
    let mut lowers = Vec::new();
    let mut config = ImageConfig::default();
    if let Some(archive) = &args.image {
        let store = ImageStore::open(ImageStore::default_dir()?)?;
        let image = store.import_archive(archive)?;
        lowers.extend(image.layers());
        config = image.config().clone();
    }
    lowers.extend(args.layers.iter().cloned());
    let mut command = args.command.clone();
    if command.is_empty() && args.image.is_some() {
        command = config.command();
    }
    match (lowers.is_empty(), command.is_empty()) {
        (true, true) => demonstrate(),
        (false, true) => show_stack(&lowers),
        (true, false) => {
            let store = ImageStore::open(ImageStore::default_dir()?)?;
            let image = demo::demo_image(&store, &rootfs::default_rootfs()?)?;
            run_in(&image.layers(), image.config(), &command)
        }
        (false, false) => run_in(&lowers, &config, &command),
    }
}

/// A scratch directory with the upper, work and merged dirs of one mount.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("workbook-overlay-")
            .tempdir()
            .map_err(|e| Error::io("making a scratch dir", &std::env::temp_dir(), e))?;
        for sub in ["upper", "work", "merged"] {
            let path = dir.path().join(sub);
            std::fs::create_dir(&path)
                .map_err(|e| Error::io("making a scratch dir", &path, e))?;
        }
        Ok(Scratch { dir })
    }
    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }
}

fn run_in(
    lowers: &[PathBuf],
    config: &ImageConfig,
    command: &[String],
) -> Result<ExitCode> {
    let scratch = Scratch::new()?;
    let layers = Layers::new(lowers.to_vec(), scratch.path("upper"), scratch.path("work"))?;
    let merged = Overlay::mount(&layers, &scratch.path("merged"))?;
    let setup = RootSetup::new(merged.target(), RootSwitch::PivotRoot)?;
    let program = &command[0];
    if process::find_in_path(&setup.root, program, process::DEFAULT_PATH).is_none() {
        return Err(Error::Command {
            program: program.clone(),
            reason: "not found in the layers".into(),
            code: 127,
        });
    }
    let child =
        process::spawn(Namespaces::of(&[Namespace::Mount, Namespace::Pid]), || {
            rootfs::enter(&setup)?;
            std::env::set_var("PATH", process::DEFAULT_PATH);
            for pair in &config.env {
                if let Some((name, value)) = pair.split_once('=') {
                    std::env::set_var(name, value);
                }
            }
            let workdir = config.workdir.as_deref().unwrap_or("/");
            std::env::set_current_dir(workdir).map_err(|e| {
                Error::io("entering the image's working dir", Path::new(workdir), e)
            })?;
            process::exec_command(command)
        })?;
    let status = child.wait()?;
    merged.unmount()?; // the guard would do it too; this way a failure is reported
    Ok(status.into())
}

fn demonstrate() -> Result<ExitCode> {
    let scratch = Scratch::new()?;
    println!("Scratch directory: {}", scratch.dir.path().display());
    let layer_root = scratch.path("layers");
    std::fs::create_dir(&layer_root)
        .map_err(|e| Error::io("making a scratch dir", &layer_root, e))?;
    let lowers = demo::unpack_demo_layers(&layer_root)?;
    println!(
        "Three layers, unpacked from OCI layer tars (.wh. files became overlay whiteouts):"
    );
    for (i, dir) in lowers.iter().enumerate() {
        println!("  layer {i}: {}", dir.display());
    }
    let layers = Layers::new(lowers.clone(), scratch.path("upper"), scratch.path("work"))?;
    println!(
        "mount -t overlay overlay -o {} merged",
        layers.mount_options()?
    );
    let merged = Overlay::mount(&layers, &scratch.path("merged"))?;
    let mut stack = lowers.clone();
    stack.push(scratch.path("upper"));
    println!(
        "The upper (writable) layer counts as layer 3 below; it is empty until a write."
    );
    println!();
    print_table(merged.target(), &stack)?;

    println!();
    println!("Writing etc/motd through the merged view (copy-up):");
    let lower_motd = lowers[1].join("etc/motd");
    let before = read(&lower_motd)?;
    append(
        &merged.target().join("etc/motd"),
        b"and a line written in the merged view\n",
    )?;
    println!(
        "  layer 1 etc/motd is unchanged: {}",
        same(&before, &read(&lower_motd)?)
    );
    println!(
        "  upper etc/motd now holds:      {:?}",
        String::from_utf8_lossy(&read(&scratch.path("upper/etc/motd"))?)
    );
    println!("Deleting etc/hostname through the merged view:");
    let gone = merged.target().join("etc/hostname");
    std::fs::remove_file(&gone)
        .map_err(|e| Error::io("deleting through the merged view", &gone, e))?;
    let whiteout = scratch.path("upper/etc/hostname");
    println!(
        "  upper etc/hostname is a whiteout (character device 0/0): {}",
        is_whiteout(&whiteout)
    );
    println!(
        "  layer 0 etc/hostname is still there: {}",
        lowers[0].join("etc/hostname").exists()
    );
    merged.unmount()?;
    Ok(ExitCode::SUCCESS)
}

fn show_stack(lowers: &[PathBuf]) -> Result<ExitCode> {
    let scratch = Scratch::new()?;
    let layers = Layers::new(lowers.to_vec(), scratch.path("upper"), scratch.path("work"))?;
    let merged = Overlay::mount(&layers, &scratch.path("merged"))?;
    for (i, dir) in lowers.iter().enumerate() {
        println!("layer {i}: {}", dir.display());
    }
    print_table(merged.target(), lowers)?;
    merged.unmount()?;
    Ok(ExitCode::SUCCESS)
}

/// For each path of any layer: where the overlay rule says it comes from, and what the kernel
/// shows in the merged view (for files: the layer whose inode the merged file has).
fn print_table(merged: &Path, stack: &[PathBuf]) -> Result<()> {
    println!("{:<20} {:<30} kernel shows", "path", "rule says");
    for rel in all_paths(stack)? {
        let rule = match expected_source(stack, &rel)? {
            Source::Layer(i) => format!("layer {i}"),
            Source::Deleted(i) => format!("deleted (whiteout in layer {i})"),
            Source::Hidden(i) => format!("hidden (opaque dir in layer {i})"),
            Source::Absent => "absent".into(),
        };
        let kernel = match kernel_source(merged, stack, &rel)? {
            KernelView::Absent => "no such file".into(),
            KernelView::Dir => "directory".into(),
            KernelView::File(Some(i)) => format!("inode of layer {i}"),
            KernelView::File(None) => "inode of no layer".into(),
        };
        println!("{:<20} {rule:<30} {kernel}", rel.display());
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io("reading", path, e))
}

fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io("opening for writing", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("writing", path, e))
}

fn same(a: &[u8], b: &[u8]) -> &'static str {
    if a == b {
        "yes, byte for byte"
    } else {
        "NO, it changed"
    }
}
