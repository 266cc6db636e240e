//! Issue 11's first attack, shared by the library test (`image_import`) and the binary's
//! (`overlay_cli`): a layer gives `d/secret` a mode, then replaces `d` with a symlink to a
//! host directory. An importer that applies directory modes late, by path, follows the link
//! and changes the host's files (containerd's CVE-2021-32760 was this bug).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use workbook::image::build::LayerTar;

/// The host's files the attack aims at: `dir` (0711) holding `secret/` (0700), both made by
/// the test in its own temp dir.
pub struct HostTarget {
    pub dir: PathBuf,
}

const DIR_MODE: u32 = 0o711;
const SECRET_MODE: u32 = 0o700;

impl HostTarget {
    pub fn make(dir: PathBuf) -> HostTarget {
        let secret = dir.join("secret");
        std::fs::create_dir_all(&secret).expect("make the host target");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(SECRET_MODE))
            .expect("chmod secret");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(DIR_MODE))
            .expect("chmod dir");
        HostTarget { dir }
    }

    /// `d` (0755), `d/secret` (04777, setuid and world-writable), then `d` -> the target.
    pub fn hostile_layer(&self) -> Vec<u8> {
        let mut tar = LayerTar::new();
        tar.dir("d", 0o755)
            .expect("d")
            .dir("d/secret", 0o4777)
            .expect("d/secret")
            .symlink("d", self.dir.to_str().expect("a UTF-8 temp path"))
            .expect("d -> target");
        tar.finish().expect("finish the layer")
    }

    /// The modes the kernel reports now are the ones the test set.
    pub fn assert_unchanged(&self) {
        assert_eq!(
            mode_of(&self.dir),
            DIR_MODE,
            "the import changed the host dir's mode"
        );
        assert_eq!(
            mode_of(&self.dir.join("secret")),
            SECRET_MODE,
            "the import made a host dir setuid and world-writable"
        );
    }
}

fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("stat the host target")
        .permissions()
        .mode()
        & 0o7777
}
