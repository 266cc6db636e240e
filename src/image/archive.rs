//! Reading whole-image archives: `docker save` output and OCI image layouts (as a tar).
//!
//! Both are a tar of JSON files and layer blobs; they differ in where the list of layers
//! is:
//!
//! ```text
//! docker save                          OCI image layout
//!   manifest.json                        oci-layout, index.json
//!     [{Config, RepoTags, Layers}]         manifests[0] -> blobs/sha256/M
//!   <config>.json  (rootfs.diff_ids)     blobs/sha256/M: {config, layers[]}
//!   <id>/layer.tar (or blobs/sha256/L)   blobs/sha256/C: the config; blobs/sha256/L: layers
//! ```
//!
//! Docker 25+ writes both sets of files; `manifest.json` is read first. Every blob named by
//! digest is checked against that digest, and every unpacked layer against
//! `rootfs.diff_ids`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::Deserialize;

use super::budget::Budget;
use super::image_config::{self, ImageConfig};
use super::stream::{damage, decompressed, digest_of, is_gzip};
use crate::{Error, Result};

/// The members of an archive, found once, read at will (a tar has no index of its own).
pub struct Outer {
    name: String,
    file: File,
    len: u64,
    files: HashMap<String, (u64, u64)>,
    links: HashMap<String, String>,
}

impl Outer {
    /// Indexes the archive at `path`. A gzip-compressed archive is first inflated into an
    /// anonymous temp file in `scratch` (tar members can only be read at an offset
    /// uncompressed), at most `max` bytes of it: a gzip bomb would fill the disk before any
    /// layer is read.
    pub fn open(path: &Path, scratch: &Path, max: u64) -> Result<Outer> {
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Error::Invalid(format!("the image archive {name} does not exist"))
            }
            _ => Error::io("opening the image archive", path, e),
        })?;
        let mut head = BufReader::new(&file);
        if is_gzip(&mut head)
            .map_err(|e| Error::io("reading the image archive", path, e))?
        {
            let mut plain = tempfile::tempfile_in(scratch)
                .map_err(|e| Error::io("making a scratch file", scratch, e))?;
            let inflated = io::copy(
                &mut decompressed(head)
                    .map_err(|e| corrupt(&name, e))?
                    .take(max.saturating_add(1)),
                &mut plain,
            )
            .map_err(|e| corrupt(&name, e))?;
            if inflated > max {
                return Err(Budget::new(max)
                    .named(format!("the image archive {name}"))
                    .exceeded(&name));
            }
            file = plain;
        }
        let len = file
            .metadata()
            .map_err(|e| Error::io("reading the image archive", path, e))?
            .len();
        let mut outer = Outer {
            name,
            file,
            len,
            files: HashMap::new(),
            links: HashMap::new(),
        };
        outer.index()?;
        Ok(outer)
    }

    fn index(&mut self) -> Result<()> {
        let reader = At::new(&self.file, 0, self.len);
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| corrupt(&self.name, e))?;
        for (n, entry) in entries.enumerate() {
            // A file whose first block is no tar header is no archive at all (say
            // /etc/shadow): say so, and never quote it (the tar library's message would).
            let entry = entry.map_err(|e| match n {
                0 => not_an_archive(&self.name),
                _ => corrupt(&self.name, e),
            })?;
            let member = normalize(
                &entry
                    .path()
                    .map_err(|e| corrupt(&self.name, e))?
                    .to_string_lossy(),
            );
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let (offset, size) = (entry.raw_file_position(), entry.size());
                    if offset + size > self.len {
                        return Err(corrupt(
                            &self.name,
                            io::ErrorKind::UnexpectedEof.into(),
                        ));
                    }
                    self.files.insert(member, (offset, size));
                }
                // Old `docker save` links a layer shared by two image ids to its first
                // copy.
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Ok(Some(target)) = entry.link_name() {
                        let target = target.to_string_lossy().into_owned();
                        let base = if entry.header().entry_type() == tar::EntryType::Symlink
                        {
                            member.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
                        } else {
                            ""
                        };
                        let resolved = normalize(&format!("{base}/{target}"));
                        self.links.insert(member, resolved);
                    }
                }
                _ => {}
            }
        }
        if self.files.is_empty() {
            return Err(not_an_archive(&self.name));
        }
        Ok(())
    }

    /// Whether the archive has the member `name`.
    pub fn has(&self, name: &str) -> bool {
        self.locate(name).is_some()
    }

    fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalize(name);
        for _ in 0..8 {
            if let Some(found) = self.files.get(&name) {
                return Some(*found);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    /// A reader of the member `name`; `what` says in the error what it was meant to be.
    pub fn reader(&self, name: &str, what: &str) -> Result<At<'_>> {
        let (offset, size) = self.locate(name).ok_or_else(|| {
            Error::Invalid(format!(
                "the image archive {} names {what} {name}, which is not in the archive",
                self.name
            ))
        })?;
        Ok(At::new(&self.file, offset, offset + size))
    }

    /// The whole member `name` (a JSON file).
    pub fn read(&self, name: &str, what: &str) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.reader(name, what)?
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(&self.name, e))?;
        Ok(bytes)
    }
}

/// Reads a byte range of a file with `pread`, so several readers can share one file.
pub struct At<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl<'f> At<'f> {
    fn new(file: &'f File, pos: u64, end: u64) -> Self {
        At { file, pos, end }
    }
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = (self.end - self.pos).min(buf.len() as u64) as usize;
        if left == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..left], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

fn normalize(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn corrupt(name: &str, e: io::Error) -> Error {
    Error::Invalid(format!(
        "the image archive {name} is corrupt or truncated ({}); save or download it again",
        damage(&e)
    ))
}

fn not_an_archive(name: &str) -> Error {
    Error::Invalid(format!(
        "the file {name} is not an image archive: give a `docker save` archive or an OCI image \
         layout, as .tar or .tar.gz"
    ))
}

/// What an archive's manifest and config say about its image, in either layout: its id,
/// tags and config, and where each of its layers is, bottom first.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `sha256:HEX` of the config file: the image id.
    pub id: String,
    pub tags: Vec<String>,
    pub config: ImageConfig,
    pub layers: Vec<ManifestLayer>,
}

/// One layer of the image: where it is in the archive and the digests it must have.
#[derive(Debug, Clone)]
pub struct ManifestLayer {
    /// The member of the archive holding the layer tar (plain or gzip).
    pub member: String,
    /// The digest of the uncompressed tar, from the config's `rootfs.diff_ids`.
    pub diff_id: String,
    /// The digest of the blob as stored, when the manifest names it (OCI).
    pub blob_digest: Option<String>,
}

/// Reads the manifest (docker save or OCI) and config of the archive.
pub fn read_manifest(outer: &Outer) -> Result<Manifest> {
    if outer.has("manifest.json") {
        read_docker_manifest(outer)
    } else if outer.has("index.json") {
        read_oci_manifest(outer)
    } else {
        Err(Error::Invalid(format!(
            "the archive {} is neither a `docker save` archive (no manifest.json) nor an OCI image layout (no index.json)",
            outer.name
        )))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn read_docker_manifest(outer: &Outer) -> Result<Manifest> {
    let manifests: Vec<DockerManifest> = json(outer, "manifest.json", "its manifest")?;
    let Some(manifest) = manifests.into_iter().next() else {
        return Err(Error::Invalid(format!(
            "the manifest.json of {} lists no image",
            outer.name
        )));
    };
    let config_bytes = outer.read(&manifest.config, "the image config")?;
    let id = verified_digest(&config_bytes, &manifest.config, &outer.name)?;
    let (config, diff_ids) = image_config::parse(&config_bytes, &manifest.config)?;
    let layers = pair_layers(
        &outer.name,
        &diff_ids,
        manifest.layers.into_iter().map(|m| (m, None)),
    )?;
    Ok(Manifest {
        id,
        tags: manifest.repo_tags.unwrap_or_default(),
        config,
        layers,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct OciIndex {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

fn read_oci_manifest(outer: &Outer) -> Result<Manifest> {
    let index: OciIndex = json(outer, "index.json", "its index")?;
    let mut top = index.manifests.into_iter().next().ok_or_else(|| {
        Error::Invalid(format!("the index.json of {} lists no image", outer.name))
    })?;
    let tag = top
        .annotations
        .get("org.opencontainers.image.ref.name")
        .cloned();
    // An index may point to another index (one manifest per platform): take its first.
    while top.media_type.contains("index") || top.media_type.contains("manifest.list") {
        let nested: OciIndex = blob_json(outer, &top.digest, "a nested index")?;
        top = nested.manifests.into_iter().next().ok_or_else(|| {
            Error::Invalid(format!("a nested index of {} lists no image", outer.name))
        })?;
    }
    let manifest: OciManifest = blob_json(outer, &top.digest, "the image manifest")?;
    let config_bytes = blob(outer, &manifest.config.digest, "the image config")?;
    let (config, diff_ids) = image_config::parse(&config_bytes, &manifest.config.digest)?;
    for layer in &manifest.layers {
        if layer.media_type.contains("zstd") {
            return Err(Error::Unsupported(format!(
                "the layer {} of {} is zstd-compressed, which this importer does not read; save it with gzip",
                layer.digest, outer.name
            )));
        }
    }
    let members = manifest
        .layers
        .into_iter()
        .map(|l| Ok((blob_path(&l.digest)?, Some(l.digest))))
        .collect::<Result<Vec<_>>>()?;
    let layers = pair_layers(&outer.name, &diff_ids, members.into_iter())?;
    Ok(Manifest {
        id: manifest.config.digest,
        tags: tag.into_iter().collect(),
        config,
        layers,
    })
}

fn pair_layers(
    name: &str,
    diff_ids: &[String],
    members: impl ExactSizeIterator<Item = (String, Option<String>)>,
) -> Result<Vec<ManifestLayer>> {
    if members.len() != diff_ids.len() {
        return Err(Error::Invalid(format!(
            "the image in {name} lists {} layers but its config has {} diff_ids",
            members.len(),
            diff_ids.len()
        )));
    }
    members
        .zip(diff_ids)
        .map(|((member, blob_digest), diff_id)| {
            check_digest(diff_id)?;
            Ok(ManifestLayer {
                member,
                diff_id: diff_id.clone(),
                blob_digest,
            })
        })
        .collect()
}

/// Refuses anything but `sha256:` and 64 lowercase hex digits: digests become path names in
/// the store, so a hostile `sha256:../../x` must never get that far.
pub fn check_digest(digest: &str) -> Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(hex)
        }
        _ => Err(Error::Invalid(format!(
            "{digest:?} is not a sha256 digest (sha256: and 64 hex digits)"
        ))),
    }
}

fn blob_path(digest: &str) -> Result<String> {
    Ok(format!("blobs/sha256/{}", check_digest(digest)?))
}

fn blob(outer: &Outer, digest: &str, what: &str) -> Result<Vec<u8>> {
    let bytes = outer.read(&blob_path(digest)?, what)?;
    verified_digest(&bytes, &blob_path(digest)?, &outer.name)?;
    Ok(bytes)
}

fn blob_json<T: for<'de> Deserialize<'de>>(
    outer: &Outer,
    digest: &str,
    what: &str,
) -> Result<T> {
    let bytes = blob(outer, digest, what)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Invalid(format!("{what} of {} is not valid JSON: {e}", outer.name))
    })
}

fn json<T: for<'de> Deserialize<'de>>(
    outer: &Outer,
    member: &str,
    what: &str,
) -> Result<T> {
    let bytes = outer.read(member, what)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Invalid(format!("{member} of {} is not valid JSON: {e}", outer.name))
    })
}

/// The digest of `bytes`, checked against the digest in the member's name when it has one
/// (`blobs/sha256/HEX` or Docker's `HEX.json`).
fn verified_digest(bytes: &[u8], member: &str, archive: &str) -> Result<String> {
    let actual = digest_of(bytes).map_err(|e| corrupt(archive, e))?;
    let file = member.rsplit('/').next().unwrap_or(member);
    let named = file.strip_suffix(".json").unwrap_or(file);
    if named.len() == 64 && named.bytes().all(|b| b.is_ascii_hexdigit()) {
        let expected = format!("sha256:{named}");
        if expected != actual {
            return Err(Error::Invalid(format!(
                "digest mismatch in {archive}: {member} should hash to {expected} but hashes to {actual}; \
                 the archive is damaged or was altered"
            )));
        }
    }
    Ok(actual)
}
