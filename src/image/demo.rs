//! The demonstration image: three small layers written as OCI layer tars, and an image that
//! stacks them on the busybox root filesystem, so a shell can run in it.

use std::path::{Path, PathBuf};

use super::build::LayerTar;
use super::image_config::ImageConfig;
use super::store::{Image, ImageStore};
use super::stream::digest_of;
use super::tar_import::unpack_layer;
use crate::{Error, Result};

// ANCHOR: layers
/// The three demonstration layers, bottom first, as (name, layer tar).
pub fn demo_layer_tars() -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut base = LayerTar::new();
    base.dir("etc", 0o755)?
        .file("etc/motd", 0o644, b"hello from the base layer\n")?
        .file("etc/hostname", 0o644, b"demo\n")?
        .dir("srv", 0o755)?
        .dir("srv/www", 0o755)?
        .file("srv/www/index.html", 0o644, b"<h1>base</h1>\n")?
        .file("srv/www/old.html", 0o644, b"<h1>old</h1>\n")?
        .dir("srv/cache", 0o755)?
        .file("srv/cache/a", 0o644, b"cached a\n")?
        .file("srv/cache/b", 0o644, b"cached b\n")?;
    // Overwrites a file and adds one.
    let mut patch = LayerTar::new();
    patch
        .dir("etc", 0o755)?
        .file("etc/motd", 0o644, b"hello from the patch layer\n")?
        .dir("srv", 0o755)?
        .dir("srv/www", 0o755)?
        .file("srv/www/new.html", 0o644, b"<h1>new</h1>\n")?;
    // Deletes a file (whiteout) and empties a directory (opaque), then puts one file back.
    let mut cleanup = LayerTar::new();
    cleanup
        .dir("srv", 0o755)?
        .dir("srv/www", 0o755)?
        .whiteout("srv/www/old.html")?
        .dir("srv/cache", 0o755)?
        .opaque("srv/cache")?
        .file("srv/cache/fresh", 0o644, b"fresh\n")?;
    Ok(vec![
        ("base", base.finish()?),
        ("patch", patch.finish()?),
        ("cleanup", cleanup.finish()?),
    ])
}
// ANCHOR_END: layers

/// Unpacks the demonstration layers into `dir/0-base`, `dir/1-patch`, `dir/2-cleanup`
/// (whiteouts converted to the overlay form) and returns them bottom first.
pub fn unpack_demo_layers(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (i, (name, tar)) in demo_layer_tars()?.into_iter().enumerate() {
        let layer = dir.join(format!("{i}-{name}"));
        std::fs::create_dir(&layer)
            .map_err(|e| Error::io("making a layer dir", &layer, e))?;
        unpack_layer(tar.as_slice(), &layer, name)?;
        out.push(layer);
    }
    Ok(out)
}

/// The demonstration image in `store`: the busybox root filesystem at `busybox` as its base
/// layer, the three demonstration layers on top. Layers already in the store are reused.
pub fn demo_image(store: &ImageStore, busybox: &Path) -> Result<Image> {
    let mut tars = vec![LayerTar::from_dir(busybox)?];
    tars.extend(demo_layer_tars()?.into_iter().map(|(_, tar)| tar));
    let mut diff_ids = Vec::new();
    for (i, tar) in tars.iter().enumerate() {
        let diff_id = digest_of(tar.as_slice())
            .map_err(|e| Error::io("hashing a layer", busybox, e))?;
        diff_ids.push(store.add_layer(
            tar.as_slice(),
            &format!("demo layer {i}"),
            Some(&diff_id),
            None,
        )?);
    }
    let config = ImageConfig {
        entrypoint: vec![],
        cmd: vec!["sh".into()],
        env: vec![format!("PATH={}", crate::process::DEFAULT_PATH)],
        workdir: Some("/srv/www".into()),
    };
    let config_json = super::build::config_json(&tars, &config);
    let id = digest_of(config_json.as_slice())
        .map_err(|e| Error::io("hashing the config", busybox, e))?;
    store.save_image(&id, vec!["workbook/demo:latest".into()], diff_ids, config)
}
