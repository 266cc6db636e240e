//! A cgroup at a path someone else chose: an OCI engine's `linux.cgroupsPath`.
//!
//! [`super::Cgroup::create`] names its own cgroups below `workbook/`; an engine instead says
//! where the container's cgroup goes (podman: `/libpod_parent/libpod-<id>`, containerd:
//! `/<namespace>/<id>`), so that its own tools find it. The path is taken from the root of
//! each hierarchy, as runc's cgroupfs driver does for an absolute path; the directories
//! above it are made when missing and stay, like `workbook/`.

use std::path::{Component, Path, PathBuf};

use super::layout::{CgroupFs, Controller, Layout};
use super::limits::Limits;
use super::plan::{Plan, Step};
use crate::{Error, Result};

/// The v2 controllers handed down to the cgroup, when the machine offers them.
const WANTED_V2: [Controller; 3] = [Controller::Memory, Controller::Cpu, Controller::Pids];

// ANCHOR: plan_at
/// The steps that make the cgroup `path` (e.g. `/libpod_parent/libpod-1234`) with
/// `limits`: one directory per v1 hierarchy, or one on v2.
pub fn plan_at(fs: &CgroupFs, path: &Path, limits: &Limits) -> Result<Plan> {
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
            plan.steps.extend(super::v2::limit_files(&dir, limits));
            plan.dirs.push(dir);
        }
        _ => {
            for (asked, controller) in super::v2::needed(limits) {
                if fs.v1_hierarchy(controller).is_none() {
                    return Err(Error::Unsupported(format!(
                        "{asked} needs the cgroup v1 '{}' controller, which is not mounted here",
                        controller.name()
                    )));
                }
            }
            for h in &fs.v1 {
                let mut at = h.mount.clone();
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
                plan.steps.extend(list.v1_steps(&dir));
            }
            plan.steps.extend(super::v1::limit_files(dir_of, limits));
        }
    }
    Ok(plan)
}
// ANCHOR_END: plan_at

/// `+memory +cpu +pids`, as far as the hierarchy at `mount` offers them.
fn enable_line(mount: &Path) -> Result<String> {
    let file = mount.join("cgroup.controllers");
    let offered =
        std::fs::read_to_string(&file).map_err(|e| Error::io("reading", &file, e))?;
    let offered: Vec<&str> = offered.split_whitespace().collect();
    Ok(WANTED_V2
        .iter()
        .filter(|c| offered.contains(&c.name()))
        .map(|c| format!("+{}", c.name()))
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
        let plan = plan_at(&fs, Path::new("/engine/ctr"), &limits()).unwrap();
        assert_eq!(plan.dirs, vec![mount.join("engine/ctr")]);
        let enable = "+memory +cpu +pids";
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
        let plan = plan_at(&fs, Path::new("/engine/ctr"), &limits()).unwrap();
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
    fn paths_are_taken_from_the_root_and_may_not_climb() {
        assert_eq!(relative(Path::new("/a/b")).unwrap(), PathBuf::from("a/b"));
        assert_eq!(relative(Path::new("a/b")).unwrap(), PathBuf::from("a/b"));
        assert!(relative(Path::new("/a/../..")).is_err());
        assert!(relative(Path::new("/")).is_err());
    }
}
