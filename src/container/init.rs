//! The container's init: what the child does between clone(2) and exec(2), in the order
//! the kernel needs. One path serves every kind of container, as youki's init does: chapter
//! 7's `run` is one kind (its plan, in run.rs), and chapter 8's `create` and `exec` are
//! others, filling the same steps from config.json. A kind says how it does each step; the
//! order, and the steps every kind shares, are here.

use std::convert::Infallible;
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::cgroup_join::SelfJoin;
use super::tty;
use crate::cgroup;
use crate::hostname::Hostname;
use crate::{process, Error, Result};

/// A kind of container, step by step.
pub trait Init {
    /// On cgroup v1, the cgroup's `tasks` files: the child moves itself in (see
    /// `super::cgroup_join` for why not the parent). On v2 it was born in its cgroup.
    fn cgroup_join(&self) -> Option<&SelfJoin>;
    /// The namespaces the clone did not make (joined), and root of a user namespace.
    fn enter_namespaces(&mut self) -> Result<()>;
    /// Whether to make a cgroup namespace: its root is the cgroup the child is in now.
    fn new_cgroup_namespace(&self) -> bool;
    /// The container's root: its mounts, pivot_root, the masked paths.
    fn enter_root(&self) -> Result<()>;
    /// The socket that takes the master of a new pty, and the terminal's size.
    fn terminal(&self) -> Option<(&UnixStream, Option<tty::Size>)>;
    fn hostname(&self) -> Option<&Hostname>;
    /// The process's own surroundings: its working directory and environment (and what
    /// else the kind gives it).
    fn set_up_process(&self) -> Result<()>;
    fn command(&self) -> &[String];
    /// Why a command missing from `$PATH` is refused, in the kind's words.
    fn not_found(&self) -> &'static str {
        "not found in the image"
    }
    /// What root may no longer do: no_new_privs, capabilities, seccomp last.
    fn harden(&self) -> Result<()>;
    /// Anything between the hardening and exec (chapter 8 waits there for `start`).
    fn before_exec(&mut self) -> Result<()> {
        Ok(())
    }
    /// The exec itself: chapter 7 searches `$PATH` as a shell does; chapter 8 installs the
    /// seccomp filter just before it, as runc does.
    fn exec(&mut self) -> Result<Infallible> {
        process::exec(self.command())
    }
}

// ANCHOR: child_steps
/// The child's side, from the release to exec.
pub fn init(kind: &mut impl Init) -> Result<Infallible> {
    // Into our cgroup first (on v1; on v2 we were born there): the cgroup namespace,
    // made once the user namespace is ours, has it as its root.
    if let Some(join) = kind.cgroup_join() {
        join.join()?;
    }
    kind.enter_namespaces()?;
    if kind.new_cgroup_namespace() {
        cgroup::unshare_namespace()?;
    }
    kind.enter_root()?;
    if let Some((socket, size)) = kind.terminal() {
        tty::attach(socket, size)?; // after the pivot: a pty of the container's devpts
    }
    if let Some(name) = kind.hostname() {
        name.apply()?;
    }
    kind.set_up_process()?;
    check_in_path(kind.command(), kind.not_found())?;
    kind.harden()?;
    kind.before_exec()?;
    kind.exec()
}
// ANCHOR_END: child_steps

/// Refuses a command that the container's `$PATH` (set by now) does not hold, with exit
/// status 127 as a shell gives, while the error can still reach the runtime.
fn check_in_path(command: &[String], not_found: &str) -> Result<()> {
    let Some(program) = command.first() else {
        return Err(Error::Invalid("no command was given to run".into()));
    };
    let path = std::env::var("PATH").unwrap_or_else(|_| process::DEFAULT_PATH.into());
    match process::find_in_path(Path::new("/"), program, &path) {
        Some(_) => Ok(()),
        None => Err(Error::Command {
            program: program.clone(),
            reason: not_found.into(),
            code: 127,
        }),
    }
}
