//! What a container starts from: the default busybox root, a directory, or an image.

use std::path::{Path, PathBuf};

use crate::image::image_config::ImageConfig;
use crate::image::store::ImageStore;
use crate::{rootfs, Result};

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
                store.find(reference)?
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
