//! The created container's init, from the clone to execve: chapter 7's one init
//! ([`crate::container::init`]) with chapter 8's kind (`created`) and the steps the config
//! adds: its mounts and their propagation, /dev/console, `lo`, the UTS names, the process
//! attributes, the LSM label, rlimits, the capability sets, and the last steps before the
//! execve (the fds, seccomp).

pub mod capability_sets;
pub mod created;
pub mod dev_console;
pub mod last_steps;
pub mod loopback;
pub mod lsm;
pub mod mounts;
pub mod process_attrs;
pub mod propagation;
pub mod rlimits;
pub mod uts;
