//! Images: stacks of layers, imported from archives into a content-addressed store.
//!
//! - [`whiteout`]: the layer-tar form of deletions (`.wh.NAME`, `.wh..wh..opq`).
//! - [`tar_import`]: unpacking one layer tar safely, converting whiteouts to the overlay
//!   form.
//! - [`store`]: the store: layers by digest (shared between images), images by config
//!   digest.
//! - [`archive`]: reading `docker save` archives and OCI image layouts.
//! - [`config`]: what an image says to run (command, environment, working directory).
//! - [`build`]: writing layer tars and image archives in memory (the demonstration image
//!   and the tests).
//! - [`demo`]: the demonstration image of chapter 6, three small layers on busybox.

pub mod archive;
pub mod build;
pub mod config;
pub mod demo;
pub mod store;
pub mod tar_import;
pub mod whiteout;

pub use config::ImageConfig;
pub use store::{Image, ImageStore};
