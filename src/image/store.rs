//! The image store: unpacked layers by digest, shared between images, and image records.
//!
//! ```text
//! $WORKBOOK_STORE  (default: $XDG_CACHE_HOME or ~/.cache, then /container-workbook/images)
//!   layers/sha256/<diff_id hex>/   one unpacked layer, read-only once there
//!   images/<config hex>.json       an image: its layers bottom first, its config
//!   tmp/                           imports in progress (same filesystem, so rename works):
//!     layer-<pid>-<start>-XXXXXX/    one layer being unpacked, named after its importer
//! ```
//!
//! A layer is named by the digest of its uncompressed tar (its DiffID), so two images
//! sharing a base layer share one directory, and importing it again copies nothing. Each
//! import unpacks into a fresh directory under `tmp/` and renames it into place only when
//! the digest checks out: rename is atomic, so a crash or an error never leaves a
//! half-imported layer under `layers/`. The store is mode 0700: a layer may hold setuid
//! files and device nodes that are meant for the container, not for the host's other users.
//!
//! An importer killed with SIGKILL cannot remove its scratch directory. Each one's name
//! holds its importer (`<pid>-<start time>`, see [`crate::owner`]), so the next
//! import and `cleanup` remove exactly those whose importer is dead: no guess from age, no
//! lock to leak. All layers of an archive are unpacked before the first is moved into
//! place, so an archive refused halfway (a bad digest, a tar bomb) leaves no layer behind
//! either.

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::archive::{self, check_digest, Outer};
use super::budget::Budget;
use super::image_config::ImageConfig;
use super::stream::{decompressed, digest_of};
use super::tar_import::unpack_layer_limited;
use crate::owner;
use crate::{Error, Result};

/// A directory of layers and images.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
    /// The most one import may unpack, in bytes (see [`Budget`]).
    max_unpacked: u64,
}

/// A layer unpacked into the store's `tmp/`, not yet in place.
struct Staged {
    tmp: tempfile::TempDir,
    diff_id: String,
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
    /// The unpacked layer directories, bottom first: what [`crate::overlay::Layers::new`]
    /// takes.
    pub fn layers(&self) -> Vec<PathBuf> {
        let store = ImageStore {
            root: self.store.clone(),
            max_unpacked: 0,
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

    /// Opens (creating if needed) the store at `root`, removing what killed imports left.
    /// The limit on unpacked size is `$WORKBOOK_MAX_UNPACKED`, else 16 GiB.
    pub fn open(root: impl Into<PathBuf>) -> Result<ImageStore> {
        let root = root.into();
        for dir in [
            root.join("layers/sha256"),
            root.join("images"),
            root.join("tmp"),
        ] {
            fs::create_dir_all(&dir)
                .map_err(|e| Error::io("making the image store", &dir, e))?;
        }
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("restricting the image store to its owner", &root, e))?;
        Self::remove_stale_imports(&root)?;
        Ok(ImageStore {
            root,
            max_unpacked: Budget::limit_from_env()?,
        })
    }

    /// The same store with another limit on what one import may unpack.
    pub fn with_max_unpacked(mut self, bytes: u64) -> Self {
        self.max_unpacked = bytes;
        self
    }

    /// Removes the scratch files and directories in `root/tmp` of importers that are dead
    /// (killed with SIGKILL); returns their names. A store that does not exist has none.
    pub fn remove_stale_imports(root: &Path) -> Result<Vec<String>> {
        let tmp = root.join("tmp");
        let entries = match fs::read_dir(&tmp) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("listing the store's scratch dir", &tmp, e)),
        };
        let mut removed = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            // "<kind>-<pid>-<start>-…": the importer's record, in the name since mkdir.
            let Some(importer) = name
                .split_once('-')
                .and_then(|(_, rest)| owner::owner_in_name(rest))
            else {
                continue; // not ours to judge
            };
            if owner::owner_alive(&importer) {
                continue;
            }
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                owner::remove_tree(&path, "removing a killed import's scratch dir")?;
            } else {
                fs::remove_file(&path)
                    .map_err(|e| Error::io("removing a killed import's file", &path, e))?;
            }
            removed.push(name);
        }
        Ok(removed)
    }

    /// A scratch directory in `tmp/` named after this importer:
    /// `<kind>-<pid>-<start>-XXXXXX`.
    fn scratch_dir(&self, kind: &str) -> Result<tempfile::TempDir> {
        let tmp = self.root.join("tmp");
        tempfile::Builder::new()
            .prefix(&format!("{kind}-{}-", owner::owner_tag()))
            .tempdir_in(&tmp)
            .map_err(|e| Error::io("making a scratch directory", &tmp, e))
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
        for entry in
            fs::read_dir(&dir).map_err(|e| Error::io("listing the layers", &dir, e))?
        {
            let entry = entry.map_err(|e| Error::io("listing the layers", &dir, e))?;
            ids.push(format!("sha256:{}", entry.file_name().to_string_lossy()));
        }
        ids.sort();
        Ok(ids)
    }

    /// Unpacks a layer tar (plain or gzip) into the store, unless a layer with `expected`
    /// DiffID is already there. Checks the DiffID (and the blob digest, when given) before
    /// the layer becomes visible. Returns the DiffID.
    pub fn add_layer(
        &self,
        reader: impl Read,
        name: &str,
        expected: Option<&str>,
        blob_digest: Option<&str>,
    ) -> Result<String> {
        if let Some(diff_id) = expected.filter(|d| self.has_layer(d)) {
            return Ok(diff_id.to_string()); // shared: nothing to copy
        }
        let mut budget = Budget::new(self.max_unpacked);
        let staged = self.stage(reader, name, expected, blob_digest, &mut budget)?;
        self.commit(staged)
    }

    /// Unpacks a layer into a scratch directory and checks its digests. Any error drops the
    /// scratch directory, which removes the half-unpacked layer.
    fn stage(
        &self,
        reader: impl Read,
        name: &str,
        expected: Option<&str>,
        blob_digest: Option<&str>,
        budget: &mut Budget,
    ) -> Result<Staged> {
        let tmp = self.scratch_dir("layer")?;
        // tempdir makes 0700; a layer's root without a `./` entry should read as a plain
        // `/`.
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("preparing the scratch directory", tmp.path(), e))?;
        let unpacked = unpack_layer_limited(reader, tmp.path(), name, budget)?;
        for (what, want, got) in [
            ("DiffID", expected, &unpacked.diff_id),
            ("blob digest", blob_digest, &unpacked.blob_digest),
        ] {
            if want.is_some_and(|want| want != got) {
                return Err(Error::Invalid(format!(
                    "digest mismatch: the layer {name} should have {what} {} but has {got}; \
                     the archive is damaged or was altered",
                    want.unwrap_or_default()
                )));
            }
        }
        Ok(Staged {
            tmp,
            diff_id: unpacked.diff_id,
        })
    }

    /// Moves a staged layer into place (rename is atomic: the layer appears whole or not).
    fn commit(&self, staged: Staged) -> Result<String> {
        let dest = self.layer_dir(&staged.diff_id)?;
        if dest.exists() {
            return Ok(staged.diff_id); // imported meanwhile, or it had no expected digest
        }
        let scratch = staged.tmp.keep();
        fs::rename(&scratch, &dest).map_err(|e| {
            let _ = fs::remove_dir_all(&scratch);
            Error::io("moving the unpacked layer into the store", &dest, e)
        })?;
        Ok(staged.diff_id)
    }

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

    /// Imports a whole image from a `docker save` archive or an OCI image layout archive.
    pub fn import_archive(&self, path: &Path) -> Result<Image> {
        let scratch = self.scratch_dir("archive")?;
        let outer = Outer::open(path, scratch.path(), self.max_unpacked)?;
        let manifest = archive::read_manifest(&outer)?;
        // Every layer must be there before the first is unpacked: a manifest naming a
        // missing layer is refused without touching the store.
        let missing: Vec<_> = manifest
            .layers
            .iter()
            .filter(|l| !self.has_layer(&l.diff_id))
            .collect();
        for layer in &missing {
            outer.reader(&layer.member, "the layer")?;
        }
        // All layers count against one budget, and all are unpacked before any is moved
        // into place: a refusal halfway leaves nothing in the store.
        let archive = format!("the image archive {}", path.display());
        let mut budget = Budget::new(self.max_unpacked).named(archive);
        let mut staged: Vec<Staged> = Vec::new();
        for layer in missing {
            if staged.iter().any(|s| s.diff_id == layer.diff_id) {
                continue; // the same layer twice in one image (empty layers often are)
            }
            let what = format!("{} in {}", layer.member, path.display());
            let reader = outer.reader(&layer.member, "the layer")?;
            let digest = layer.blob_digest.as_deref();
            staged.push(self.stage(
                reader,
                &what,
                Some(&layer.diff_id),
                digest,
                &mut budget,
            )?);
        }
        for layer in staged {
            self.commit(layer)?;
        }
        self.save_image(
            &manifest.id,
            manifest.tags,
            manifest.layers.iter().map(|l| l.diff_id.clone()).collect(),
            manifest.config,
        )
    }

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
        let tmp = (self.root.join("tmp"))
            .join(format!("record-{}-{hex}.json", owner::owner_tag()));
        fs::write(&tmp, json)
            .map_err(|e| Error::io("writing the image record", &tmp, e))?;
        fs::rename(&tmp, &path)
            .map_err(|e| Error::io("writing the image record", &path, e))?;
        Ok(image)
    }

    /// Reads the image with this id back from the store.
    pub fn image(&self, id: &str) -> Result<Image> {
        let path = self
            .root
            .join("images")
            .join(format!("{}.json", check_digest(id)?));
        let bytes =
            fs::read(&path).map_err(|e| Error::io("reading the image record", &path, e))?;
        let mut image: Image = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Invalid(format!(
                "the image record {} is damaged: {e}",
                path.display()
            ))
        })?;
        image.store = self.root.clone();
        Ok(image)
    }

    /// Finds an image in the store by tag (`name:tag`, or `name` for `name:latest`), by id, or
    /// by an id prefix of at least 4 hex digits.
    pub fn find(&self, reference: &str) -> Result<Image> {
        let wanted_tag = if reference.contains(':') && !reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            format!("{reference}:latest")
        };
        let images = self.list()?;
        let hex = reference.trim_start_matches("sha256:");
        let by_id = |i: &Image| {
            let id = i.id.trim_start_matches("sha256:");
            hex.len() >= 4
                && hex.chars().all(|c| c.is_ascii_hexdigit())
                && id.starts_with(hex)
        };
        images
            .into_iter()
            .find(|i| i.tags.contains(&wanted_tag) || by_id(i))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown image {reference:?}: it is neither an image in the store {} (the \
                     `images` command lists them) nor an archive file",
                    self.root().display()
                ))
            })
    }

    /// Every image recorded in the store.
    pub fn list(&self) -> Result<Vec<Image>> {
        let dir = self.root().join("images");
        let mut images = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(images),
            Err(e) => return Err(Error::io("listing the images", &dir, e)),
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(hex) = name.strip_suffix(".json") {
                images.push(self.image(&format!("sha256:{hex}"))?);
            }
        }
        images.sort_by(|a, b| a.tags.cmp(&b.tags));
        Ok(images)
    }
}
