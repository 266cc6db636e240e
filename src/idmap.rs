//! User and group ID maps: how a user namespace says who its root is on the outside.
//!
//! A new user namespace starts with no mapping: every ID in it shows as the overflow ID
//! (65534). The parent writes `/proc/CHILD/uid_map` and `gid_map`, one line
//! `INSIDE OUTSIDE COUNT` per range, once. Trap: for gid_map, an unprivileged writer must
//! first write `deny` to `/proc/CHILD/setgroups`, or the kernel refuses (EPERM): otherwise
//! the child could drop a supplementary group that was keeping it *out* of a file
//! (user_namespaces(7)).

use std::fmt;

use nix::unistd::{getgid, getuid, Pid};

use crate::{Error, Result};

/// The ID of `nobody`/`nogroup` on Debian and most distributions.
pub const NOBODY: u32 = 65534;

/// One line of an ID map: `count` IDs from `inside` map to IDs from `outside`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {} {}", self.inside, self.outside, self.count)
    }
}

/// The uid and gid maps of one user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

impl IdMaps {
    /// Root inside is one ID outside, and nothing else is mapped.
    pub fn root_as(uid: u32, gid: u32) -> IdMaps {
        let one = |outside| {
            vec![IdRange {
                inside: 0,
                outside,
                count: 1,
            }]
        };
        IdMaps {
            uids: one(uid),
            gids: one(gid),
        }
    }

    /// Root inside is the invoking user outside; when that user is root, `nobody`, so that
    /// root in the container is nobody special on the host.
    pub fn root_as_caller() -> IdMaps {
        let (uid, gid) = (getuid().as_raw(), getgid().as_raw());
        if uid == 0 {
            IdMaps::root_as(NOBODY, NOBODY)
        } else {
            IdMaps::root_as(uid, gid)
        }
    }

    /// The text of a map file: one range per line.
    pub fn render(ranges: &[IdRange]) -> String {
        ranges.iter().map(|r| r.to_string()).collect()
    }

    /// Writes the maps of process `pid`'s user namespace, from outside it: setgroups first,
    /// then uid_map, then gid_map. Each file can be written once.
    pub fn write_for(&self, pid: Pid) -> Result<()> {
        // exercise 04.1: write setgroups, uid_map and gid_map in the kernel's order
        use std::path::PathBuf;

        let write = |file: &str, text: &str| {
            let path = PathBuf::from(format!("/proc/{pid}/{file}"));
            std::fs::write(&path, text)
                .map_err(|e| Error::io(format!("writing {file:?}"), &path, e))
        };
        write("setgroups", "deny")?;
        write("uid_map", &IdMaps::render(&self.uids))?;
        write("gid_map", &IdMaps::render(&self.gids))
        // end of exercise 04.1
    }
}

/// Run in the child after the maps are written: takes uid and gid 0 of the namespace.
///
/// Creating a user namespace does not change a process's IDs. A child cloned by the host's
/// root is still host uid 0, which is *unmapped* in a namespace whose root is 65534
/// outside, and so shows as the overflow ID 65534 inside. setresuid(0)/setresgid(0) inside
/// make it the namespace's root; its capabilities there are kept (the kernel clears them
/// only when a process gives up the namespace's root uid).
pub fn become_root() -> Result<()> {
    // exercise 04.2: become root of the user namespace
    use nix::unistd::{setresgid, setresuid, Gid, Uid};
    let root_gid = Gid::from_raw(0);
    setresgid(root_gid, root_gid, root_gid)
        .map_err(|e| Error::sys("setresgid", "becoming gid 0 of the user namespace", e))?;
    let root_uid = Uid::from_raw(0);
    setresuid(root_uid, root_uid, root_uid)
        .map_err(|e| Error::sys("setresuid", "becoming uid 0 of the user namespace", e))
    // end of exercise 04.2
}

/// Run in the parent before the clone, when it is root: drops its supplementary groups.
///
/// The child inherits them, and once `setgroups` is denied in its namespace it can never
/// drop them; host root's group 0 would keep opening root-group files on the host to it.
pub fn drop_supplementary_groups() -> Result<()> {
    if getuid().is_root() {
        nix::unistd::setgroups(&[])
            .map_err(|e| Error::sys("setgroups", "dropping supplementary groups", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_line_per_range() {
        let maps = IdMaps::root_as(1000, 100);
        assert_eq!(IdMaps::render(&maps.uids), "0 1000 1\n");
        assert_eq!(IdMaps::render(&maps.gids), "0 100 1\n");
    }
}
