//! Overlayfs: one directory tree made of several stacked ones.
//!
//! A container image is a stack of read-only layers; a running container adds one writable
//! layer on top. The kernel's overlay filesystem shows the stack as a single tree (the
//! "merged" view):
//!
//! ```text
//!   merged  /etc/motd (from upper)   /bin/sh (from lower 0)   /srv/new (from lower 1)
//!   ------------------------------------------------------------------------------
//!   upper    etc/motd                                          (writable; copy-up lands here)
//!   lower 1                                    srv/new         (read-only, topmost lower)
//!   lower 0  etc/motd                 bin/sh                   (read-only, bottom)
//! ```
//!
//! For each path the kernel looks from the top down and shows the first layer that has it,
//! unless a layer above says "deleted" (a whiteout) or "nothing below" (an opaque
//! directory).
//!
//! - [`layers`]: the typed stack.
//! - [`options`]: the mount options the kernel reads (order, escaping, size).
//! - [`dir_checks`]: what only the filesystem can tell (directories, one filesystem, an
//!   empty work dir).
//! - [`union`]: mounting the union, with a guard that always unmounts (through
//!   [`crate::mount::unmount`]).
//! - [`whiteout`]: the overlay form of "deleted" and "opaque".
//! - [`provenance`]: which layer a path of the merged view comes from.

pub mod dir_checks;
pub mod layers;
pub mod options;
pub mod provenance;
pub mod union;
pub mod whiteout;
pub mod xattr;

pub use layers::{Layers, Upper, MAX_LOWER_LAYERS};
pub use options::{max_options_len, MAX_OPTIONS_LEN};
pub use union::{Overlay, OverlayMount};
