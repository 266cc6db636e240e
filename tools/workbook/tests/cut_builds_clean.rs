//! Every hole of the real workbook, cut at once by `cargo workbook start`, leaves a crate
//! that `cargo check --all-targets` builds without a single warning: a learner who starts
//! a chapter sees no unused-variable or unused-import noise, and no `cargo fix` suggestion
//! that would delete the imports the exercise needs. Every line the tool wrote fits the
//! book's 92 columns. The check runs on a scratch copy (target/workbook-cut/), never on the
//! working tree; it takes a few minutes the first time (a target directory of its own).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOOL: &str = env!("CARGO_BIN_EXE_workbook");

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files git knows (tracked, and new ones it does not ignore), copied into `tree`.
fn copy_tree(root: &Path, tree: &Path) {
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
        .expect("run git ls-files");
    assert!(out.status.success(), "git ls-files in {}", root.display());
    let _ = std::fs::remove_dir_all(tree);
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = PathBuf::from(String::from_utf8_lossy(name).into_owned());
        let from = root.join(&name);
        if !from.is_file() {
            continue;
        }
        let to = tree.join(&name);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&from, &to).expect("copy");
    }
}

#[test]
fn every_hole_cut_at_once_builds_without_a_warning() {
    let root = repository();
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("workbook-cut");
    let tree = base.join("tree");
    copy_tree(&root, &tree);
    let before =
        std::fs::read_to_string(tree.join("exercises.toml")).expect("exercises.toml");
    let chapters: BTreeSet<&str> = before
        .lines()
        .filter_map(|l| l.strip_prefix("id = \""))
        .filter_map(|id| id.split('.').next())
        .collect();
    assert!(!chapters.is_empty());
    let originals: Vec<(PathBuf, String)> = walk_rs(&tree);
    for chapter in &chapters {
        let out = Command::new(TOOL)
            .args(["start", chapter])
            .current_dir(&tree)
            .output()
            .expect("run the workbook tool");
        assert!(
            out.status.success(),
            "start {chapter}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Every line the cut wrote fits the page.
    let mut changed = 0;
    for (path, original) in &originals {
        let now = std::fs::read_to_string(path).expect("read");
        if &now == original {
            continue;
        }
        changed += 1;
        let old: BTreeSet<&str> = original.lines().collect();
        for line in now.lines().filter(|l| !old.contains(l)) {
            assert!(
                line.chars().count() <= 92,
                "{}: the cut wrote a line of {} columns: {line}",
                path.display(),
                line.chars().count()
            );
        }
    }
    assert!(changed > 0, "start cut no hole");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["check", "--all-targets", "--message-format=short"])
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", base.join("target"))
        .output()
        .expect("run cargo check");
    let said = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = said.lines().filter(|l| l.contains("warning")).collect();
    assert!(
        out.status.success() && warnings.is_empty(),
        "with every hole cut, cargo check --all-targets must pass without a warning:\n{}",
        if warnings.is_empty() {
            said.to_string()
        } else {
            warnings.join("\n")
        }
    );
}

fn walk_rs(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("src"), dir.join("chapters")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read");
                out.push((path, text));
            }
        }
    }
    out
}
