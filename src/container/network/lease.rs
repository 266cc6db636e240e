//! Address leases: which container holds which address of a bridge's subnet.
//!
//! One small text file per bridge, `/run/workbook/net/<bridge>.leases` (one place per host,
//! whatever the state root: the bridge and its addresses are the host's), one line per
//! lease:
//!
//! ```text
//! 10.203.0.2 4711 123456 quiet-otter wbv0acb0002 nat
//! ADDRESS    OWNER (pid, start time)  NAME  HOST-SIDE VETH  nat|-
//! ```
//!
//! Every change happens under an exclusive flock(2) on `<bridge>.lock`, so containers
//! started at the same moment read and write the file one at a time and never get the same
//! address. The owner is the runtime process (its pid and start time, as for the
//! container's state directory): a lease whose owner is dead was left by a run killed with
//! SIGKILL, and is reclaimed — its veth and NAT rule deleted, its address freed — by
//! `cleanup` and by the next run on that bridge.
//!
//! A run that ends normally leaves its veth to the kernel, which deletes the pair with the
//! container's network namespace, a moment after the runtime has exited (see
//! `attach::Attachment`). Until then the lease stays, with its dead owner: the address and
//! the veth's name are not free while the device exists. So the next run takes back only
//! the stale leases whose veth is gone ([`Locked::take_reclaimable`]).

use std::fs::{File, OpenOptions};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::owner::{owner_alive, owner_record};
use crate::{Error, Result};

/// One line of the lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    pub ip: Ipv4Addr,
    /// `<pid> <start time>` of the runtime that holds it.
    pub owner: String,
    pub name: String,
    pub veth: String,
    pub nat: bool,
}

impl LeaseRecord {
    fn line(&self) -> String {
        let nat = if self.nat { "nat" } else { "-" };
        format!(
            "{} {} {} {} {nat}\n",
            self.ip, self.owner, self.name, self.veth
        )
    }

    fn parse(line: &str) -> Option<LeaseRecord> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [ip, pid, start, name, veth, nat] = f.as_slice() else {
            return None;
        };
        Some(LeaseRecord {
            ip: ip.parse().ok()?,
            owner: format!("{pid} {start}"),
            name: name.to_string(),
            veth: veth.to_string(),
            nat: *nat == "nat",
        })
    }

    /// Whether the runtime that holds this lease still runs.
    pub fn alive(&self) -> bool {
        owner_alive(&self.owner)
    }
}

/// The lease file of one bridge, locked for as long as this value lives.
pub struct Locked {
    path: PathBuf,
    _lock: Flock<File>,
    pub entries: Vec<LeaseRecord>,
}

/// Locks the lease file of `bridge` under `dir` (waiting for other runs) and reads it.
pub fn lock(dir: &Path, bridge: &str) -> Result<Locked> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("creating the lease directory", dir, e))?;
    let lock_path = dir.join(format!("{bridge}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io("opening the lease lock", &lock_path, e))?;
    let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| {
        Error::sys_path("flock", "locking the address leases", &lock_path, e)
    })?;
    let path = dir.join(format!("{bridge}.leases"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("reading the address leases", &path, e)),
    };
    Ok(Locked {
        path,
        _lock: lock,
        entries: text.lines().filter_map(LeaseRecord::parse).collect(),
    })
}

impl Locked {
    /// Writes the entries back (to a new file renamed over the old: a reader never sees
    /// half).
    pub fn save(&self) -> Result<()> {
        let text: String = self.entries.iter().map(LeaseRecord::line).collect();
        let tmp = self.path.with_extension("leases.new");
        std::fs::write(&tmp, text)
            .map_err(|e| Error::io("writing the address leases", &tmp, e))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| Error::io("replacing the address leases", &self.path, e))
    }

    /// Removes and returns the leases of runs that are gone.
    pub fn take_stale(&mut self) -> Vec<LeaseRecord> {
        let (stale, live) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| !e.alive());
        self.entries = live;
        stale
    }

    /// Removes and returns the leases of runs that are gone and whose veth is gone too
    /// (`veth_gone` asks the kernel). A dead run's veth that still exists is being deleted
    /// by the kernel with its namespace (or something holds the namespace): its address and
    /// its name stay taken until then.
    pub fn take_reclaimable(
        &mut self,
        mut veth_gone: impl FnMut(&LeaseRecord) -> bool,
    ) -> Vec<LeaseRecord> {
        let (stale, live) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| !e.alive() && veth_gone(e));
        self.entries = live;
        stale
    }

    /// The lowest address of `candidates` that no lease holds.
    pub fn first_free(
        &self,
        mut candidates: impl Iterator<Item = Ipv4Addr>,
    ) -> Option<Ipv4Addr> {
        candidates.find(|ip| self.entries.iter().all(|e| e.ip != *ip))
    }
}

/// A lease held by this run. Dropping it gives the address back, unless it was
/// [kept](Lease::keep).
#[derive(Debug)]
pub struct Lease {
    dir: PathBuf,
    bridge: String,
    pub entry: LeaseRecord,
    kept: bool,
}

impl Lease {
    /// Records `entry` (owned by this process) in the locked file.
    pub fn record(
        locked: &mut Locked,
        dir: &Path,
        bridge: &str,
        ip: Ipv4Addr,
        name: &str,
        veth: &str,
        nat: bool,
    ) -> Result<Lease> {
        let entry = LeaseRecord {
            ip,
            owner: owner_record(),
            name: name.to_string(),
            veth: veth.to_string(),
            nat,
        };
        locked.entries.push(entry.clone());
        locked.save()?;
        Ok(Lease {
            dir: dir.to_path_buf(),
            bridge: bridge.to_string(),
            entry,
            kept: false,
        })
    }

    /// Leaves the lease in the file when this value goes: another process gives it back
    /// later, or the next run reclaims it once its owner and its veth are gone.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let result = lock(&self.dir, &self.bridge).and_then(|mut locked| {
            locked.entries.retain(|e| *e != self.entry);
            locked.save()
        });
        if let Err(e) = result {
            eprintln!(
                "warning: could not release the address {}: {e}",
                self.entry.ip
            );
        }
    }
}

/// The bridges that have a lease file under `dir`.
pub fn bridges(dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".leases")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back() {
        let e = LeaseRecord {
            ip: Ipv4Addr::new(10, 203, 0, 2),
            owner: "42 1000".into(),
            name: "box".into(),
            veth: "wbv0acb0002".into(),
            nat: true,
        };
        assert_eq!(LeaseRecord::parse(&e.line()), Some(e));
    }

    #[test]
    fn a_dead_owner_is_stale_and_its_address_free_again() {
        let dir = tempfile::tempdir().unwrap();
        let subnet: super::super::Subnet = "10.9.0.1/29".parse().unwrap();
        let mut locked = lock(dir.path(), "wbt").unwrap();
        let ip = locked.first_free(subnet.container_addresses()).unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 9, 0, 2));
        let lease =
            Lease::record(&mut locked, dir.path(), "wbt", ip, "a", "v", false).unwrap();
        // pid 0 never names a process: a lease of a dead run.
        locked.entries.push(LeaseRecord {
            owner: "0 0".into(),
            ip: Ipv4Addr::new(10, 9, 0, 3),
            ..lease.entry.clone()
        });
        assert_eq!(
            locked.first_free(subnet.container_addresses()),
            Some(Ipv4Addr::new(10, 9, 0, 4))
        );
        let stale = locked.take_stale();
        assert_eq!(stale.len(), 1);
        assert_eq!(
            locked.first_free(subnet.container_addresses()),
            Some(Ipv4Addr::new(10, 9, 0, 3))
        );
        locked.save().unwrap();
        drop(locked);
        drop(lease);
        assert!(lock(dir.path(), "wbt").unwrap().entries.is_empty());
    }

    #[test]
    fn a_dead_owners_lease_is_reclaimable_only_once_its_veth_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut locked = lock(dir.path(), "wbt").unwrap();
        let dead = |ip: [u8; 4], veth: &str| LeaseRecord {
            ip: Ipv4Addr::from(ip),
            owner: "0 0".into(),
            name: "x".into(),
            veth: veth.into(),
            nat: false,
        };
        locked.entries.push(dead([10, 9, 0, 2], "present"));
        locked.entries.push(dead([10, 9, 0, 3], "gone"));
        let taken = locked.take_reclaimable(|e| e.veth == "gone");
        assert_eq!(taken, vec![dead([10, 9, 0, 3], "gone")]);
        assert_eq!(locked.entries, vec![dead([10, 9, 0, 2], "present")]);
        // A kept lease stays in the file when dropped.
        let lease = Lease::record(
            &mut locked,
            dir.path(),
            "wbt",
            Ipv4Addr::new(10, 9, 0, 4),
            "k",
            "v",
            false,
        )
        .unwrap();
        drop(locked);
        lease.keep();
        assert_eq!(lock(dir.path(), "wbt").unwrap().entries.len(), 2);
    }
}
