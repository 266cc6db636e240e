//! # container-workbook
//!
//! A container is an ordinary process that the kernel shows a different world (namespaces),
//! holds to limits (control groups) and gives a root filesystem made of layers (overlayfs).
//! This library builds each of those from the kernel's own system calls, one module per
//! building block, so that the chapter binaries in `chapters/` can stay short and read like
//! the pages of the book.
//!
//! Each chapter's code has a home of its own, and a file uses only what its own chapter
//! and earlier ones built (tests/module_levels.rs checks it, file by file, with no circle):
//!
//! | chapter | modules |
//! | --- | --- |
//! | 1 | `namespace`, `process` |
//! | 2 | `hostname`, `ipc` |
//! | 3 | `mount`, `rootfs` |
//! | 4 | `idmap`, `net` |
//! | 5 | `cgroup` |
//! | 6 | `overlay`, `image` |
//! | 7 | `container` (its network in `container::network`), `security` |
//! | 8 | `oci` |
//!
//! Below them all: `error`, `exit`, `capget`, `owner`, `privilege`, `background`. `cli` is the
//! binaries' shared `main`; the library never uses it.

pub mod background;
pub mod capget;
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
