//! `{"type": "time"}` and `linux.timeOffsets`: a time namespace of the container's own,
//! its monotonic and boot-time clocks moved by the config's offsets (a checkpointed
//! container restored on another machine keeps its uptime).
//!
//! clone(2) cannot take CLONE_NEWTIME (its bit is among the exit signal's), so the runtime
//! unshares it itself, as chapter 7 does (`container::timens`): that changes only the
//! namespace its *children* are born into. The offsets go into /proc/self/timens_offsets
//! between the unshare and the fork, the last moment the kernel allows it (once a process
//! is in the namespace, the write is refused with EACCES). Without offsets the clocks are
//! the host's, as runc leaves them. A time namespace given by path is joined the same way,
//! before the fork.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::unistd::Pid;
use serde::Deserialize;

use crate::namespace::{self, Namespace, Namespaces};
use crate::{Error, Result};

/// One clock's offset.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOffset {
    #[serde(default)]
    pub secs: i64,
    #[serde(default)]
    pub nanosecs: u32,
}

/// The clocks a time namespace moves.
const CLOCKS: [&str; 2] = ["monotonic", "boottime"];

/// `linux.timeOffsets`, by clock.
pub type Offsets = BTreeMap<String, TimeOffset>;

/// Refuses offsets the kernel would, or without a new time namespace to hold them (as
/// runc does). `entry` is the config's time namespace: `None` without one, `Some(None)`
/// when new, `Some(Some(path))` when joined.
pub fn check(offsets: &Offsets, entry: Option<Option<&Path>>) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    match entry {
        None => return Err(Error::Invalid(
            "config.json sets linux.timeOffsets without a time namespace of its own: add {\"type\": \"time\"} to linux.namespaces".into(),
        )),
        Some(Some(path)) => return Err(Error::Invalid(format!(
            "config.json sets linux.timeOffsets for the time namespace it joins ({}): its clocks were set by its maker, so remove the offsets or the path",
            path.display()
        ))),
        Some(None) => {}
    }
    for (clock, offset) in offsets {
        if !CLOCKS.contains(&clock.as_str()) {
            return Err(Error::Invalid(format!(
                "config.json's linux.timeOffsets names the clock '{clock}': a time namespace moves only monotonic and boottime"
            )));
        }
        if offset.nanosecs >= 1_000_000_000 {
            return Err(Error::Invalid(format!(
                "config.json's linux.timeOffsets.{clock}.nanosecs is {}: it must be below 1000000000",
                offset.nanosecs
            )));
        }
    }
    Ok(())
}

/// The lines /proc/self/timens_offsets takes: `<clock> <secs> <nanosecs>`.
pub fn offsets_text(offsets: &Offsets) -> String {
    offsets
        .iter()
        .map(|(clock, o)| format!("{clock} {} {}\n", o.secs, o.nanosecs))
        .collect()
}

/// [`super::fork::fork_into`] the namespaces `new`, with the time namespace (new, with the
/// config's offsets, or the one `join` names) made or joined for the child first. Returns
/// `None` in the child.
pub fn fork_into(
    new: Namespaces,
    join: &[(Namespace, PathBuf)],
    offsets: &Offsets,
) -> Result<Option<Pid>> {
    let joined = join.iter().find(|(k, _)| *k == Namespace::Time);
    if new.contains(Namespace::Time) {
        nix::sched::unshare(Namespace::Time.clone_flag()).map_err(|e| {
            Error::sys("unshare", "creating the container's time namespace", e)
        })?;
        let offsets = offsets_text(offsets);
        if !offsets.is_empty() {
            let file = std::path::Path::new("/proc/self/timens_offsets");
            if let Err(e) = std::fs::write(file, offsets) {
                namespace::restore_time_for_children()?;
                return Err(Error::io("writing linux.timeOffsets", file, e));
            }
        }
    } else if let Some((_, path)) = joined {
        namespace::join(Namespace::Time, path)?;
    } else {
        return super::fork::fork_into(new);
    }
    let forked = super::fork::fork_into(new.without(Namespace::Time));
    match forked {
        // The child was born in the container's time namespace, and its children will be.
        Ok(None) => Ok(None),
        // The runtime's own next children (hooks) are born in its own again.
        other => {
            namespace::restore_time_for_children()?;
            other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(json: serde_json::Value) -> Offsets {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn offsets_need_a_new_time_namespace_and_known_clocks() {
        let boot = offsets(serde_json::json!({"boottime": {"secs": 5, "nanosecs": 7}}));
        check(&boot, Some(None)).unwrap();
        assert_eq!(offsets_text(&boot), "boottime 5 7\n");
        let err = check(&boot, None).unwrap_err().to_string();
        assert!(err.contains("timeOffsets"), "{err}");
        assert!(check(&boot, Some(Some(Path::new("/proc/1/ns/time")))).is_err());
        let realtime = offsets(serde_json::json!({"realtime": {"secs": 1}}));
        assert!(check(&realtime, Some(None)).is_err());
        check(&Offsets::new(), None).unwrap();
    }
}
