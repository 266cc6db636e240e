//! Overlay semantics, checked on real mounts (privileged).
//!
//! Each test mounts under its own temp dir, in the test process (overlay semantics need no
//! clone), serialized with `#[serial]` because a mount is global state, and unmounted by
//! the `OverlayMount` guard on every path. Each test ends by reading /proc/self/mountinfo
//! to prove its mount point is gone.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serial_test::serial;
use workbook::image::build::LayerTar;
use workbook::image::tar_import::unpack_layer;
use workbook::mount::is_mounted;
use workbook::overlay::whiteout::{is_opaque, make_opaque, make_whiteout};
use workbook::overlay::xattr;
use workbook::overlay::{Layers, Overlay, OverlayMount};

/// A temp dir with named layer dirs, an upper, a work and a merged dir.
struct Stack {
    dir: tempfile::TempDir,
}

impl Stack {
    fn new(lowers: &[&str]) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        for d in lowers.iter().chain(&["upper", "work", "merged"]) {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Stack { dir }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn write(&self, rel: &str, content: &str) {
        let path = self.p(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    /// Mounts `lowers` (bottom first) with the upper layer.
    fn mount(&self, lowers: &[&str]) -> OverlayMount {
        let layers = Layers::new(
            lowers.iter().map(|l| self.p(l)).collect(),
            self.p("upper"),
            self.p("work"),
        )
        .unwrap_or_else(|e| panic!("the layers were refused: {e}"));
        Overlay::mount(&layers, &self.p("merged"))
            .unwrap_or_else(|e| panic!("mounting the overlay failed: {e}"))
    }
    fn merged(&self, rel: &str) -> PathBuf {
        self.p("merged").join(rel)
    }
    fn read_merged(&self, rel: &str) -> String {
        std::fs::read_to_string(self.merged(rel)).unwrap()
    }
    fn list_merged(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.merged(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
    /// Unmounts and proves, from the kernel's mount table, that nothing stayed mounted.
    fn finish(&self, mount: OverlayMount) {
        mount.unmount().unwrap();
        assert!(!is_mounted(&self.p("merged")).unwrap(), "still mounted");
    }
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_upper_layer_wins_over_every_lower_and_the_topmost_lower_over_the_rest() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0", "l1", "l2"]);
    for layer in ["l0", "l1", "l2", "upper"] {
        s.write(&format!("{layer}/all"), layer);
    }
    for layer in ["l0", "l1", "l2"] {
        s.write(&format!("{layer}/lowers"), layer);
    }
    s.write("l0/bottom-two", "l0");
    s.write("l1/bottom-two", "l1");
    s.write("l0/only-bottom", "l0");
    let m = s.mount(&["l0", "l1", "l2"]);
    // The kernel was told lowerdir=l2:l1:l0: the first listed (l2) must win among lowers.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mountinfo
        .lines()
        .find(|l| l.contains(&*s.p("merged").to_string_lossy()))
        .unwrap();
    let l2_first = format!("lowerdir={}:{}", s.p("l2").display(), s.p("l1").display());
    let told = line
        .split(',')
        .find(|o| o.starts_with("lowerdir="))
        .unwrap_or("no lowerdir")
        .replace(&format!("{}/", s.dir.path().display()), "");
    assert!(
        line.contains(&l2_first),
        "the kernel was told {told} for layers listed bottom first as l0, l1, l2: lowerdir= \
         takes the topmost layer first (l2:l1:l0)"
    );
    for (file, want) in [
        ("all", "upper"),
        ("lowers", "l2"),
        ("bottom-two", "l1"),
        ("only-bottom", "l0"),
    ] {
        let got = s.read_merged(file);
        assert_eq!(
            got, want,
            "merged/{file} shows {got}'s copy, not {want}'s: the upper layer wins, then the \
             topmost lower"
        );
    }
    // And the inode the kernel reports is the winning layer's own file.
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(ino(&s.merged("lowers")), ino(&s.p("l2/lowers")));
    s.finish(m);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_whiteout_hides_the_lower_file() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0", "l1"]);
    s.write("l0/gone", "from l0");
    s.write("l0/kept", "from l0");
    make_whiteout(&s.p("l1/gone")).unwrap();
    let m = s.mount(&["l0", "l1"]);
    let err = std::fs::metadata(s.merged("gone")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(s.list_merged(""), ["kept"]);
    s.finish(m);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_opaque_dir_hides_the_lower_entries_but_shows_its_own() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0", "upper/d"]);
    s.write("l0/d/a", "a");
    s.write("l0/d/b", "b");
    s.write("upper/d/c", "c");
    make_opaque(&s.p("upper/d")).unwrap();
    let m = s.mount(&["l0"]);
    assert_eq!(s.list_merged("d"), ["c"]);
    s.finish(m);
    // The same layers without the xattr merge the directory: the xattr made the difference.
    xattr::set(&s.p("upper/d"), "trusted.overlay.opaque", b"n").unwrap();
    std::fs::remove_dir_all(s.p("work")).unwrap();
    std::fs::create_dir(s.p("work")).unwrap();
    let m = s.mount(&["l0"]);
    assert_eq!(s.list_merged("d"), ["a", "b", "c"]);
    s.finish(m);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_write_copies_up_and_leaves_the_lower_file_byte_identical() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    s.write("l0/etc/conf", "original\n");
    let before = std::fs::read(s.p("l0/etc/conf")).unwrap();
    let before_meta = std::fs::metadata(s.p("l0/etc/conf")).unwrap();
    let m = s.mount(&["l0"]);
    assert!(
        !s.p("upper/etc/conf").exists(),
        "nothing copied up before the write"
    );
    std::fs::write(s.merged("etc/conf"), "changed\n").unwrap();
    assert_eq!(s.read_merged("etc/conf"), "changed\n");
    assert_eq!(std::fs::read(s.p("upper/etc/conf")).unwrap(), b"changed\n");
    s.finish(m);
    assert_eq!(std::fs::read(s.p("l0/etc/conf")).unwrap(), before);
    let after_meta = std::fs::metadata(s.p("l0/etc/conf")).unwrap();
    assert_eq!(
        (after_meta.ino(), after_meta.mtime(), after_meta.len()),
        (before_meta.ino(), before_meta.mtime(), before_meta.len())
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn deleting_a_lower_file_through_the_merged_view_makes_a_whiteout_in_the_upper() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    s.write("l0/victim", "still here below\n");
    let m = s.mount(&["l0"]);
    std::fs::remove_file(s.merged("victim")).unwrap();
    assert!(!s.merged("victim").exists());
    let meta = std::fs::symlink_metadata(s.p("upper/victim")).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "not a character device: {meta:?}"
    );
    assert_eq!(meta.rdev(), 0, "a whiteout is device 0/0");
    s.finish(m);
    assert_eq!(
        std::fs::read_to_string(s.p("l0/victim")).unwrap(),
        "still here below\n"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn removing_and_remaking_a_dir_makes_it_opaque_in_the_upper() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    s.write("l0/d/old", "old");
    let m = s.mount(&["l0"]);
    std::fs::remove_dir_all(s.merged("d")).unwrap();
    std::fs::create_dir(s.merged("d")).unwrap();
    assert!(is_opaque(&s.p("upper/d")).unwrap());
    assert!(s.list_merged("d").is_empty());
    s.finish(m);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn layer_paths_with_colons_and_commas_mount_as_one_layer_each() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["a:b,c", r"back\slash", "up:per,"]);
    s.write("a:b,c/from-colon", "colon");
    s.write(r"back\slash/from-backslash", "backslash");
    let layers = Layers::new(
        vec![s.p("a:b,c"), s.p(r"back\slash")],
        s.p("up:per,"),
        s.p("work"),
    )
    .unwrap_or_else(|e| panic!("the layers were refused: {e}"));
    let m = Overlay::mount(&layers, &s.p("merged")).unwrap_or_else(|e| {
        panic!(
            "mounting layers named a:b,c, back\\slash and up:per, failed ({e}): the kernel \
             splits the options at ',' and lowerdir= at ':', so every path must go through \
             escape()"
        )
    });
    assert_eq!(s.read_merged("from-colon"), "colon");
    assert_eq!(s.read_merged("from-backslash"), "backslash");
    std::fs::write(s.merged("new"), "x").unwrap();
    assert!(
        s.p("up:per,/new").exists(),
        "the write went to the escaped upper dir"
    );
    s.finish(m);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_imported_layer_tar_hides_files_as_its_whiteouts_say() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0", "l1"]);
    s.write("l0/etc/motd", "base");
    s.write("l0/etc/hostname", "base");
    s.write("l0/var/cache/a", "a");
    let mut tar = LayerTar::new();
    tar.dir("etc", 0o755)
        .unwrap()
        .whiteout("etc/motd")
        .unwrap()
        .dir("var", 0o755)
        .unwrap()
        .dir("var/cache", 0o755)
        .unwrap()
        .opaque("var/cache")
        .unwrap()
        .file("var/cache/new", 0o644, b"new")
        .unwrap();
    let report = unpack_layer(tar.finish().unwrap().as_slice(), &s.p("l1"), "test")
        .unwrap_or_else(|e| panic!("importing the layer tar failed: {e}"));
    // The tar form became the overlay form on disk...
    let wh = std::fs::symlink_metadata(s.p("l1/etc/motd"));
    let is_whiteout = wh
        .as_ref()
        .is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == 0);
    assert!(
        is_whiteout,
        "after the import, l1/etc/motd is {}: the tar's etc/.wh.motd must become a 0/0 \
         character device named motd, overlayfs's whiteout",
        match &wh {
            Err(_) => "missing".to_string(),
            Ok(m) if m.file_type().is_char_device() => format!("device {:#x}", m.rdev()),
            Ok(m) if m.is_dir() => "a directory".to_string(),
            Ok(_) => "a plain file".to_string(),
        }
    );
    let opaque = xattr::get(&s.p("l1/var/cache"), "trusted.overlay.opaque")
        .ok()
        .flatten();
    assert_eq!(
        opaque.as_deref(),
        Some(&b"y"[..]),
        "after the import, l1/var/cache has no trusted.overlay.opaque=y: the tar's \
         var/cache/.wh..wh..opq must mark its directory opaque"
    );
    assert_eq!(
        (report.whiteouts, report.opaque_dirs),
        (1, 1),
        "the import counted {} whiteouts and {} opaque dirs, not 1 and 1: count each in the \
         report",
        report.whiteouts,
        report.opaque_dirs
    );
    assert!(!s.p("l1/etc/.wh.motd").exists() && !s.p("l1/var/cache/.wh..wh..opq").exists());
    // ...and the kernel honours it.
    let m = s.mount(&["l0", "l1"]);
    let etc = s.list_merged("etc");
    assert_eq!(
        etc,
        ["hostname"],
        "merged/etc lists {etc:?}: the whiteout must hide the lower motd"
    );
    let cache = s.list_merged("var/cache");
    assert_eq!(
        cache,
        ["new"],
        "merged/var/cache lists {cache:?}: the opaque dir must hide the lower entries"
    );
    s.finish(m);
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn owners_xattrs_and_device_nodes_are_kept_by_import() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    // A trusted.* attribute (root only): tmpfs, where the VM's temp dirs live, takes those
    // on every kernel, but user.* only since Linux 6.6.
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o640);
    h.set_uid(1234);
    h.set_gid(5678);
    h.set_mtime(0);
    h.set_size(2);
    builder
        .append_pax_extensions([(
            "SCHILY.xattr.trusted.workbook-origin",
            b"layer".as_slice(),
        )])
        .unwrap();
    builder.append_data(&mut h, "owned", &b"hi"[..]).unwrap();
    let mut dev = tar::Header::new_gnu();
    dev.set_entry_type(tar::EntryType::Char);
    dev.set_mode(0o666);
    dev.set_uid(0);
    dev.set_gid(0);
    dev.set_mtime(0);
    dev.set_size(0);
    dev.set_device_major(1).unwrap();
    dev.set_device_minor(3).unwrap();
    builder
        .append_data(&mut dev, "null", std::io::empty())
        .unwrap();
    let report =
        unpack_layer(builder.into_inner().unwrap().as_slice(), &s.p("l0"), "t").unwrap();
    assert!(report.skipped_devices.is_empty());
    let meta = std::fs::metadata(s.p("l0/owned")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1234, 5678, 0o640)
    );
    assert_eq!(
        xattr::get(&s.p("l0/owned"), "trusted.workbook-origin")
            .unwrap()
            .as_deref(),
        Some(&b"layer"[..])
    );
    let null = std::fs::symlink_metadata(s.p("l0/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (
            nix::sys::stat::major(null.rdev()),
            nix::sys::stat::minor(null.rdev())
        ),
        (1, 3)
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_full_work_dir_is_refused_before_the_kernel_sees_it() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    s.write("work/leftover", "x");
    let layers = Layers::new(vec![s.p("l0")], s.p("upper"), s.p("work")).unwrap();
    let err = Overlay::mount(&layers, &s.p("merged"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not empty"), "{err}");
    assert!(!is_mounted(&s.p("merged")).unwrap());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_guard_unmounts_when_dropped_even_on_a_panic() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    let merged = s.p("merged");
    let result = std::panic::catch_unwind(|| {
        let _m = s.mount(&["l0"]);
        assert!(is_mounted(&merged).unwrap());
        panic!("a test failing while mounted");
    });
    assert!(result.is_err());
    assert!(!is_mounted(&merged).unwrap(), "the guard did not unmount");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_busy_mount_is_detached_not_left_behind() {
    if !privileged!() {
        return;
    }
    let s = Stack::new(&["l0"]);
    s.write("l0/f", "f");
    let m = s.mount(&["l0"]);
    // An open directory keeps the mount busy: umount(2) alone would fail with EBUSY.
    let busy = std::fs::File::open(s.merged("")).unwrap();
    drop(m);
    assert!(!is_mounted(&s.p("merged")).unwrap());
    drop(busy);
}
