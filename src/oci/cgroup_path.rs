//! A cgroup at a path someone else chose: an OCI engine's `linux.cgroupsPath`.
//!
//! [`crate::cgroup::Cgroup::create`] names its own cgroups below `workbook/`; an engine instead says
//! where the container's cgroup goes (podman: `/libpod_parent/libpod-<id>`, containerd:
//! `/<namespace>/<id>`), so that its own tools find it. The path is taken from the root of
//! each hierarchy, as runc's cgroupfs driver does for an absolute path; the directories
//! above it are made when missing and stay, like `workbook/`.

use std::path::{Component, Path, PathBuf};

use crate::cgroup::layout::{CgroupFs, CgroupMount, Controller, Layout};
use crate::cgroup::limits::Limits;
use crate::cgroup::plan::{Plan, Step};
use crate::cgroup::{v1, v2};
use crate::{Error, Result};

/// The v2 controllers handed down to the cgroup, when the machine offers them: chapter 5's,
/// then those of the limits engines add (see [`super::resources`]).
const WANTED_V2: [&str; 6] = ["memory", "cpu", "pids", "cpuset", "io", "hugetlb"];

/// The v1 hierarchies runc's cgroupfs driver joins beside those of the limits: a
/// container in the host's `freezer` cgroup could not be paused, one in the host's
/// `name=systemd` cgroup would be counted as part of the service that started the engine.
const ALSO_JOINED: [&str; 10] = [
    "cpuset",
    "blkio",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "freezer",
    "rdma",
    "misc",
    "name=systemd",
];

/// The mount points of the v1 hierarchies in `mountinfo` that the container joins
/// besides the library's own (those of `fs.v1`, which carry a controller of
/// `Controller::ALL`): those of `ALSO_JOINED`, each hierarchy once (one may be
/// mounted twice; its controllers name it, since a controller is in one hierarchy only).
pub fn other_v1_mounts(fs: &CgroupFs, mounts: &[CgroupMount]) -> Vec<PathBuf> {
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut out = Vec::new();
    if fs.layout == Layout::Unified {
        return out;
    }
    for m in mounts.iter().cloned() {
        let ours = |o: &str| Controller::ALL.iter().any(|c| c.name() == o);
        let names: Vec<String> = m
            .options
            .into_iter()
            .filter(|o| ALSO_JOINED.contains(&o.as_str()) || ours(o))
            .collect();
        let joined = m.fstype == "cgroup" && !names.is_empty();
        let known = names.iter().any(|o| ours(o))
            || fs.v1.iter().any(|h| h.mount == m.mount_point)
            || seen.contains(&names);
        if joined && !known {
            seen.push(names);
            out.push(m.mount_point);
        }
    }
    out
}

/// Copies `cpuset.cpus` and `cpuset.mems` down from the parent into the new v1 cpuset
/// cgroup `dir` where they are empty, as runc does: the kernel makes a cpuset cgroup with
/// neither, and refuses to move a task into one that has no CPU or memory node to run
/// it on (ENOSPC). Any other directory is left as it is.
pub fn inherit_cpuset(dir: &Path) -> std::io::Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(file);
        match std::fs::read_to_string(&own) {
            Ok(text) if text.trim().is_empty() => {}
            _ => continue,
        }
        let Some(parent) = dir.parent() else {
            continue;
        };
        let value = std::fs::read_to_string(parent.join(file))?;
        std::fs::write(&own, value.trim())?;
    }
    Ok(())
}

/// The steps that make the cgroup `path` (e.g. `/libpod_parent/libpod-1234`) with
/// `limits`: one directory per v1 hierarchy (those of `fs` and the `others` it joins
/// too), or one on v2.
pub fn plan_at(
    fs: &CgroupFs,
    others: &[PathBuf],
    path: &Path,
    limits: &Limits,
) -> Result<Plan> {
    let rel = relative(path)?;
    let mut plan = Plan {
        dirs: Vec::new(),
        parents: Vec::new(),
        steps: Vec::new(),
    };
    match (&fs.layout, &fs.unified) {
        (Layout::Unified, Some((mount, _))) => {
            let enable = enable_line(mount)?;
            let dir = mount.join(&rel);
            let mut at = mount.clone();
            for part in rel.components() {
                if !enable.is_empty() {
                    // Top-down: each level hands the controllers to the next one.
                    plan.steps.push(Step::write_if_present(
                        at.join("cgroup.subtree_control"),
                        &enable,
                    ));
                }
                at = at.join(part);
                plan.steps.push(Step::mkdir(at.clone(), true));
            }
            if let Some(list) = &limits.devices {
                plan.steps.push(Step::AttachDevices {
                    dir: dir.clone(),
                    list: list.clone(),
                });
            }
            plan.steps.extend(v2::limit_files(&dir, limits));
            plan.dirs.push(dir);
        }
        _ => {
            for (asked, controller) in v2::needed(limits) {
                if fs.v1_hierarchy(controller).is_none() {
                    return Err(Error::Unsupported(format!(
                        "{asked} needs the cgroup v1 '{}' controller, which is not mounted here",
                        controller.name()
                    )));
                }
            }
            for mount in fs.v1.iter().map(|h| &h.mount).chain(others) {
                let mut at = mount.clone();
                for part in rel.components() {
                    at = at.join(part);
                    plan.steps.push(Step::mkdir(at.clone(), true));
                }
                plan.dirs.push(at);
            }
            let dir_of = |c: Controller| -> Option<PathBuf> {
                fs.v1_hierarchy(c).map(|h| h.mount.join(&rel))
            };
            if let (Some(list), Some(dir)) = (&limits.devices, dir_of(Controller::Devices))
            {
                plan.steps.extend(v1::device_steps(list, &dir));
            }
            plan.steps.extend(v1::limit_files(dir_of, limits));
        }
    }
    Ok(plan)
}

// ANCHOR: claim
/// Claims the cgroup of `plan` for one container, before anything is made: a directory
/// that exists and holds processes (in it or below it) is refused, since taking it would
/// put the container beside them and `delete` would kill them (runc 1.1 only warned, and
/// v2's `cgroup.kill` is recursive). An empty one is used but stays its maker's. Returns
/// the directories this container makes itself, the only ones `delete` may kill and
/// remove; their `mkdir` becomes exclusive, so that one made by someone else between this
/// check and the mkdir fails with EEXIST rather than being taken.
pub fn claim(plan: &mut Plan) -> Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    for dir in &plan.dirs {
        if !dir.exists() {
            made.push(dir.clone());
        } else if holds_processes(dir) {
            return Err(not_ours(dir));
        }
    }
    for step in &mut plan.steps {
        if let Step::Mkdir { path, exist_ok } = step {
            if made.contains(path) {
                *exist_ok = false;
            }
        }
    }
    Ok(made)
}
// ANCHOR_END: claim

fn not_ours(dir: &Path) -> Error {
    Error::Invalid(format!(
        "the cgroup {} already holds processes that are not this container's: give linux.cgroupsPath a cgroup of its own",
        dir.display()
    ))
}

/// Whether a process is in the cgroup `dir` or below it: v2 says so in `cgroup.events`
/// (`populated 1`); v1 is asked level by level, in `cgroup.procs` and `tasks` (a thread
/// may sit in a cgroup its process is not in).
pub fn holds_processes(dir: &Path) -> bool {
    if v2::populated(dir) {
        return true;
    }
    let listed = |file: &str| {
        std::fs::read_to_string(dir.join(file)).is_ok_and(|t| !t.trim().is_empty())
    };
    if listed("cgroup.procs") || listed("tasks") {
        return true;
    }
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && holds_processes(&e.path()))
    })
}

/// `+memory +cpu +pids …`, as far as the hierarchy at `mount` offers them.
fn enable_line(mount: &Path) -> Result<String> {
    let file = mount.join("cgroup.controllers");
    let offered =
        std::fs::read_to_string(&file).map_err(|e| Error::io("reading", &file, e))?;
    let offered: Vec<&str> = offered.split_whitespace().collect();
    Ok(WANTED_V2
        .iter()
        .filter(|c| offered.contains(c))
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The path without its leading `/`, refused when it could climb out (`..`) or is empty.
fn relative(path: &Path) -> Result<PathBuf> {
    let mut rel = PathBuf::new();
    for part in path.components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => rel.push(name),
            _ => {
                return Err(Error::Invalid(format!(
                    "the cgroup path {} must not contain '..'",
                    path.display()
                )))
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(Error::Invalid(format!(
            "the cgroup path '{}' names the root of the hierarchy, which holds the host's processes",
            path.display()
        )));
    }
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::layout::V1Hierarchy;

    fn limits() -> Limits {
        Limits {
            memory: Some("64M".parse().unwrap()),
            pids: Some("32".parse().unwrap()),
            ..Limits::default()
        }
    }

    #[test]
    fn v2_hands_the_controllers_down_every_level_then_writes_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().to_path_buf();
        std::fs::write(
            mount.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        let fs = CgroupFs {
            layout: Layout::Unified,
            unified: Some((mount.clone(), PathBuf::from("/"))),
            v1: Vec::new(),
        };
        let plan = plan_at(&fs, &[], Path::new("/engine/ctr"), &limits()).unwrap();
        assert_eq!(plan.dirs, vec![mount.join("engine/ctr")]);
        let enable = "+memory +cpu +pids +cpuset +io";
        assert_eq!(
            plan.steps,
            vec![
                Step::write_if_present(mount.join("cgroup.subtree_control"), enable),
                Step::mkdir(mount.join("engine"), true),
                Step::write_if_present(mount.join("engine/cgroup.subtree_control"), enable),
                Step::mkdir(mount.join("engine/ctr"), true),
                Step::write(mount.join("engine/ctr/memory.max"), "67108864"),
                Step::write_if_present(mount.join("engine/ctr/memory.swap.max"), "0"),
                Step::write(mount.join("engine/ctr/pids.max"), "32"),
            ]
        );
    }

    #[test]
    fn v1_makes_the_path_in_every_hierarchy_from_its_root() {
        let h = |c: Controller, name: &str| V1Hierarchy {
            controllers: vec![c],
            mount: PathBuf::from("/cg").join(name),
            own: PathBuf::from("/somewhere/else"),
        };
        let fs = CgroupFs {
            layout: Layout::Hybrid,
            unified: None,
            v1: vec![h(Controller::Memory, "memory"), h(Controller::Pids, "pids")],
        };
        let plan = plan_at(&fs, &[], Path::new("/engine/ctr"), &limits()).unwrap();
        assert_eq!(
            plan.dirs,
            vec![
                PathBuf::from("/cg/memory/engine/ctr"),
                PathBuf::from("/cg/pids/engine/ctr")
            ]
        );
        assert!(plan.steps.contains(&Step::write(
            PathBuf::from("/cg/memory/engine/ctr/memory.limit_in_bytes"),
            "67108864"
        )));
        assert!(plan.steps.contains(&Step::write(
            PathBuf::from("/cg/pids/engine/ctr/pids.max"),
            "32"
        )));
    }

    #[test]
    fn v1_joins_every_hierarchy_runc_joins_once_and_not_cgroup2() {
        let mountinfo = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/elogind rw - cgroup cgroup rw,name=elogind
43 31 0:34 / /mnt/freezer-again rw - cgroup cgroup rw,freezer
";
        let fs = CgroupFs::from_tables(Layout::Hybrid, mountinfo, "").unwrap();
        let mounts = crate::cgroup::layout::parse_mountinfo(mountinfo);
        let others = other_v1_mounts(&fs, &mounts);
        let names: Vec<&str> = others
            .iter()
            .map(|p| p.to_str().unwrap().trim_start_matches("/sys/fs/cgroup/"))
            .collect();
        // cpu,cpuacct and memory are the library's own; a named hierarchy other than
        // systemd's is not runc's; the second freezer mount is the same hierarchy.
        assert_eq!(names, ["cpuset", "freezer", "net_cls,net_prio", "systemd"]);
    }

    #[test]
    fn a_new_cpuset_cgroup_gets_its_parents_cpus_and_mems() {
        let dir = tempfile::tempdir().unwrap();
        let child = dir.path().join("ctr");
        std::fs::create_dir(&child).unwrap();
        std::fs::write(dir.path().join("cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(dir.path().join("cpuset.mems"), "0\n").unwrap();
        std::fs::write(child.join("cpuset.cpus"), "\n").unwrap();
        std::fs::write(child.join("cpuset.mems"), "0\n").unwrap();
        inherit_cpuset(&child).unwrap();
        assert_eq!(
            std::fs::read_to_string(child.join("cpuset.cpus")).unwrap(),
            "0-1"
        );
        assert_eq!(
            std::fs::read_to_string(child.join("cpuset.mems")).unwrap(),
            "0\n"
        );
        // Not a cpuset cgroup: nothing written.
        let other = dir.path().join("memory");
        std::fs::create_dir(&other).unwrap();
        inherit_cpuset(&other).unwrap();
        assert!(!other.join("cpuset.cpus").exists());
    }

    #[test]
    fn claim_refuses_a_cgroup_with_processes_and_makes_only_the_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let busy = dir.path().join("busy");
        let empty = dir.path().join("empty");
        let below = dir.path().join("below");
        std::fs::create_dir_all(below.join("child")).unwrap();
        for d in [&busy, &empty] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("cgroup.procs"), "").unwrap();
        }
        std::fs::write(busy.join("cgroup.procs"), "4242\n").unwrap();
        std::fs::write(below.join("child/tasks"), "4243\n").unwrap();
        let plan_of = |dirs: Vec<PathBuf>| Plan {
            steps: dirs.iter().map(|d| Step::mkdir(d.clone(), true)).collect(),
            dirs,
            parents: Vec::new(),
        };
        for taken in [&busy, &below] {
            let err = claim(&mut plan_of(vec![taken.clone()]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&taken.display().to_string()), "{err}");
        }
        let new = dir.path().join("new");
        let mut plan = plan_of(vec![empty.clone(), new.clone()]);
        assert_eq!(claim(&mut plan).unwrap(), vec![new.clone()]);
        assert!(plan.steps.contains(&Step::mkdir(new, false)));
        assert!(plan.steps.contains(&Step::mkdir(empty, true)));
    }

    #[test]
    fn paths_are_taken_from_the_root_and_may_not_climb() {
        assert_eq!(relative(Path::new("/a/b")).unwrap(), PathBuf::from("a/b"));
        assert_eq!(relative(Path::new("a/b")).unwrap(), PathBuf::from("a/b"));
        assert!(relative(Path::new("/a/../..")).is_err());
        assert!(relative(Path::new("/")).is_err());
    }
}
