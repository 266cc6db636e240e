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
//! Each chapter's spawn is its own size: [`spawn`] (chapter 1) is clone(2) and the release
//! pipe; [`spawn_in_cgroup`] has the child born in its cgroup with clone3(2); and
//! [`spawn_timed`] (chapter 7) adds the time namespace. All three hand their clone to the
//! same `start`, which holds the pipes and the parent's signals.

mod clone3;
mod exec;
mod held;
mod limits;
mod spawn;
mod timens;
mod wait;

pub use clone3::{spawn_in_cgroup, Born};
pub use exec::{exec, exec_command, find_in_path, DEFAULT_PATH};
pub use held::{parent_signals, HeldSignals};
pub use limits::{set_oom_score_adj, Rlimit, RLIMITS};
pub use spawn::fork_into;
pub use spawn::{spawn, Child};
pub use timens::spawn_timed;
pub use wait::wait_forwarding_set;
