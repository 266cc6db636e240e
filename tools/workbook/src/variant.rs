//! A variant of the tree in which chosen exercises hold chosen text and every other exercise
//! holds its reference: how `check ID` judges only ID's code (a wrong 04.1 cannot fail a
//! right 04.2, a cut 01.1 cannot hide a right 01.2), and how `prove` cuts one hole or puts
//! one wrong answer in. The variant is a scratch copy under target/ that is only ever
//! written where it differs, so cargo's fingerprints stay valid and each build is
//! incremental.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::exercises::Exercise;
use crate::holes::{self, Site};
use crate::markers;
use crate::state::State;
use crate::Fail;

/// The text every exercise's region holds in a variant (id → body).
pub type Bodies = BTreeMap<String, String>;

/// The reference of every exercise, from the learner's tree (saved at `start`, or the
/// committed one), or why one is missing.
pub fn references(root: &Path, all: &[Exercise]) -> Result<Bodies, Fail> {
    let state = State::new(root);
    let mut bodies = Bodies::new();
    for exercise in all {
        let site = Site::read(root, exercise)?;
        // Not started and not cut: the file holds the reference (a maintainer's edit of it
        // included). Else the one saved at `start`, or the committed one.
        let reference =
            if !state.started(&exercise.id) && !markers::is_cut(exercise, site.body()) {
                site.body().to_string()
            } else if let Some(text) = holes::reference(root, exercise, &state) {
                text
            } else {
                return Err(Fail::tool(format!(
                    "exercise {} is cut in {} and no reference of it is saved: \
                 `cargo workbook reset {}` first",
                    exercise.id, exercise.file, exercise.id
                )));
            };
        bodies.insert(exercise.id.clone(), reference);
    }
    Ok(bodies)
}

/// The bodies the learner's tree holds now.
pub fn current(root: &Path, all: &[Exercise]) -> Result<Bodies, Fail> {
    let mut bodies = Bodies::new();
    for exercise in all {
        let site = Site::read(root, exercise)?;
        bodies.insert(exercise.id.clone(), site.body().to_string());
    }
    Ok(bodies)
}

/// The text of each exercise file of `root` with `bodies` in its regions.
pub fn texts(root: &Path, all: &[Exercise], bodies: &Bodies) -> Result<Files, Fail> {
    let mut files: BTreeMap<&str, Vec<&Exercise>> = BTreeMap::new();
    for exercise in all {
        files
            .entry(exercise.file.as_str())
            .or_default()
            .push(exercise);
    }
    let mut out = Files::new();
    for (file, exercises) in files {
        let path = root.join(file);
        let mut text = std::fs::read_to_string(&path)
            .map_err(|e| Fail::tool(format!("cannot read {}: {e}", path.display())))?;
        for exercise in exercises {
            let Some(body) = bodies.get(&exercise.id) else {
                continue;
            };
            // Found again each time: two exercises may share a file.
            let region = markers::find(exercise, &text)?;
            text = markers::replace(&text, &region, body);
        }
        out.insert(PathBuf::from(file), text.into_bytes());
    }
    Ok(out)
}

/// Files whose text in the variant is not the learner's (path in the tree → text).
pub type Files = BTreeMap<PathBuf, Vec<u8>>;

/// Where the check's scratch copy lives: `target/workbook-check/tree` (its own target
/// directory beside it, `target/workbook-check/target`).
pub fn check_tree(root: &Path) -> PathBuf {
    target_dir(root).join("workbook-check").join("tree")
}

/// The learner's target directory (CARGO_TARGET_DIR, or target/).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Makes `tree` a copy of the repository's files (tracked, and new ones git does not
/// ignore), writing only what changed so that cargo's fingerprints stay valid between runs.
/// A file written gets a new mtime, so cargo sees it changed even when its text goes back
/// to an older one.
pub fn sync(root: &Path, tree: &Path, changed: &Files) -> Result<(), Fail> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| {
            Fail::tool(format!(
                "the check copies the files git knows, but git did not run: {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(Fail::tool(format!(
            "git ls-files failed in {}: is it a git checkout?",
            root.display()
        )));
    }
    let files: BTreeSet<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        // Never the build's output (a tree without .gitignore would list target/, the
        // copy itself included) nor the tool's memory.
        .filter(|name| {
            !matches!(
                name.components()
                    .next()
                    .and_then(|c| c.as_os_str().to_str()),
                Some("target" | ".workbook" | ".git")
            )
        })
        .filter(|name| root.join(name).is_file())
        .collect();
    let copy_error = |path: &Path, e: std::io::Error| {
        Fail::tool(format!(
            "cannot copy {} into {}: {e}",
            path.display(),
            tree.display()
        ))
    };
    for name in &files {
        let (from, to) = (root.join(name), tree.join(name));
        let new = match changed.get(name) {
            Some(text) => text.clone(),
            None => std::fs::read(&from).map_err(|e| copy_error(&from, e))?,
        };
        if std::fs::read(&to).ok().as_ref() == Some(&new) {
            continue;
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| copy_error(dir, e))?;
        }
        let _ = std::fs::remove_file(&to);
        std::fs::write(&to, &new).map_err(|e| copy_error(&from, e))?;
        let mode = std::fs::metadata(&from).map_err(|e| copy_error(&from, e))?;
        std::fs::set_permissions(&to, mode.permissions())
            .map_err(|e| copy_error(&to, e))?;
    }
    remove_others(tree, tree, &files);
    Ok(())
}

fn remove_others(tree: &Path, dir: &Path, keep: &BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            remove_others(tree, &path, keep);
        } else if path.strip_prefix(tree).is_ok_and(|rel| !keep.contains(rel)) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Makes `tree` the learner's tree with `bodies` in the exercise regions. A file is written
/// only when its text in the variant differs from the copy's: the text is made in memory.
pub fn make(
    root: &Path,
    tree: &Path,
    all: &[Exercise],
    bodies: &Bodies,
) -> Result<(), Fail> {
    sync(root, tree, &texts(root, all, bodies)?)
}

/// The bodies of the variant that judges `mine` alone: the learner's text there, the
/// reference everywhere else.
pub fn alone(mine: &[&Exercise], current: &Bodies, references: &Bodies) -> Bodies {
    let mut bodies = references.clone();
    for exercise in mine {
        if let Some(text) = current.get(&exercise.id) {
            bodies.insert(exercise.id.clone(), text.clone());
        }
    }
    bodies
}

/// The exercises (other than `mine`) whose region differs from its reference now.
pub fn others_changed<'a>(
    all: &'a [Exercise],
    mine: &[&Exercise],
    current: &Bodies,
    references: &Bodies,
) -> Vec<&'a Exercise> {
    all.iter()
        .filter(|e| !mine.iter().any(|m| m.id == e.id))
        .filter(|e| current.get(&e.id) != references.get(&e.id))
        .collect()
}
