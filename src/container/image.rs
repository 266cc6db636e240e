//! What a container starts from: the default busybox root, a directory, or an image.

use std::path::{Path, PathBuf};

use crate::image::config::ImageConfig;
use crate::image::store::{Image, ImageStore};
use crate::{rootfs, Error, Result};

/// Where the container's root filesystem comes from, as the user said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The busybox root filesystem the workbook builds from the host's static busybox.
    Busybox,
    /// An extracted root filesystem (`--rootfs DIR`), used read-only as the one lower
    /// layer.
    Dir(PathBuf),
    /// An image: a name or id in the store, or a `docker save` / OCI archive to import.
    Image(String),
}

/// The layers and the configuration of the container's image.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Read-only layers, bottom first.
    pub lowers: Vec<PathBuf>,
    /// Default command, environment and working directory.
    pub config: ImageConfig,
    /// How to name it in messages.
    pub label: String,
}

/// Turns a source into layers, importing an archive into the store if needed.
pub fn resolve(source: &Source) -> Result<Resolved> {
    match source {
        Source::Busybox => Ok(Resolved {
            lowers: vec![rootfs::default_rootfs()?],
            config: shell_config(),
            label: "busybox".into(),
        }),
        Source::Dir(dir) => {
            let setup = rootfs::RootSetup::new(dir, rootfs::RootSwitch::PivotRoot)?;
            Ok(Resolved {
                lowers: vec![setup.root],
                config: shell_config(),
                label: dir.display().to_string(),
            })
        }
        Source::Image(reference) => {
            let store = ImageStore::open(ImageStore::default_dir()?)?;
            let image = if Path::new(reference).is_file() {
                store.import_archive(Path::new(reference))?
            } else {
                find(&store, reference)?
            };
            Ok(Resolved {
                lowers: image.layers(),
                config: image.config().clone(),
                label: reference.clone(),
            })
        }
    }
}

fn shell_config() -> ImageConfig {
    ImageConfig {
        entrypoint: vec![],
        cmd: vec!["/bin/sh".into()],
        env: vec![format!("PATH={}", crate::process::DEFAULT_PATH)],
        workdir: None,
    }
}

/// Finds an image in the store by tag (`name:tag`, or `name` for `name:latest`), by id, or
/// by an id prefix of at least 4 hex digits.
pub fn find(store: &ImageStore, reference: &str) -> Result<Image> {
    let wanted_tag = if reference.contains(':') && !reference.starts_with("sha256:") {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    };
    let images = list(store)?;
    let hex = reference.trim_start_matches("sha256:");
    let by_id = |i: &Image| {
        let id = i.id.trim_start_matches("sha256:");
        hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) && id.starts_with(hex)
    };
    images
        .into_iter()
        .find(|i| i.tags.contains(&wanted_tag) || by_id(i))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "unknown image {reference:?}: it is neither an image in the store {} (see \
                 `07-full-container images`) nor an archive file",
                store.root().display()
            ))
        })
}

/// Every image recorded in the store.
pub fn list(store: &ImageStore) -> Result<Vec<Image>> {
    let dir = store.root().join("images");
    let mut images = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(images),
        Err(e) => return Err(Error::io("listing the images", &dir, e)),
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(hex) = name.strip_suffix(".json") {
            images.push(store.image(&format!("sha256:{hex}"))?);
        }
    }
    images.sort_by(|a, b| a.tags.cmp(&b.tags));
    Ok(images)
}
