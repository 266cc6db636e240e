//! # container-workbook
//!
//! A container is an ordinary process that the kernel shows a different world (namespaces),
//! holds to limits (control groups) and gives a root filesystem made of layers (overlayfs).
//! This library builds each of those from the kernel's own system calls, one module per
//! building block, so that the chapter binaries in `chapters/` can stay short and read like
//! the pages of the book.
//!
//! A module imports only from its own level or below, with no circle (tests/module_levels.rs
//! checks it): `container`, `oci` → `image` → `rootfs`, `process` → `security`, `idmap` →
//! `overlay`, `net`, `cgroup` → `mount`, `namespace`, `hostname`, `ipc`, `privilege`,
//! `owner`, `background` → `error`, `exit`. `cli` is the binaries' shared `main`; the
//! library never uses it.

pub mod background;
pub mod cgroup;
pub mod cli;
pub mod container;
pub mod error;
pub mod exit;
pub mod hostname;
pub mod idmap;
pub mod image;
pub mod ipc;
pub mod mount;
pub mod namespace;
pub mod net;
pub mod oci;
pub mod overlay;
pub mod owner;
pub mod privilege;
pub mod process;
pub mod rootfs;
pub mod security;

pub use error::{Error, Result};
