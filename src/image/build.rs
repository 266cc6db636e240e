//! Building layer tars and image archives in memory: for the demonstration image and for
//! the tests, which need archives whose every byte they control.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;

use super::image_config::ImageConfig;
use super::stream::digest_of;
use super::tar_whiteout::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::{Error, Result};

/// A layer tar under construction. Entries are owned by root, as in an image.
pub struct LayerTar {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for LayerTar {
    fn default() -> Self {
        Self::new()
    }
}

fn bad(e: std::io::Error) -> Error {
    Error::Invalid(format!("cannot build the layer tar: {e}"))
}

impl LayerTar {
    pub fn new() -> Self {
        LayerTar {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header
    }

    /// A directory.
    pub fn dir(&mut self, path: &str, mode: u32) -> Result<&mut Self> {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.builder
            .append_data(&mut h, path, std::io::empty())
            .map_err(bad)?;
        Ok(self)
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, mode: u32, contents: &[u8]) -> Result<&mut Self> {
        let mut h = Self::header(tar::EntryType::Regular, mode, contents.len() as u64);
        self.builder
            .append_data(&mut h, path, contents)
            .map_err(bad)?;
        Ok(self)
    }

    /// A symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) -> Result<&mut Self> {
        self.link(tar::EntryType::Symlink, 0o777, path, target)
    }

    /// A hard link to an earlier entry.
    pub fn hardlink(&mut self, path: &str, target: &str) -> Result<&mut Self> {
        self.link(tar::EntryType::Link, 0o644, path, target)
    }

    fn link(
        &mut self,
        kind: tar::EntryType,
        mode: u32,
        path: &str,
        target: &str,
    ) -> Result<&mut Self> {
        let mut h = Self::header(kind, mode, 0);
        self.builder
            .append_link(&mut h, path, target)
            .map_err(bad)?;
        Ok(self)
    }

    /// Deletes `path` of the lower layers: an empty `.wh.NAME` file.
    pub fn whiteout(&mut self, path: &str) -> Result<&mut Self> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let marker = if dir.is_empty() {
            format!("{WHITEOUT_PREFIX}{name}")
        } else {
            format!("{dir}/{WHITEOUT_PREFIX}{name}")
        };
        self.file(&marker, 0o644, b"")
    }

    /// Hides the lower layers' contents of `dir`: a `.wh..wh..opq` file in it.
    pub fn opaque(&mut self, dir: &str) -> Result<&mut Self> {
        self.file(&format!("{dir}/{OPAQUE_MARKER}"), 0o644, b"")
    }

    /// The tar of a whole directory tree (symlinks stored as symlinks).
    pub fn from_dir(root: &Path) -> Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        builder.append_dir_all(".", root).map_err(bad)?;
        builder.into_inner().map_err(bad)
    }

    /// The finished tar.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.builder.into_inner().map_err(bad)
    }
}

/// Gzip-compresses bytes (as registries and OCI layouts store layers).
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).map_err(bad)?;
    enc.finish().map_err(bad)
}

fn sha(bytes: &[u8]) -> String {
    digest_of(bytes).unwrap_or_default()
}

/// The config JSON of an image made of these (uncompressed) layer tars.
pub fn config_json(layers: &[Vec<u8>], config: &ImageConfig) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let value = json!({
        "architecture": std::env::consts::ARCH,
        "os": "linux",
        "config": {
            "Entrypoint": if config.entrypoint.is_empty() { None } else { Some(&config.entrypoint) },
            "Cmd": config.cmd,
            "Env": config.env,
            "WorkingDir": config.workdir.clone().unwrap_or_default(),
        },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

fn add(outer: &mut tar::Builder<impl Write>, name: &str, bytes: &[u8]) -> Result<()> {
    let mut h = LayerTar::header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
    outer.append_data(&mut h, name, bytes).map_err(bad)
}

/// The start of an image archive of either layout: the config of an image made of
/// `layers` (uncompressed, bottom first), its id (the config's digest), and the archive's
/// outer tar, created at `path`.
fn start_archive(
    path: &Path,
    layers: &[Vec<u8>],
    config: &ImageConfig,
) -> Result<(Vec<u8>, String, tar::Builder<std::fs::File>)> {
    let config = config_json(layers, config);
    let id = sha(&config);
    let file = std::fs::File::create(path)
        .map_err(|e| Error::io("writing the image archive", path, e))?;
    Ok((config, id, tar::Builder::new(file)))
}

/// Writes a `docker save`-style archive (the classic layout: `<id>/layer.tar`,
/// `<hex>.json`, `manifest.json`) holding one image made of `layers`, bottom first. Returns
/// the image id.
pub fn write_docker_save(
    path: &Path,
    tag: &str,
    layers: &[Vec<u8>],
    config: &ImageConfig,
) -> Result<String> {
    let (config, id, mut outer) = start_archive(path, layers, config)?;
    let hex = id.trim_start_matches("sha256:");
    let mut names = Vec::new();
    for layer in layers {
        let name = format!("{}/layer.tar", sha(layer).trim_start_matches("sha256:"));
        add(&mut outer, &name, layer)?;
        names.push(name);
    }
    add(&mut outer, &format!("{hex}.json"), &config)?;
    let manifest =
        json!([{ "Config": format!("{hex}.json"), "RepoTags": [tag], "Layers": names }]);
    add(&mut outer, "manifest.json", manifest.to_string().as_bytes())?;
    outer.into_inner().map_err(bad)?;
    Ok(id)
}

/// Writes an OCI image layout archive with gzip-compressed layers. Returns the image id.
pub fn write_oci_layout(
    path: &Path,
    tag: &str,
    layers: &[Vec<u8>],
    config: &ImageConfig,
) -> Result<String> {
    let blob_name =
        |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let (config, id, mut outer) = start_archive(path, layers, config)?;
    let mut descriptors = Vec::new();
    for layer in layers {
        let blob = gzip(layer)?;
        let digest = sha(&blob);
        add(&mut outer, &blob_name(&digest), &blob)?;
        descriptors.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest, "size": blob.len(),
        }));
    }
    add(&mut outer, &blob_name(&id), &config)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": id, "size": config.len() },
        "layers": descriptors,
    })
    .to_string();
    let manifest_digest = sha(manifest.as_bytes());
    add(
        &mut outer,
        &blob_name(&manifest_digest),
        manifest.as_bytes(),
    )?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag },
        }],
    });
    add(
        &mut outer,
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    add(&mut outer, "index.json", index.to_string().as_bytes())?;
    outer.into_inner().map_err(bad)?;
    Ok(id)
}
