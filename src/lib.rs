//! # container-workbook
//!
//! A container is an ordinary process that the kernel shows a different world (namespaces),
//! holds to limits (control groups) and gives a root filesystem made of layers (overlayfs).
//! This library builds each of those from the kernel's own system calls, one module per
//! building block, so that the chapter binaries in `chapters/` can stay short and read like
//! the pages of the book.

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
pub mod overlay;
pub mod owner;
pub mod privilege;
pub mod process;
pub mod rootfs;
pub mod security;

pub use error::{Error, Result};
