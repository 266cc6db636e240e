//! Layer and image import, unprivileged: hostile archives are refused without writing
//! outside the layer, bad archives leave nothing in the store, layers are shared by digest.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::symlink_attack::HostTarget;
use workbook::image::build::{write_docker_save, write_oci_layout, LayerTar};
use workbook::image::tar_import::unpack_layer;
use workbook::image::{ImageConfig, ImageStore};

/// A tar with one entry whose name (and link target) are written raw into the header, so
/// the test can say what the `tar` crate's builder refuses to write: `..` and absolute
/// paths.
fn raw_entry(kind: tar::EntryType, name: &str, link: &str, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(data.len() as u64);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    builder.into_inner().unwrap()
}

/// Concatenates tars (dropping the end marker of all but the last).
fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let body = if i + 1 < parts.len() {
            &p[..p.len() - 1024]
        } else {
            &p[..]
        };
        out.extend_from_slice(body);
    }
    out
}

/// A scratch dir with `outside/` (what must stay untouched) and `layer/` (the import
/// target).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::create_dir(dir.path().join("layer")).unwrap();
        std::fs::write(dir.path().join("outside/secret"), b"host secret\n").unwrap();
        Scratch { dir }
    }
    fn layer(&self) -> PathBuf {
        self.dir.path().join("layer")
    }
    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
    /// Every path under `outside/`, to show nothing was added there.
    fn outside_listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.outside())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn refused(tar: &[u8], scratch: &Scratch, words: &str) {
    let err = unpack_layer(tar, &scratch.layer(), "hostile")
        .unwrap_err()
        .to_string();
    assert!(err.contains(words), "expected {words:?} in: {err}");
    assert_eq!(
        scratch.outside_listing(),
        ["secret"],
        "something was written outside the layer"
    );
    assert_eq!(
        std::fs::read(scratch.outside().join("secret")).unwrap(),
        b"host secret\n"
    );
}

#[test]
fn an_entry_with_dotdot_is_refused() {
    let s = Scratch::new();
    let tar = raw_entry(tar::EntryType::Regular, "../outside/escape", "", b"x");
    refused(&tar, &s, "climbs out of the layer");
}

#[test]
fn an_absolute_entry_is_refused() {
    let s = Scratch::new();
    let target = format!("{}/passwd", s.outside().display());
    let tar = raw_entry(
        tar::EntryType::Regular,
        &target,
        "",
        b"root::0:0::/:/bin/sh\n",
    );
    refused(&tar, &s, "is an absolute path");
    assert!(!s.outside().join("passwd").exists());
}

#[test]
fn writing_through_a_planted_symlink_is_refused() {
    let s = Scratch::new();
    let outside = s.outside().display().to_string();
    for link_target in [outside.as_str(), "../outside"] {
        let s = Scratch::new();
        let tar = concat(&[
            raw_entry(tar::EntryType::Symlink, "escape", link_target, b""),
            raw_entry(tar::EntryType::Regular, "escape/pwned", "", b"pwned"),
        ]);
        refused(&tar, &s, "goes through the symlink escape");
        // The symlink itself is kept as it was: the container resolves it in its own root.
        assert_eq!(
            std::fs::read_link(s.layer().join("escape")).unwrap(),
            Path::new(link_target)
        );
    }
}

#[test]
fn a_hardlink_to_outside_is_refused() {
    for target in [
        "../outside/secret".to_string(),
        format!("{}/outside/secret", Scratch::new().dir.path().display()),
    ] {
        let s = Scratch::new();
        let tar = raw_entry(tar::EntryType::Link, "linked", &target, b"");
        refused(&tar, &s, "hard link target");
        assert!(!s.layer().join("linked").exists());
        // The kernel's link count proves no new name was made for the host file.
        assert_eq!(
            std::fs::metadata(s.outside().join("secret"))
                .unwrap()
                .nlink(),
            1
        );
    }
}

#[test]
fn a_hardlink_through_a_symlink_is_refused() {
    let s = Scratch::new();
    let tar = concat(&[
        raw_entry(tar::EntryType::Symlink, "dir", "../outside", b""),
        raw_entry(tar::EntryType::Link, "linked", "dir/secret", b""),
    ]);
    refused(&tar, &s, "goes through the symlink dir");
    assert_eq!(
        std::fs::metadata(s.outside().join("secret"))
            .unwrap()
            .nlink(),
        1
    );
}

#[test]
fn an_entry_setting_overlay_xattrs_is_refused() {
    let s = Scratch::new();
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_pax_extensions([(
            "SCHILY.xattr.trusted.overlay.redirect",
            b"/etc".as_slice(),
        )])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(0);
    builder.append_data(&mut h, "d", std::io::empty()).unwrap();
    refused(
        &builder.into_inner().unwrap(),
        &s,
        "overlay's own attribute",
    );
}

#[test]
fn modes_symlinks_and_hardlinks_are_kept() {
    let s = Scratch::new();
    let mut tar = LayerTar::new();
    tar.dir("bin", 0o755)
        .unwrap()
        .file("bin/tool", 0o4755, b"#!/bin/sh\n")
        .unwrap()
        .hardlink("bin/tool2", "bin/tool")
        .unwrap()
        .symlink("bin/sh", "/bin/busybox")
        .unwrap()
        .dir("ro", 0o555)
        .unwrap()
        .file("ro/inside", 0o600, b"made before ro/ became read-only\n")
        .unwrap();
    let report =
        unpack_layer(tar.finish().unwrap().as_slice(), &s.layer(), "good").unwrap();
    assert_eq!(report.entries, 6);
    let meta = |p: &str| std::fs::symlink_metadata(s.layer().join(p)).unwrap();
    assert_eq!(meta("bin/tool").permissions().mode() & 0o7777, 0o4755);
    assert_eq!(meta("bin/tool").ino(), meta("bin/tool2").ino());
    assert_eq!(meta("bin/tool").nlink(), 2);
    assert_eq!(
        std::fs::read_link(s.layer().join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert_eq!(meta("ro").permissions().mode() & 0o7777, 0o555);
    assert_eq!(meta("ro/inside").permissions().mode() & 0o7777, 0o600);
}

#[test]
fn a_gzip_layer_has_the_digest_of_its_uncompressed_tar() {
    let s = Scratch::new();
    let mut tar = LayerTar::new();
    tar.file("f", 0o644, b"same content\n").unwrap();
    let plain = tar.finish().unwrap();
    let gz = workbook::image::build::gzip(&plain).unwrap();
    let a = unpack_layer(plain.as_slice(), &s.layer(), "plain").unwrap();
    let other = s.dir.path().join("layer2");
    std::fs::create_dir(&other).unwrap();
    let b = unpack_layer(gz.as_slice(), &other, "gzip").unwrap();
    assert_eq!(a.diff_id, b.diff_id);
    assert_ne!(b.diff_id, b.blob_digest);
    assert_eq!(std::fs::read(other.join("f")).unwrap(), b"same content\n");
}

// --- the store
// -------------------------------------------------------------------------------

fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = LayerTar::new();
    for (path, content) in files {
        tar.file(path, 0o644, content.as_bytes()).unwrap();
    }
    tar.finish().unwrap()
}

fn config() -> ImageConfig {
    ImageConfig {
        entrypoint: vec![],
        cmd: vec!["cat".into(), "/msg".into()],
        env: vec!["GREETING=hi".into()],
        workdir: Some("/srv".into()),
    }
}

/// The store is empty of layers, images and scratch files: nothing half-imported.
fn assert_store_empty(store: &ImageStore) {
    for sub in ["layers/sha256", "images", "tmp"] {
        let left: Vec<_> = std::fs::read_dir(store.root().join(sub)).unwrap().collect();
        assert!(left.is_empty(), "{sub} holds {left:?}");
    }
}

#[test]
fn a_docker_save_archive_imports_its_layers_in_order_with_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let layers = [
        layer(&[("msg", "bottom\n"), ("a", "a\n")]),
        layer(&[("msg", "top\n")]),
    ];
    let archive = dir.path().join("image.tar");
    let id = write_docker_save(&archive, "test:1", &layers, &config()).unwrap();
    let image = store.import_archive(&archive).unwrap();
    assert_eq!(image.id, id);
    assert_eq!(image.tags, ["test:1"]);
    assert_eq!(image.config(), &config());
    let dirs = image.layers();
    assert_eq!(std::fs::read(dirs[0].join("msg")).unwrap(), b"bottom\n");
    assert_eq!(std::fs::read(dirs[1].join("msg")).unwrap(), b"top\n");
    assert_eq!(store.image(&id).unwrap().layers(), dirs);
    let left: Vec<_> = std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .collect();
    assert!(left.is_empty());
}

#[test]
fn an_oci_layout_with_gzip_layers_imports() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let layers = [layer(&[("msg", "bottom\n")]), layer(&[("msg", "top\n")])];
    let archive = dir.path().join("oci.tar");
    let id = write_oci_layout(&archive, "oci:1", &layers, &config()).unwrap();
    let image = store.import_archive(&archive).unwrap();
    assert_eq!(
        (image.id.as_str(), image.tags.as_slice()),
        (id.as_str(), ["oci:1".to_string()].as_slice())
    );
    assert_eq!(
        std::fs::read(image.layers()[1].join("msg")).unwrap(),
        b"top\n"
    );
}

#[test]
fn a_layer_shared_by_two_images_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let base = layer(&[("base", "shared\n")]);
    let (a, b) = (dir.path().join("a.tar"), dir.path().join("b.tar"));
    write_docker_save(
        &a,
        "a:1",
        &[base.clone(), layer(&[("app", "a\n")])],
        &config(),
    )
    .unwrap();
    write_oci_layout(&b, "b:1", &[base, layer(&[("app", "b\n")])], &config()).unwrap();
    let first = store.import_archive(&a).unwrap();
    let base_file = first.layers()[0].join("base");
    let inode = std::fs::metadata(&base_file).unwrap().ino();
    let second = store.import_archive(&b).unwrap();
    assert_eq!(first.layers()[0], second.layers()[0]);
    assert_eq!(store.layer_ids().unwrap().len(), 3, "base + two app layers");
    // Same inode: the shared layer was not unpacked again over the first copy.
    assert_eq!(std::fs::metadata(&base_file).unwrap().ino(), inode);
    // Importing the same archive again adds nothing.
    store.import_archive(&a).unwrap();
    assert_eq!(store.layer_ids().unwrap().len(), 3);
}

#[test]
fn a_plain_layer_tar_imported_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let path = dir.path().join("layer.tar.gz");
    std::fs::write(
        &path,
        workbook::image::build::gzip(&layer(&[("f", "x\n")])).unwrap(),
    )
    .unwrap();
    let first = store.import_layer(&path).unwrap();
    let second = store.import_layer(&path).unwrap();
    assert_eq!(first, second);
    assert_eq!(store.layer_ids().unwrap(), [first]);
}

// --- bad input: one sentence, nothing left in the store
// -------------------------------------

fn import_err(build: impl FnOnce(&Path)) -> (String, ImageStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let archive = dir.path().join("image.tar");
    build(&archive);
    let err = store.import_archive(&archive).unwrap_err().to_string();
    assert!(!err.contains('\n'), "one sentence: {err}");
    (err, store, dir)
}

#[test]
fn a_missing_archive_is_one_sentence() {
    let (err, store, _d) = import_err(|_| {});
    assert!(err.contains("does not exist"), "{err}");
    assert_store_empty(&store);
}

#[test]
fn a_corrupt_archive_is_refused() {
    let (err, store, _d) =
        import_err(|p| std::fs::write(p, b"this is not a tar archive at all").unwrap());
    assert!(err.contains("is not an image archive"), "{err}");
    assert_store_empty(&store);
}

#[test]
fn a_truncated_archive_is_refused_and_leaves_no_layer() {
    let (err, store, _d) = import_err(|p| {
        let big: String = "0123456789".repeat(20_000);
        write_docker_save(
            p,
            "t:1",
            &[layer(&[("small", "s\n")]), layer(&[("big", &big)])],
            &config(),
        )
        .unwrap();
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(
        err.contains("corrupt or truncated") || err.contains("not in the archive"),
        "{err}"
    );
    assert_store_empty(&store);
}

#[test]
fn a_manifest_naming_a_missing_layer_is_refused() {
    let (err, store, _d) = import_err(|p| {
        let mut outer = tar::Builder::new(std::fs::File::create(p).unwrap());
        let good = layer(&[("f", "x\n")]);
        let config = workbook::image::build::config_json(&[good], &config());
        let manifest = serde_json::json!([{"Config": "c.json", "RepoTags": [], "Layers": ["nowhere/layer.tar"]}]);
        for (name, bytes) in [
            ("c.json", config),
            ("manifest.json", manifest.to_string().into_bytes()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            outer.append_data(&mut h, name, bytes.as_slice()).unwrap();
        }
        outer.into_inner().unwrap();
    });
    assert!(
        err.contains("nowhere/layer.tar, which is not in the archive"),
        "{err}"
    );
    assert_store_empty(&store);
}

#[test]
fn a_layer_whose_digest_does_not_match_is_refused_and_not_kept() {
    let (err, store, _d) = import_err(|p| {
        // Build the archive, then swap the layer's content for another of the same length.
        let honest = layer(&[("f", "honest\n")]);
        let forged = layer(&[("f", "forged\n")]);
        write_docker_save(p, "t:1", std::slice::from_ref(&honest), &config()).unwrap();
        let mut bytes = std::fs::read(p).unwrap();
        let at = bytes
            .windows(honest.len())
            .position(|w| w == honest.as_slice())
            .unwrap();
        bytes[at..at + forged.len()].copy_from_slice(&forged);
        std::fs::write(p, bytes).unwrap();
    });
    assert!(err.contains("digest mismatch"), "{err}");
    assert_store_empty(&store);
}

#[test]
fn a_hostile_digest_never_becomes_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let err = store
        .layer_dir("sha256:../../../etc")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a sha256 digest"), "{err}");
}

#[test]
fn a_hostile_layer_in_an_archive_leaves_nothing_in_the_store() {
    let (err, store, dir) = import_err(|p| {
        let hostile = concat(&[
            raw_entry(tar::EntryType::Regular, "ok", "", b"fine"),
            raw_entry(tar::EntryType::Regular, "../../../escaped", "", b"x"),
        ]);
        write_docker_save(p, "t:1", &[hostile], &config()).unwrap();
    });
    assert!(err.contains("climbs out of the layer"), "{err}");
    assert_store_empty(&store);
    assert!(!dir.path().join("escaped").exists());
}

#[test]
fn the_store_is_private_to_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let mode = std::fs::metadata(store.root())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn a_gzipped_docker_save_archive_imports() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    let plain = dir.path().join("image.tar");
    write_docker_save(&plain, "gz:1", &[layer(&[("msg", "zipped\n")])], &config()).unwrap();
    let gz = dir.path().join("image.tar.gz");
    std::fs::write(
        &gz,
        workbook::image::build::gzip(&std::fs::read(&plain).unwrap()).unwrap(),
    )
    .unwrap();
    let image = store.import_archive(&gz).unwrap();
    assert_eq!(
        std::fs::read(image.layers()[0].join("msg")).unwrap(),
        b"zipped\n"
    );
    let left: Vec<_> = std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .collect();
    assert!(
        left.is_empty(),
        "the inflated scratch copy is gone: {left:?}"
    );
}

// --- issue 11: late metadata through a symlink, tar bombs, killed imports
// ------------------

#[test]
fn import_never_changes_a_host_dir_through_a_symlink() {
    let s = Scratch::new();
    let target = HostTarget::make(s.outside().join("host-dir"));
    unpack_layer(target.hostile_layer().as_slice(), &s.layer(), "hostile").unwrap();
    target.assert_unchanged();
    // As the OCI layer spec says, the later entry wins: `d` is now the symlink, stored as
    // is.
    assert_eq!(std::fs::read_link(s.layer().join("d")).unwrap(), target.dir);
}

#[test]
fn an_archive_replacing_a_dir_with_a_symlink_changes_nothing_on_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let s = Scratch::new();
    let target = HostTarget::make(s.outside().join("host-dir"));
    let archive = dir.path().join("image.tar");
    write_docker_save(&archive, "t:1", &[target.hostile_layer()], &config()).unwrap();
    let store = ImageStore::open(dir.path().join("store")).unwrap();
    store.import_archive(&archive).unwrap();
    target.assert_unchanged();
}

fn one_file_layer(bytes: usize) -> Vec<u8> {
    let mut tar = LayerTar::new();
    tar.file("zeros", 0o644, &vec![0u8; bytes]).unwrap();
    tar.finish().unwrap()
}

#[test]
fn a_tar_bomb_over_the_limit_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store"))
        .unwrap()
        .with_max_unpacked(1 << 20);
    // 4 MiB of zeros: a few KiB as gzip in the OCI layout, 4 MiB once unpacked.
    let archive = dir.path().join("bomb.tar");
    write_oci_layout(&archive, "bomb:1", &[one_file_layer(4 << 20)], &config()).unwrap();
    assert!(std::fs::metadata(&archive).unwrap().len() < 256 << 10);
    let err = store.import_archive(&archive).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "the image archive {} unpacks to more than 1 MiB, the limit on unpacked size; \
             refusing it as a possible tar bomb (set WORKBOOK_MAX_UNPACKED to allow more)",
            archive.display()
        )
    );
    assert_store_empty(&store);
}

#[test]
fn the_limit_counts_every_layer_of_an_archive_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store"))
        .unwrap()
        .with_max_unpacked(1 << 20);
    // Three layers of 600 KiB: each is under the limit, the image is not.
    let layers: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let mut tar = LayerTar::new();
            tar.file(&format!("f{i}"), 0o644, &vec![i as u8; 600 << 10])
                .unwrap();
            tar.finish().unwrap()
        })
        .collect();
    let archive = dir.path().join("split-bomb.tar");
    write_docker_save(&archive, "bomb:2", &layers, &config()).unwrap();
    let err = store.import_archive(&archive).unwrap_err().to_string();
    assert!(err.contains("unpacks to more than 1 MiB"), "{err}");
    assert_store_empty(&store);
}

#[test]
fn a_gzip_archive_that_inflates_past_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("store"))
        .unwrap()
        .with_max_unpacked(1 << 20);
    let plain = dir.path().join("image.tar");
    write_docker_save(&plain, "bomb:3", &[one_file_layer(4 << 20)], &config()).unwrap();
    let gz = dir.path().join("image.tar.gz");
    std::fs::write(
        &gz,
        workbook::image::build::gzip(&std::fs::read(&plain).unwrap()).unwrap(),
    )
    .unwrap();
    let err = store.import_archive(&gz).unwrap_err().to_string();
    assert!(err.contains("unpacks to more than 1 MiB"), "{err}");
    assert_store_empty(&store);
}

#[test]
fn a_header_claiming_a_huge_size_is_refused_before_anything_is_written() {
    let s = Scratch::new();
    // A header that says 1 TiB and then ends: the limit is checked against the header
    // first.
    let mut tar = raw_entry(tar::EntryType::Regular, "huge", "", b"");
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(&tar[..512]);
    header.set_size(1 << 40);
    header.set_cksum();
    tar[..512].copy_from_slice(header.as_bytes());
    let err = workbook::image::tar_import::unpack_layer_limited(
        tar.as_slice(),
        &s.layer(),
        "huge",
        &mut workbook::image::budget::Budget::new(1 << 30),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unpacks to more than 1 GiB"), "{err}");
    assert!(!s.layer().join("huge").exists());
}

#[test]
fn many_empty_files_count_against_the_limit() {
    let s = Scratch::new();
    let mut tar = LayerTar::new();
    for i in 0..5000 {
        tar.file(&format!("f{i}"), 0o644, b"").unwrap();
    }
    // 5,000 empty files hold no bytes, but each costs a header block (and an inode).
    let err = workbook::image::tar_import::unpack_layer_limited(
        tar.finish().unwrap().as_slice(),
        &s.layer(),
        "many",
        &mut workbook::image::budget::Budget::new(1 << 20),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unpacks to more than 1 MiB"), "{err}");
}

#[test]
fn a_file_that_is_not_an_archive_is_one_sentence_without_its_content() {
    let (err, store, _d) = import_err(|p| {
        // Longer than one tar block, as /etc/shadow is: the first "header" is its first
        // line.
        let mut shadow =
            String::from("root:$6$SECRETSALT$SECRETHASHSECRETHASH:19000:0:99999:7:::\n");
        for user in 0..40 {
            shadow.push_str(&format!("user{user}:*:19000:0:99999:7:::\n"));
        }
        std::fs::write(p, shadow).unwrap()
    });
    assert!(err.contains("is not an image archive"), "{err}");
    assert!(err.contains("docker save"), "{err}");
    assert!(!err.contains("SECRET") && !err.contains("root:"), "{err}");
    assert_store_empty(&store);
}
