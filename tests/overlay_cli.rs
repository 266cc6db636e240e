//! The 06-overlayfs binary: its help, its demonstration (the book shows that output),
//! running a command from an imported image, and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::symlink_attack::HostTarget;
use serial_test::serial;
use workbook::image::build::{write_docker_save, LayerTar};
use workbook::image::ImageConfig;
use workbook::mount::is_mounted;

const BIN: &str = env!("CARGO_BIN_EXE_06-overlayfs");

/// Runs the binary with its temp dirs and its image store inside `scratch`, so the test can
/// check that nothing is left there afterwards.
fn run(scratch: &Path, args: &[&str]) -> Output {
    let tmp = scratch.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    Command::new(BIN)
        .args(args)
        .env("TMPDIR", &tmp)
        .env("WORKBOOK_STORE", scratch.join("store"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// The binary's scratch dirs are gone and none of its mounts is visible to us.
fn assert_nothing_left(scratch: &Path) {
    let left: Vec<PathBuf> = std::fs::read_dir(scratch.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&*scratch.to_string_lossy()),
        "a mount stayed: {mountinfo}"
    );
}

fn store_layers(scratch: &Path) -> usize {
    std::fs::read_dir(scratch.join("store/layers/sha256"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn help_explains_the_layer_order() {
    let out = common::run_bin(BIN, &["--help"]);
    assert!(out.status.success());
    insta::assert_snapshot!("help-06-overlayfs", common::stdout(&out));
}

#[test]
fn a_missing_layer_dir_is_one_sentence() {
    let scratch = tempfile::tempdir().unwrap();
    let out = run(
        scratch.path(),
        &["--layer", "/nonexistent/layer", "--", "true"],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("06-overlayfs: the layer dir /nonexistent/layer does not exist"),
        "{err}"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn the_demonstration_shows_each_paths_layer_as_the_kernel_resolves_it() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let out = run(scratch.path(), &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    // The rule computed from the layer dirs and the kernel's answer agree on every path.
    for (path, rule, kernel) in [
        ("etc/motd ", "layer 1", "inode of layer 1"),
        ("etc/hostname ", "layer 0", "inode of layer 0"),
        (
            "srv/www/old.html ",
            "deleted (whiteout in layer 2)",
            "no such file",
        ),
        (
            "srv/cache/a ",
            "hidden (opaque dir in layer 2)",
            "no such file",
        ),
        ("srv/cache/fresh ", "layer 2", "inode of layer 2"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(path))
            .unwrap_or_else(|| panic!("no {path} in {text}"));
        assert!(line.contains(rule) && line.ends_with(kernel), "{line}");
    }
    assert!(
        text.contains("layer 1 etc/motd is unchanged: yes, byte for byte"),
        "{text}"
    );
    assert!(
        text.contains("upper etc/hostname is a whiteout (character device 0/0): true"),
        "{text}"
    );
    assert_nothing_left(scratch.path());
    let scratch_line = text.lines().next().unwrap();
    let dir = scratch_line.trim_start_matches("Scratch directory: ");
    let redacted = text.replace(dir, "/tmp/workbook-overlay-XXXXXX");
    common::assert_book_output("06-overlayfs-demo", &redacted);
}

/// A `docker save` archive with the busybox rootfs as its base layer and a layer on top.
fn busybox_image(dir: &Path) -> PathBuf {
    let busybox = workbook::rootfs::default_rootfs().unwrap();
    let base = LayerTar::from_dir(&busybox).unwrap();
    let mut app = LayerTar::new();
    app.dir("srv", 0o755)
        .unwrap()
        .file("srv/message", 0o644, b"from the top layer\n")
        .unwrap()
        .dir("bin", 0o755)
        .unwrap()
        .whiteout("bin/vi")
        .unwrap();
    let config = ImageConfig {
        entrypoint: vec![],
        cmd: vec!["cat".into(), "message".into()],
        env: vec!["GREETING=hello".into()],
        workdir: Some("/srv".into()),
    };
    let archive = dir.join("image.tar");
    write_docker_save(
        &archive,
        "workbook/test:1",
        &[base, app.finish().unwrap()],
        &config,
    )
    .unwrap();
    archive
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn an_imported_docker_save_archive_runs_its_default_command_from_its_layers() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let archive = busybox_image(scratch.path());
    let out = run(scratch.path(), &["--image", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), "from the top layer\n");
    assert_eq!(store_layers(scratch.path()), 2);
    assert_nothing_left(scratch.path());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_command_sees_the_image_env_and_whiteouts_and_its_exit_status_is_kept() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let archive = busybox_image(scratch.path());
    let script = "echo $GREETING; pwd; test -e /bin/vi && echo vi-visible; test -e /bin/ls && echo ls-visible; exit 7";
    let out = run(
        scratch.path(),
        &[
            "--image",
            archive.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), "hello\n/srv\nls-visible\n");
    // The second run found both layers in the store: nothing was unpacked twice.
    let again = run(
        scratch.path(),
        &["--image", archive.to_str().unwrap(), "--", "true"],
    );
    assert!(again.status.success());
    assert_eq!(store_layers(scratch.path()), 2);
    assert_nothing_left(scratch.path());
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_command_never_changes_a_given_layer_dir() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let busybox = workbook::rootfs::default_rootfs().unwrap();
    let top = scratch.path().join("top");
    std::fs::create_dir_all(top.join("etc")).unwrap();
    std::fs::write(top.join("etc/motd"), "top\n").unwrap();
    let listing = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let before = (listing(&busybox), listing(&top));
    let out = run(
        scratch.path(),
        &[
            "--layer",
            busybox.to_str().unwrap(),
            "--layer",
            top.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "cat /etc/motd; echo changed > /etc/motd; rm /bin/ls; touch /new",
        ],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(
        common::stdout(&out),
        "top\n",
        "the last --layer is the topmost"
    );
    assert_eq!(
        std::fs::read_to_string(top.join("etc/motd")).unwrap(),
        "top\n"
    );
    assert!(busybox.join("bin/ls").exists());
    assert_eq!((listing(&busybox), listing(&top)), before);
    assert_nothing_left(scratch.path());
}

#[rstest::rstest]
#[case::corrupt("corrupt")]
#[case::truncated("truncated")]
#[case::digest_mismatch("digest")]
#[case::missing_layer("missing")]
#[serial]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn a_bad_archive_is_one_sentence_and_leaves_no_layer(#[case] damage: &str) {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let archive = busybox_image(scratch.path());
    let mut bytes = std::fs::read(&archive).unwrap();
    let expect = match damage {
        "corrupt" => {
            bytes = b"not an archive".to_vec();
            "is not an image archive"
        }
        "truncated" => {
            bytes.truncate(bytes.len() * 2 / 3);
            "corrupt or truncated"
        }
        "digest" => {
            // Flip one byte inside the busybox binary of the base layer (file data, not a
            // header).
            let elf = bytes.windows(4).position(|w| w == b"\x7fELF").unwrap();
            bytes[elf + 1000] ^= 0xff;
            "digest mismatch"
        }
        _ => {
            // The last mention is in manifest.json, the last member.
            let layer = bytes.windows(10).rposition(|w| w == b"/layer.tar").unwrap();
            bytes[layer + 1] = b'X'; // the manifest now names a member that is not there
            "which is not in the archive"
        }
    };
    std::fs::write(&archive, bytes).unwrap();
    let out = run(
        scratch.path(),
        &["--image", archive.to_str().unwrap(), "--", "true"],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(expect), "{err}");
    assert_eq!(
        store_layers(scratch.path()),
        0,
        "a half-imported layer stayed"
    );
    let tmp: Vec<_> = std::fs::read_dir(scratch.path().join("store/tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
    assert_nothing_left(scratch.path());
    assert!(!is_mounted(&scratch.path().join("merged")).unwrap());
}

// --- issue 11: hostile and huge images, killed imports -----------------------------------

/// A `docker save` archive: the busybox base layer and `top` on it.
fn image_with(dir: &Path, name: &str, top: Vec<u8>) -> PathBuf {
    let busybox = workbook::rootfs::default_rootfs().unwrap();
    let base = LayerTar::from_dir(&busybox).unwrap();
    let config = ImageConfig {
        entrypoint: vec![],
        cmd: vec!["true".into()],
        env: vec![],
        workdir: None,
    };
    let archive = dir.join(name);
    write_docker_save(&archive, "workbook/hostile:1", &[base, top], &config).unwrap();
    archive
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn import_never_changes_a_host_dir_through_a_symlink() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let target = HostTarget::make(scratch.path().join("host-dir"));
    let archive = image_with(scratch.path(), "hostile.tar", target.hostile_layer());
    let out = run(
        scratch.path(),
        &["--image", archive.to_str().unwrap(), "--", "true"],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    target.assert_unchanged();
    assert_nothing_left(scratch.path());
}

fn zeros_layer(bytes: usize) -> Vec<u8> {
    let mut tar = LayerTar::new();
    tar.file("zeros", 0o644, &vec![0u8; bytes]).unwrap();
    tar.finish().unwrap()
}

fn store_tmp(scratch: &Path) -> Vec<String> {
    std::fs::read_dir(scratch.join("store/tmp"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_tar_bomb_over_workbook_max_unpacked_is_refused_in_one_sentence() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    // 8 MiB of zeros: about 8 KiB as gzip in an OCI layout.
    let archive = scratch.path().join("bomb.tar");
    workbook::image::build::write_oci_layout(
        &archive,
        "bomb:1",
        &[zeros_layer(8 << 20)],
        &ImageConfig::default(),
    )
    .unwrap();
    assert!(std::fs::metadata(&archive).unwrap().len() < 256 << 10);
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = Command::new(BIN)
        .args(["--image", archive.to_str().unwrap(), "--", "true"])
        .env("TMPDIR", &tmp)
        .env("WORKBOOK_STORE", scratch.path().join("store"))
        .env("WORKBOOK_MAX_UNPACKED", "1M")
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert_eq!(
        err,
        format!(
            "06-overlayfs: the image archive {} unpacks to more than 1 MiB, the limit on \
             unpacked size; refusing it as a possible tar bomb (set WORKBOOK_MAX_UNPACKED to \
             allow more)\n",
            archive.display()
        )
    );
    assert_eq!(store_layers(scratch.path()), 0);
    assert!(store_tmp(scratch.path()).is_empty());
    assert_nothing_left(scratch.path());
}

/// Starts importing `archive`, and SIGKILLs the importer once its layer scratch dir exists.
fn kill_during_import(scratch: &Path, archive: &Path) {
    use nix::sys::signal::{kill, Signal};
    let tmp = scratch.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(BIN)
        .args(["--image", archive.to_str().unwrap(), "--", "true"])
        .env("TMPDIR", &tmp)
        .env("WORKBOOK_STORE", scratch.join("store"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !store_tmp(scratch).iter().any(|n| n.starts_with("layer-")) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no layer-* dir appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert!(
        store_tmp(scratch).iter().any(|n| n.starts_with("layer-")),
        "SIGKILL leaves the half-unpacked layer"
    );
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
#[serial]
fn a_killed_import_is_removed_by_the_next_import_and_by_cleanup() {
    if !privileged!() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    // A plain 48 MiB layer: hashing and writing it take long enough to be killed halfway.
    let archive = image_with(scratch.path(), "big.tar", zeros_layer(48 << 20));
    kill_during_import(scratch.path(), &archive);
    let again = run(
        scratch.path(),
        &["--image", archive.to_str().unwrap(), "--", "true"],
    );
    assert!(again.status.success(), "{}", common::stderr(&again));
    assert_eq!(store_tmp(scratch.path()), Vec::<String>::new());
    // The same kill, then `cleanup` (with the runtime's own state in scratch dirs).
    std::fs::remove_dir_all(scratch.path().join("store")).unwrap();
    kill_during_import(scratch.path(), &archive);
    let out = Command::new(env!("CARGO_BIN_EXE_07-full-container"))
        .arg("cleanup")
        .env("WORKBOOK_STORE", scratch.path().join("store"))
        .env("WORKBOOK_STATE", scratch.path().join("state"))
        .env("WORKBOOK_DATA", scratch.path().join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("half-done image import"),
        "{}",
        common::stdout(&out)
    );
    assert_eq!(store_tmp(scratch.path()), Vec::<String>::new());
    assert_nothing_left(scratch.path());
}
