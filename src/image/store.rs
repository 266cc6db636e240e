//! The image store: unpacked layers by digest, shared between images, and image records.
//!
//! ```text
//! $WORKBOOK_STORE  (default: $XDG_CACHE_HOME or ~/.cache, then /container-workbook/images)
//!   layers/sha256/<diff_id hex>/   one unpacked layer, read-only once there
//!   images/<config hex>.json       an image: its layers bottom first, its config
//!   tmp/                           imports in progress (same filesystem, so rename works)
//! ```
//!
//! A layer is named by the digest of its uncompressed tar (its DiffID), so two images sharing a
//! base layer share one directory, and importing it again copies nothing. Each import unpacks
//! into a fresh directory under `tmp/` and renames it into place only when the digest checks
//! out: rename is atomic, so a crash or an error never leaves a half-imported layer under
//! `layers/`. The store is mode 0700: a layer may hold setuid files and device nodes that are
//! meant for the container, not for the host's other users.

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::archive::{self, check_digest, Outer};
use super::config::ImageConfig;
use super::tar_import::{decompressed, digest_of, unpack_layer};
use crate::{Error, Result};

/// A directory of layers and images.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

/// An image in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `sha256:HEX` of its config.
    pub id: String,
    /// Names it was saved under (`busybox:latest`).
    pub tags: Vec<String>,
    /// DiffIDs of its layers, bottom first.
    pub diff_ids: Vec<String>,
    config: ImageConfig,
    #[serde(skip)]
    store: PathBuf,
}

impl Image {
    /// The unpacked layer directories, bottom first: what [`crate::overlay::Layers::new`] takes.
    pub fn layers(&self) -> Vec<PathBuf> {
        let store = ImageStore {
            root: self.store.clone(),
        };
        self.diff_ids
            .iter()
            .map(|d| store.layer_dir(d).unwrap_or_default())
            .collect()
    }

    /// How the image says to run it.
    pub fn config(&self) -> &ImageConfig {
        &self.config
    }
}

impl ImageStore {
    /// Where the store lives: `$WORKBOOK_STORE`, else a per-user cache directory.
    pub fn default_dir() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os("WORKBOOK_STORE").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .ok_or_else(|| {
                Error::Invalid("neither WORKBOOK_STORE, XDG_CACHE_HOME nor HOME is set: say where the image store goes".into())
            })?;
        Ok(cache.join("container-workbook/images"))
    }

    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<ImageStore> {
        let root = root.into();
        for dir in [
            root.join("layers/sha256"),
            root.join("images"),
            root.join("tmp"),
        ] {
            fs::create_dir_all(&dir).map_err(|e| Error::io("making the image store", &dir, e))?;
        }
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("restricting the image store to its owner", &root, e))?;
        Ok(ImageStore { root })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the layer with this DiffID (whether or not it is there).
    pub fn layer_dir(&self, diff_id: &str) -> Result<PathBuf> {
        Ok(self.root.join("layers/sha256").join(check_digest(diff_id)?))
    }

    /// Whether the layer with this DiffID is in the store.
    pub fn has_layer(&self, diff_id: &str) -> bool {
        self.layer_dir(diff_id).is_ok_and(|d| d.is_dir())
    }

    /// The DiffIDs of every layer in the store.
    pub fn layer_ids(&self) -> Result<Vec<String>> {
        let dir = self.root.join("layers/sha256");
        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io("listing the layers", &dir, e))? {
            let entry = entry.map_err(|e| Error::io("listing the layers", &dir, e))?;
            ids.push(format!("sha256:{}", entry.file_name().to_string_lossy()));
        }
        ids.sort();
        Ok(ids)
    }

    // ANCHOR: add_layer
    /// Unpacks a layer tar (plain or gzip) into the store, unless a layer with `expected`
    /// DiffID is already there. Checks the DiffID (and the blob digest, when given) before the
    /// layer becomes visible. Returns the DiffID.
    pub fn add_layer(
        &self,
        reader: impl Read,
        name: &str,
        expected: Option<&str>,
        blob_digest: Option<&str>,
    ) -> Result<String> {
        if let Some(diff_id) = expected {
            if self.has_layer(diff_id) {
                return Ok(diff_id.to_string()); // shared: nothing to copy
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(self.root.join("tmp"))
            .map_err(|e| Error::io("making a scratch directory", &self.root.join("tmp"), e))?;
        // tempdir makes 0700; a layer's root without a `./` entry should read as a normal `/`.
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("preparing the scratch directory", tmp.path(), e))?;
        // Any error below drops `tmp`, which removes the half-unpacked layer.
        let unpacked = unpack_layer(reader, tmp.path(), name)?;
        for (what, want, got) in [
            ("DiffID", expected, &unpacked.diff_id),
            ("blob digest", blob_digest, &unpacked.blob_digest),
        ] {
            if let Some(want) = want {
                if want != got {
                    return Err(Error::Invalid(format!(
                        "digest mismatch: the layer {name} should have {what} {want} but has {got}; \
                         the archive is damaged or was altered"
                    )));
                }
            }
        }
        let dest = self.layer_dir(&unpacked.diff_id)?;
        if dest.exists() {
            return Ok(unpacked.diff_id); // imported meanwhile, or it had no expected digest
        }
        let scratch = tmp.keep();
        fs::rename(&scratch, &dest).map_err(|e| {
            let _ = fs::remove_dir_all(&scratch);
            Error::io("moving the unpacked layer into the store", &dest, e)
        })?;
        Ok(unpacked.diff_id)
    }
    // ANCHOR_END: add_layer

    /// Imports one layer tar file (plain or gzip). The file is hashed first, so a layer
    /// already in the store is not unpacked again.
    pub fn import_layer(&self, path: &Path) -> Result<String> {
        let open = || {
            File::open(path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::Invalid(format!(
                    "the layer archive {} does not exist",
                    path.display()
                )),
                _ => Error::io("opening the layer archive", path, e),
            })
        };
        let name = path.display().to_string();
        let diff_id = decompressed(BufReader::new(open()?))
            .and_then(digest_of)
            .map_err(|e| {
                Error::Invalid(format!("the layer {name} is corrupt or truncated ({e})"))
            })?;
        self.add_layer(open()?, &name, Some(&diff_id), None)
    }

    // ANCHOR: import_archive
    /// Imports a whole image from a `docker save` archive or an OCI image layout archive.
    pub fn import_archive(&self, path: &Path) -> Result<Image> {
        let scratch = tempfile::tempdir_in(self.root.join("tmp"))
            .map_err(|e| Error::io("making a scratch directory", &self.root.join("tmp"), e))?;
        let outer = Outer::open(path, scratch.path())?;
        let plan = archive::plan(&outer)?;
        // Every layer must be there before the first is unpacked: a manifest naming a missing
        // layer is refused without touching the store.
        for layer in &plan.layers {
            if !self.has_layer(&layer.diff_id) {
                outer.reader(&layer.member, "the layer")?;
            }
        }
        for layer in &plan.layers {
            let what = format!("{} in {}", layer.member, path.display());
            if self.has_layer(&layer.diff_id) {
                continue;
            }
            let reader = outer.reader(&layer.member, "the layer")?;
            self.add_layer(
                reader,
                &what,
                Some(&layer.diff_id),
                layer.blob_digest.as_deref(),
            )?;
        }
        self.save_image(
            &plan.id,
            plan.tags,
            plan.layers.iter().map(|l| l.diff_id.clone()).collect(),
            plan.config,
        )
    }
    // ANCHOR_END: import_archive

    /// Records an image made of layers already in the store.
    pub fn save_image(
        &self,
        id: &str,
        tags: Vec<String>,
        diff_ids: Vec<String>,
        config: ImageConfig,
    ) -> Result<Image> {
        let hex = check_digest(id)?;
        for diff_id in &diff_ids {
            if !self.has_layer(diff_id) {
                return Err(Error::Invalid(format!(
                    "the layer {diff_id} is not in the store {}",
                    self.root.display()
                )));
            }
        }
        let image = Image {
            id: id.to_string(),
            tags,
            diff_ids,
            config,
            store: self.root.clone(),
        };
        let json = serde_json::to_vec_pretty(&image)
            .map_err(|e| Error::Invalid(format!("cannot record the image: {e}")))?;
        let path = self.root.join("images").join(format!("{hex}.json"));
        let tmp = self.root.join("tmp").join(format!("{hex}.json"));
        fs::write(&tmp, json).map_err(|e| Error::io("writing the image record", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("writing the image record", &path, e))?;
        Ok(image)
    }

    /// Reads the image with this id back from the store.
    pub fn image(&self, id: &str) -> Result<Image> {
        let path = self
            .root
            .join("images")
            .join(format!("{}.json", check_digest(id)?));
        let bytes = fs::read(&path).map_err(|e| Error::io("reading the image record", &path, e))?;
        let mut image: Image = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Invalid(format!(
                "the image record {} is damaged: {e}",
                path.display()
            ))
        })?;
        image.store = self.root.clone();
        Ok(image)
    }
}
