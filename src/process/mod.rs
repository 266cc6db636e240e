//! Starting a process in new namespaces, letting it go when the parent is ready, and
//! waiting for it the way an init system must.
//!
//! The life of a container's first process, as every runtime lays it out:
//!
//! ```text
//!  parent (host)                         child (new namespaces)
//!  ─────────────                         ──────────────────────
//!  spawn: clone(CLONE_NEW…)  ──────────▶ born, blocked reading the release pipe
//!  write uid_map, attach to cgroup …
//!  release: write one byte   ──────────▶ set up mounts, hostname …, then exec the command
//!  wait: forward signals, reap  ◀──────── exits; an error before exec comes back on a pipe
//! ```
//!
//! The parent must finish its part before the child runs the workload: a uid map written
//! late means the child starts as `nobody`; a cgroup joined late means the first bytes and
//! forks of the workload escape the limit.
//!
//! This module is chapter 1's spawn: clone(2) and the release pipe ([`spawn()`]). Chapter 7
//! has the child born in its cgroup with clone3(2) and in a time namespace of its own
//! (`container::spawn_with_time_namespace`); it hands its clone to the same [`spawn::start`],
//! which holds the pipes and the parent's signals.

mod execve;
mod held;
pub mod spawn;
mod wait;

pub use execve::{
    check_cwd_is_inside_root, close_on_exec_from, exec, exec_command, find_in_path,
    DEFAULT_PATH,
};
pub use held::{parent_signals, HeldSignals};
pub use spawn::{spawn, Child};
pub use wait::wait_forwarding_set;
