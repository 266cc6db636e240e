//! The default root filesystem: one static busybox binary and a symlink per applet.
//!
//! A root filesystem is only a directory tree. The smallest useful one holds a statically
//! linked busybox (static, because there is no C library in the tree for a dynamic one to
//! load) and a link named after each program it can be: `/bin/sh`, `/bin/ls`, … . We build
//! it once from the host's busybox, cache it, and reuse it.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// Where busybox-static installs it on Debian and Ubuntu, and other usual places.
const CANDIDATES: [&str; 4] = [
    "/bin/busybox",
    "/usr/bin/busybox",
    "/usr/sbin/busybox",
    "/sbin/busybox",
];

/// The workbook's cache: `$WORKBOOK_CACHE`, else `$XDG_CACHE_HOME/container-workbook`, else
/// `~/.cache/container-workbook`, else the system temp dir.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WORKBOOK_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("container-workbook")
}

/// Finds a statically linked busybox on the host: `$WORKBOOK_BUSYBOX`, or a usual place.
pub fn find_static_busybox() -> Result<PathBuf> {
    let given = std::env::var_os("WORKBOOK_BUSYBOX").map(PathBuf::from);
    let mut dynamic = None;
    for path in given
        .into_iter()
        .chain(CANDIDATES.iter().map(PathBuf::from))
    {
        match is_static_elf(&path) {
            Some(true) => return Ok(path),
            Some(false) => dynamic = Some(path),
            None => {}
        }
    }
    let found = dynamic
        .map(|p| {
            format!(
                " ({} is dynamically linked and cannot run without the host's C library)",
                p.display()
            )
        })
        .unwrap_or_default();
    Err(Error::Unsupported(format!(
        "no statically linked busybox was found{found}: install the package busybox-static \
         (apt-get install busybox-static), or give a root filesystem with --rootfs DIR"
    )))
}

/// Whether `path` is a 64-bit ELF executable without an interpreter (PT_INTERP), i.e. one
/// that needs no dynamic loader. `None` when it is not a readable ELF file.
fn is_static_elf(path: &Path) -> Option<bool> {
    let mut header = [0u8; 64];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 {
        return None;
    }
    let word = |at: usize, len: usize| {
        let bytes = &header[at..at + len];
        if header[5] == 1 {
            bytes.iter().rev().fold(0u64, |v, b| v << 8 | *b as u64)
        } else {
            bytes.iter().fold(0u64, |v, b| v << 8 | *b as u64)
        }
    };
    let (phoff, phentsize, phnum) = (word(0x20, 8), word(0x36, 2), word(0x38, 2));
    // Read only the program headers, not the whole (2 MB) binary.
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    let mut file = std::fs::File::open(path).ok()?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(phoff)).ok()?;
    file.read_exact(&mut table).ok()?;
    const PT_INTERP: u64 = 3;
    for i in 0..phnum {
        let at = (i * phentsize) as usize;
        let kind = table.get(at..at + 4)?;
        let kind = if header[5] == 1 {
            u32::from_le_bytes(kind.try_into().ok()?)
        } else {
            u32::from_be_bytes(kind.try_into().ok()?)
        };
        if kind as u64 == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

/// The cached busybox root filesystem, built on first use.
///
/// The cache key is the busybox binary's identity (device, inode, size, change time), so an
/// upgraded busybox gives a fresh rootfs. The tree is built in a temp dir next to its final
/// place and renamed into it, so a half-built rootfs is never used, even by two runs at
/// once.
pub fn default_rootfs() -> Result<PathBuf> {
    let busybox = find_static_busybox()?;
    let meta = std::fs::metadata(&busybox)
        .map_err(|e| Error::io("reading busybox's metadata", &busybox, e))?;
    let key = format!(
        "busybox-{:x}-{:x}-{:x}-{:x}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.ctime()
    );
    let parent = cache_dir().join("rootfs");
    let target = parent.join(key);
    if target.join("bin/sh").symlink_metadata().is_ok() {
        return Ok(target);
    }
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io("creating the rootfs cache", &parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io("creating a staging dir", &parent, e))?;
    populate(staging.path(), &busybox)?;
    match std::fs::rename(staging.path(), &target) {
        Ok(()) => {
            // The staging dir now is the target: keep it.
            let _ = staging.keep();
        }
        // Another run finished first: use its tree, ours is removed with `staging`.
        Err(_) if target.join("bin/sh").symlink_metadata().is_ok() => {}
        Err(e) => return Err(Error::io("moving the built rootfs into place", &target, e)),
    }
    Ok(target)
}

/// Lays out the tree in `root`: directories, busybox, a link per applet, a few files in
/// /etc.
fn populate(root: &Path, busybox: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mk = |dir: &str, mode: u32| -> Result<()> {
        let path = root.join(dir);
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io("creating a directory", &path, e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("setting a directory's mode", &path, e))
    };
    for dir in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "home", "mnt",
        "run", "var/tmp",
    ] {
        mk(dir, 0o755)?;
    }
    mk("root", 0o700)?;
    mk("tmp", 0o1777)?;
    let inside = root.join("bin/busybox");
    std::fs::copy(busybox, &inside)
        .map_err(|e| Error::io("copying busybox", &inside, e))?;
    for applet in list_applets(busybox)? {
        let link = root.join(&applet);
        if applet == "bin/busybox" || link.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(dir) = link.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io("creating a directory", dir, e))?;
        }
        std::os::unix::fs::symlink("/bin/busybox", &link)
            .map_err(|e| Error::io("linking an applet", &link, e))?;
    }
    for (name, text) in [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"),
        ("etc/hostname", "workbook\n"),
    ] {
        let path = root.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::io("writing a file of the rootfs", &path, e))?;
    }
    Ok(())
}

/// `busybox --list-full` names each applet with its usual path, e.g. `usr/bin/env`.
fn list_applets(busybox: &Path) -> Result<Vec<String>> {
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| Error::io("running busybox --list-full", busybox, e))?;
    if !out.status.success() {
        return Err(Error::Unsupported(format!(
            "{} --list-full failed; a busybox of version 1.20 or later is needed",
            busybox.display()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty() && !l.contains(".."))
        .collect())
}
