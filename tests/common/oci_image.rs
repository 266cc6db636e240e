//! A two-layer image as a `docker save` archive, made by the test (no registry): what
//! `podman load` and `ctr images import` read.
//!
//! ```text
//! lower   busybox-static with a link per applet, /etc/msg = "lower", /etc/gone
//! upper   /etc/msg = "upper" (it must win), /etc/.wh.gone (a whiteout: /etc/gone is gone)
//! ```

use std::path::{Path, PathBuf};

use workbook::image::build::{write_docker_save, LayerTar};
use workbook::image::image_config::ImageConfig;

/// The tag the archive carries.
pub const TAG: &str = "localhost/workbook-oci:test";
/// What `cat /etc/msg` prints when the upper layer wins.
pub const UPPER_MSG: &str = "upper layer\n";
/// The lower layer's file that the upper layer whites out.
pub const GONE: &str = "/etc/gone";

/// The archive in a temp dir, removed on drop.
pub struct TestImage {
    dir: tempfile::TempDir,
}

impl TestImage {
    pub fn archive(&self) -> PathBuf {
        self.dir.path().join("image.tar")
    }
}

/// Builds the archive from the host's busybox-static.
pub fn build() -> TestImage {
    let dir = tempfile::tempdir().expect("temp dir for the image");
    let busybox_root = workbook::rootfs::default_rootfs()
        .unwrap_or_else(|e| panic!("the test image needs busybox-static: {e}"));
    let lower_tree = dir.path().join("lower");
    copy_tree(&busybox_root, &lower_tree);
    std::fs::write(lower_tree.join("etc/msg"), "lower layer\n").expect("write /etc/msg");
    std::fs::write(lower_tree.join("etc/gone"), "whited out\n").expect("write /etc/gone");
    let lower = LayerTar::from_dir(&lower_tree).expect("lower layer tar");
    std::fs::remove_dir_all(&lower_tree).expect("remove the lower tree");

    let mut upper = LayerTar::new();
    upper
        .dir("etc", 0o755)
        .and_then(|t| t.file("etc/msg", 0o644, UPPER_MSG.as_bytes()))
        .and_then(|t| t.whiteout("etc/gone"))
        .expect("upper layer entries");
    let upper = upper.finish().expect("upper layer tar");

    let config = ImageConfig {
        cmd: vec!["/bin/sh".into()],
        env: vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".into()],
        ..ImageConfig::default()
    };
    let image = TestImage { dir };
    write_docker_save(&image.archive(), TAG, &[lower, upper], &config)
        .expect("write the docker-save archive");
    image
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp -a");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}
