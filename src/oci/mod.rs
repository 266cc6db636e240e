//! The OCI runtime interface: what podman (through conmon) and containerd (through its
//! shim) ask of runc, crun or youki, here served by the library's own parts.
//!
//! An engine prepares a *bundle* (a directory with `config.json` and the root filesystem)
//! and drives the runtime with short-lived commands, one process each:
//!
//! ```text
//!  create ID --bundle DIR   everything set up; the init waits on the exec FIFO
//!  start ID                 the FIFO opened: the init execs the program
//!  state ID                 JSON: created, running or stopped, and the pid
//!  kill ID SIGNAL           a signal to the init (or --all: the whole cgroup)
//!  delete ID                cgroup and state removed
//!  pause ID, resume ID      the cgroup frozen, thawed
//!  update ID                the cgroup's limits rewritten
//!  ps ID, events ID         the cgroup's pids, what it counted
//! ```
//!
//! The files: the config (`config`, `features`), the record (`state`), `create` and what
//! the runtime does around it (the cgroup path, hooks, the time namespace, devices and RDT
//! classes, the sealed binary), `lifecycle` (start, state, kill), `delete` and `exec`;
//! `init/`, the container's own steps up to execve; `commands/`, what engines ask of a
//! running container; `resources/`, `seccomp/` and `systemd/`.
//!
//! Which earlier chapter each part of config.json reaches: namespaces (1, 2, 4), mounts
//! and pivot_root (3), cgroups (5), capabilities, no_new_privs, masked paths, the device
//! allow-list (7).

pub mod cgroup_path;
pub mod commands;
pub mod config;
pub mod console;
pub mod create;
pub mod delete;
pub mod exec;
pub mod features;
pub mod foreground;
pub mod fork;
pub mod hooks;
pub mod init;
pub mod intel_rdt;
pub mod lifecycle;
pub mod net_devices;
pub mod resources;
pub mod sealed_exe;
pub mod seccomp;
pub mod state;
pub mod systemd;
pub mod time_namespace;
