//! `linux.intelRdt`: the container's class of Intel's Resource Director Technology, through
//! the resctrl filesystem (Documentation/arch/x86/resctrl.rst), with config-linux.md's rules.
//!
//! resctrl is cgroup-like: a directory is a class of service (CLOS), its `schemata` file
//! holds the class's share of the L3 cache (`L3:0=7f0;1=1f`) and of memory bandwidth
//! (`MB:0=20`), and its `tasks` file the pids in the class. The root is the default class.
//!
//! - `closID` names the class; without it the class is the container's own, named after
//!   its id, made by `create` and removed by `delete`. A named class is never removed.
//! - A named class that exists must already hold the schemata asked for; one asked for
//!   without schemata must exist (it is an administrator's).
//! - `enableMonitoring`: a monitoring group `mon_groups/<id>` of the container's own.
//!
//! Only a CPU with RDT, and a kernel with resctrl mounted, can give any of it: elsewhere a
//! config that asks is refused, as the spec says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// `linux.intelRdt`, parsed with the rest of config.json. A field it does not know
/// (runtime-spec 1.1's `enableCMT`, `enableMBM`) is refused, as everywhere in the config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntelRdt {
    #[serde(rename = "closID")]
    pub clos_id: Option<String>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    #[serde(default)]
    pub schemata: Vec<String>,
    #[serde(default)]
    pub enable_monitoring: bool,
}

impl IntelRdt {
    /// The field when it asks for something (`{}` does not).
    pub fn asked(field: Option<&IntelRdt>) -> Option<&IntelRdt> {
        field.filter(|rdt| **rdt != IntelRdt::default())
    }

    /// The values config-linux.md constrains: MB's prefix, a closID that names one
    /// directory of resctrl (or `/`, its root), no newline in a schema.
    pub fn check(&self) -> Result<()> {
        if let Some(mb) = &self.mem_bw_schema {
            if !mb.starts_with("MB:") {
                return Err(Error::Invalid(format!(
                    "config.json: linux.intelRdt.memBwSchema must start with MB: (it is {mb:?})"
                )));
            }
        }
        if let Some(id) = &self.clos_id {
            if id != "/" && (id.is_empty() || id.contains('/') || id == "." || id == "..") {
                return Err(Error::Invalid(format!(
                    "config.json: linux.intelRdt.closID {id:?} is not a directory name"
                )));
            }
        }
        if self.lines().iter().any(|l| l.contains('\n')) {
            return Err(Error::Invalid(
                "config.json: linux.intelRdt: a schema holds a newline".into(),
            ));
        }
        Ok(())
    }

    /// The schemata lines in the order the spec wants them written: L3, MB, then
    /// `schemata`.
    pub fn lines(&self) -> Vec<String> {
        let named = [&self.l3_cache_schema, &self.mem_bw_schema];
        let named = named.into_iter().flatten().cloned();
        named.chain(self.schemata.iter().cloned()).collect()
    }
}

/// Where the resctrl filesystem is mounted, from /proc/self/mountinfo's text.
pub fn resctrl_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let mount_point = left.split(' ').nth(4)?;
        right
            .starts_with("resctrl ")
            .then(|| PathBuf::from(mount_point))
    })
}

/// The runtime's mount of resctrl, or the spec's error.
pub fn host_resctrl() -> Result<PathBuf> {
    let mountinfo = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(mountinfo)
        .map_err(|e| Error::io("looking for resctrl", mountinfo, e))?;
    resctrl_mount(&text).ok_or_else(|| {
        Error::Unsupported(
            "config.json asks for linux.intelRdt, and the host has no resctrl filesystem mounted (mount -t resctrl resctrl /sys/fs/resctrl, on a CPU with RDT)".into(),
        )
    })
}

/// What `create` made in resctrl, for `delete` to remove.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
pub struct Made {
    /// The container's own class (no closID).
    pub class: Option<PathBuf>,
    /// Its monitoring group.
    pub monitoring: Option<PathBuf>,
}

/// Puts `pid` (container `id`) into its class below the resctrl mount `root`, making what
/// the rules ask; returns what it made.
pub fn join(rdt: &IntelRdt, root: &Path, id: &str, pid: i32) -> Result<Made> {
    let lines = rdt.lines();
    let mut made = Made::default();
    let class = match rdt.clos_id.as_deref() {
        Some("/") => root.to_path_buf(),
        Some(name) => root.join(name),
        None => root.join(id),
    };
    let exists = class.is_dir();
    if rdt.clos_id.is_some() && exists && !lines.is_empty() {
        let now = read(&class.join("schemata"))?;
        if let Some(line) = lines.iter().find(|l| !holds(&now, l)) {
            return Err(Error::Invalid(format!(
                "linux.intelRdt: the class {} exists with other schemata: it has no {line:?} (it holds {:?})",
                class.display(),
                now.trim()
            )));
        }
    } else if rdt.clos_id.is_some() && !exists && lines.is_empty() {
        return Err(Error::Invalid(format!(
            "linux.intelRdt: the class {} does not exist, and the config gives no schemata to make it with",
            class.display()
        )));
    } else {
        if !exists {
            std::fs::create_dir(&class)
                .map_err(|e| Error::io("making the RDT class", &class, e))?;
            made.class = rdt.clos_id.is_none().then(|| class.clone());
        }
        for line in &lines {
            // One line a write: the kernel parses each and says which one it refuses.
            write(&class.join("schemata"), line).inspect_err(|_| remove(&made))?;
        }
    }
    write(&class.join("tasks"), &pid.to_string()).inspect_err(|_| remove(&made))?;
    if rdt.enable_monitoring {
        let group = class.join("mon_groups").join(id);
        std::fs::create_dir(&group)
            .map_err(|e| Error::io("making the RDT monitoring group", &group, e))
            .inspect_err(|_| remove(&made))?;
        made.monitoring = Some(group.clone());
        write(&group.join("tasks"), &pid.to_string()).inspect_err(|_| remove(&made))?;
    }
    Ok(made)
}

/// Removes what `join` made (the kernel moves the tasks of a removed group to its parent).
pub fn remove(made: &Made) {
    for dir in [&made.monitoring, &made.class].into_iter().flatten() {
        if let Err(e) = std::fs::remove_dir(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("warning: removing {} failed: {e}", dir.display());
            }
        }
    }
}

/// Whether the `schemata` text holds every domain of `line` (`L3:0=7f0;1=1f`) with that
/// value. The kernel prints a resource's domains in its own order, with leading spaces and
/// hex without leading zeros.
fn holds(schemata: &str, line: &str) -> bool {
    let parse = |l: &str| -> Option<(String, BTreeMap<String, String>)> {
        let (res, domains) = l.trim().split_once(':')?;
        let values = domains
            .split(';')
            .filter_map(|d| d.split_once('='))
            .map(|(k, v)| {
                let v = v.trim().to_lowercase();
                let v = v.trim_start_matches('0');
                (
                    k.trim().to_string(),
                    if v.is_empty() { "0" } else { v }.to_string(),
                )
            })
            .collect();
        Some((res.trim().to_string(), values))
    };
    let Some((res, want)) = parse(line) else {
        return false;
    };
    schemata
        .lines()
        .filter_map(parse)
        .any(|(r, have)| r == res && want.iter().all(|(k, v)| have.get(k) == Some(v)))
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).map_err(|e| Error::io("reading", file, e))
}

fn write(file: &Path, value: &str) -> Result<()> {
    std::fs::write(file, value)
        .map_err(|e| Error::io(format!("writing {value:?} to"), file, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn rdt(v: Value) -> IntelRdt {
        let rdt: IntelRdt = serde_json::from_value(v).unwrap();
        rdt.check().unwrap();
        rdt
    }

    /// A fake resctrl root: a dir whose classes get the files the kernel would make.
    fn fake_class(root: &Path, name: &str, schemata: &str) -> PathBuf {
        // (mon_groups too, which the kernel makes in every class that can monitor)
        let class = root.join(name);
        std::fs::create_dir_all(class.join("mon_groups")).unwrap();
        std::fs::write(class.join("schemata"), schemata).unwrap();
        std::fs::write(class.join("tasks"), "").unwrap();
        class
    }

    #[test]
    fn resctrl_is_found_by_its_filesystem_type() {
        let line =
            "40 23 0:36 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw";
        assert_eq!(resctrl_mount(line), Some(PathBuf::from("/sys/fs/resctrl")));
        assert_eq!(resctrl_mount("22 1 0:21 / /sys rw - sysfs sysfs rw"), None);
    }

    #[test]
    fn empty_asks_nothing_and_bad_values_are_refused() {
        assert_eq!(IntelRdt::asked(None), None);
        assert_eq!(IntelRdt::asked(Some(&IntelRdt::default())), None);
        let closed = rdt(json!({"closID": "gold"}));
        assert_eq!(IntelRdt::asked(Some(&closed)), Some(&closed));
        let unknown = serde_json::from_value::<IntelRdt>(json!({"enableCMT": true}));
        assert!(unknown.unwrap_err().to_string().contains("unknown field"));
        let bad = |v: Value| {
            let rdt: IntelRdt = serde_json::from_value(v).unwrap();
            rdt.check().unwrap_err().to_string()
        };
        assert!(bad(json!({"memBwSchema": "L3:0=f"})).contains("MB:"));
        assert!(bad(json!({"closID": "../etc"})).contains("directory name"));
        assert!(bad(json!({"schemata": ["L3:0=f\nMB:0=1"]})).contains("newline"));
    }

    #[test]
    fn lines_go_l3_then_mb_then_schemata() {
        let r = rdt(
            json!({"schemata": ["L2:0=f"], "memBwSchema": "MB:0=20", "l3CacheSchema": "L3:0=7f0"}),
        );
        assert_eq!(r.lines(), ["L3:0=7f0", "MB:0=20", "L2:0=f"]);
    }

    #[test]
    fn the_kernels_schemata_are_compared_by_value() {
        let kernel = "    L3:0=07f0;1=001f\n    MB:0= 20;1= 70\n";
        assert!(holds(kernel, "L3:1=1f;0=7F0"));
        assert!(holds(kernel, "MB:0=20"));
        assert!(!holds(kernel, "MB:0=30"));
        assert!(!holds(kernel, "L2:0=f"));
    }

    #[test]
    fn without_a_clos_id_the_class_is_the_containers_own() {
        let root = tempfile::tempdir().unwrap();
        let r = rdt(json!({"l3CacheSchema": "L3:0=f"}));
        // The fake has no kernel to make the files: join writes into new plain files.
        let made = join(&r, root.path(), "ctr", 42).unwrap();
        let class = root.path().join("ctr");
        assert_eq!(made.class.as_deref(), Some(class.as_path()));
        assert_eq!(
            std::fs::read_to_string(class.join("schemata")).unwrap(),
            "L3:0=f"
        );
        assert_eq!(std::fs::read_to_string(class.join("tasks")).unwrap(), "42");
        assert!(
            remove_dir_with_files(&made),
            "delete removes the container's own class"
        );
    }

    /// `remove` on the fake, whose directories hold the plain files join wrote (the
    /// kernel's rmdir takes a class with its files).
    fn remove_dir_with_files(made: &Made) -> bool {
        for dir in [&made.monitoring, &made.class].into_iter().flatten() {
            for f in ["schemata", "tasks"] {
                let _ = std::fs::remove_file(dir.join(f));
            }
        }
        remove(made);
        [&made.monitoring, &made.class]
            .into_iter()
            .flatten()
            .all(|d| !d.exists())
    }

    #[test]
    fn monitoring_is_a_group_of_the_containers_own_in_its_class() {
        let root = tempfile::tempdir().unwrap();
        let class = fake_class(root.path(), "gold", "    MB:0=20\n");
        let r = rdt(json!({"closID": "gold", "enableMonitoring": true}));
        let made = join(&r, root.path(), "ctr", 11).unwrap();
        let group = class.join("mon_groups/ctr");
        assert_eq!(made.monitoring.as_deref(), Some(group.as_path()));
        assert_eq!(made.class, None);
        assert_eq!(std::fs::read_to_string(group.join("tasks")).unwrap(), "11");
        assert!(remove_dir_with_files(&made));
        assert!(class.exists(), "the named class stays");
    }

    #[test]
    fn a_named_class_is_joined_checked_and_never_made_without_schemata() {
        let root = tempfile::tempdir().unwrap();
        let class = fake_class(root.path(), "gold", "    L3:0=7f0\n    MB:0=20\n");
        let made = join(&rdt(json!({"closID": "gold"})), root.path(), "a", 7).unwrap();
        assert_eq!(
            made,
            Made::default(),
            "a named class is the administrator's"
        );
        assert_eq!(std::fs::read_to_string(class.join("tasks")).unwrap(), "7");
        let same = rdt(json!({"closID": "gold", "memBwSchema": "MB:0=20"}));
        assert!(join(&same, root.path(), "b", 8).is_ok());
        let other = rdt(json!({"closID": "gold", "memBwSchema": "MB:0=50"}));
        let err = join(&other, root.path(), "c", 9).unwrap_err().to_string();
        assert!(err.contains("other schemata"), "{err}");
        let missing = rdt(json!({"closID": "silver"}));
        let err = join(&missing, root.path(), "d", 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!root.path().join("silver").exists());
    }

    #[test]
    fn a_named_class_that_is_missing_is_made_with_its_schemata_and_kept() {
        let root = tempfile::tempdir().unwrap();
        let r = rdt(json!({"closID": "new", "memBwSchema": "MB:0=30"}));
        let made = join(&r, root.path(), "ctr", 5).unwrap();
        assert_eq!(made.class, None, "delete must not remove a named class");
        let class = root.path().join("new");
        assert_eq!(
            std::fs::read_to_string(class.join("schemata")).unwrap(),
            "MB:0=30"
        );
    }

    #[test]
    fn the_default_class_is_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("tasks"), "").unwrap();
        let made = join(&rdt(json!({"closID": "/"})), root.path(), "ctr", 3).unwrap();
        assert_eq!(made, Made::default());
        assert_eq!(
            std::fs::read_to_string(root.path().join("tasks")).unwrap(),
            "3"
        );
    }
}
