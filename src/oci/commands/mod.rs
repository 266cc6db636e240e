//! What engines ask of a running container besides start, kill and delete: `pause` and
//! `resume` (the freezer), `update` (new limits), `ps` (its pids), `events` (what its
//! cgroup counted) and the signal names `kill` takes.

pub mod events;
pub mod freezer;
pub mod pause;
pub mod ps;
pub mod signal;
pub mod update;
