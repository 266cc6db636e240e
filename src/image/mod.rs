//! Images: stacks of layers, imported from archives into a content-addressed store.
//!
//! - [`tar_whiteout`]: the layer-tar form of deletions (`.wh.NAME`, `.wh..wh..opq`), and its
//!   conversion to the overlay form.
//! - [`tar_import`]: unpacking one layer tar safely, converting whiteouts to the overlay
//!   form.
//!   Its parts: [`layer_paths`], [`tar_entry`], [`tar_metadata`], [`dir_modes`], [`budget`],
//!   [`stream`] and [`unpacked`].
//! - [`store`]: the store: layers by digest (shared between images), images by config
//!   digest.
//! - [`archive`]: reading `docker save` archives and OCI image layouts.
//! - [`image_config`]: the image config file: what an image says to run (command,
//!   environment, working directory) and the DiffIDs of its layers.
//! - [`build`]: writing layer tars and image archives in memory (the demonstration image
//!   and the tests).
//! - [`demo`]: the demonstration image of chapter 6, three small layers on busybox.

pub mod archive;
pub mod budget;
pub mod build;
pub mod demo;
pub mod dir_modes;
pub mod image_config;
pub mod layer_paths;
pub mod store;
pub mod stream;
pub mod tar_entry;
pub mod tar_import;
pub mod tar_metadata;
pub mod tar_whiteout;
pub mod unpacked;

pub use image_config::ImageConfig;
pub use store::{Image, ImageStore};
