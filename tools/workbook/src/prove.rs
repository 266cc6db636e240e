//! `prove` (for maintainers and CI): every exercise can be checked. In a scratch copy of the
//! tree, never the learner's: the reference passes its named tests; then, hole by hole, the
//! crate with that hole alone cut compiles and every named test fails. An exercise that no
//! test catches is a bug of the workbook. One target directory serves every variant, so each
//! rebuild is incremental (the crate, not its dependencies).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::cargo_build::{self, Build};
use crate::check::{run_test, targets};
use crate::exercises::Exercise;
use crate::holes;
use crate::markers;
use crate::runner::Runner;
use crate::state::State;
use crate::Fail;

struct Row {
    id: String,
    lines: usize,
    tests: usize,
    failed: usize,
    caught: bool,
    note: String,
    build: f64,
    run: f64,
}

pub fn prove(
    root: &Path,
    all: &[Exercise],
    chosen: &[&Exercise],
    runner: &Runner,
) -> Result<bool, Fail> {
    let started = Instant::now();
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("workbook-prove");
    let tree = base.join("tree");
    let target_dir = base.join("target");
    sync(root, &tree)?;
    restore_references(root, &tree, all)?;
    let build = Build {
        root: &tree,
        target_dir: Some(&target_dir),
        quiet: true,
    };

    println!(
        "prove: the reference, in {} (target dir {})",
        tree.display(),
        target_dir.display()
    );
    let t = Instant::now();
    let exes = cargo_build::test_executables(&build, &targets(chosen))
        .map_err(|f| Fail::tool(format!("the reference does not build:\n{f}")))?;
    let reference_build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut reference_ok = true;
    for exercise in chosen {
        for test in &exercise.tests {
            let outcome = run_test(&tree, runner, &exes, test)?;
            if !outcome.passed {
                reference_ok = false;
                let why = if outcome.ran == 0 {
                    vec!["no test matches this name".into()]
                } else {
                    outcome.message
                };
                println!("  FAILED with the reference: {} {test}", exercise.id);
                for line in why {
                    println!("    {line}");
                }
            }
        }
    }
    let reference_run = t.elapsed().as_secs_f64();
    println!("  reference: built in {reference_build:.1} s, its tests ran in {reference_run:.1} s");

    let mut rows = Vec::new();
    for exercise in chosen {
        println!("prove: {} with its hole alone cut", exercise.id);
        rows.push(prove_one(&tree, &build, exercise, runner)?);
    }

    println!();
    println!("id     ref lines  tests failed  caught  build s  tests s");
    for r in &rows {
        println!(
            "{:<6} {:>9}  {:>5}/{:<6} {:<6} {:>8.1} {:>8.1}  {}",
            r.id,
            r.lines,
            r.failed,
            r.tests,
            if r.caught { "yes" } else { "NO" },
            r.build,
            r.run,
            r.note
        );
    }
    let caught = rows.iter().all(|r| r.caught);
    println!();
    println!(
        "reference {}; {} of {} holes caught; total {:.1} s",
        if reference_ok { "passes" } else { "FAILS" },
        rows.iter().filter(|r| r.caught).count(),
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(caught && reference_ok)
}

/// Puts the file back as it was, whatever happens while the hole is cut.
struct CutGuard {
    path: PathBuf,
    original: String,
}

impl Drop for CutGuard {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
    }
}

fn prove_one(
    tree: &Path,
    build: &Build,
    exercise: &Exercise,
    runner: &Runner,
) -> Result<Row, Fail> {
    let site = holes::Site::read(tree, exercise)?;
    let lines = site.body().lines().count();
    let path = tree.join(&exercise.file);
    let guard = CutGuard {
        path: path.clone(),
        original: site.text.clone(),
    };
    std::fs::write(
        &path,
        markers::replace(
            &site.text,
            &site.region,
            &markers::cut_text(exercise, &site.region, &site.text),
        ),
    )
    .map_err(|e| Fail::tool(format!("cannot write {}: {e}", path.display())))?;
    let mut row = Row {
        id: exercise.id.clone(),
        lines,
        tests: exercise.tests.len(),
        failed: 0,
        caught: false,
        note: String::new(),
        build: 0.0,
        run: 0.0,
    };
    let t = Instant::now();
    let built = cargo_build::test_executables(build, &targets(&[exercise]));
    row.build = t.elapsed().as_secs_f64();
    let exes = match built {
        Ok(exes) => exes,
        Err(fail) if fail.is_build() => {
            row.note = "the crate does not compile with this hole cut".into();
            println!("  {}:\n{fail}", row.note);
            return Ok(row);
        }
        Err(fail) => return Err(fail),
    };
    let t = Instant::now();
    let mut missed = Vec::new();
    for test in &exercise.tests {
        let outcome = run_test(tree, runner, &exes, test)?;
        if outcome.ran == 0 {
            missed.push(format!("{test} matches no test"));
        } else if outcome.passed {
            missed.push(format!("{test} passes with the hole cut"));
        } else {
            row.failed += 1;
        }
    }
    row.run = t.elapsed().as_secs_f64();
    drop(guard);
    row.caught = missed.is_empty();
    row.note = missed.join("; ");
    Ok(row)
}

/// Makes `tree` a copy of the repository's files (tracked, and new ones git does not
/// ignore), writing only what changed so that cargo's fingerprints stay valid between runs.
fn sync(root: &Path, tree: &Path) -> Result<(), Fail> {
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
                "prove copies the files git knows, but git did not run: {e}"
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
        let new = std::fs::read(&from).map_err(|e| copy_error(&from, e))?;
        if std::fs::read(&to).ok().as_ref() == Some(&new) {
            continue;
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| copy_error(dir, e))?;
        }
        let _ = std::fs::remove_file(&to);
        std::fs::copy(&from, &to).map_err(|e| copy_error(&from, e))?;
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

/// Holes the learner cut in the working tree are filled with the reference in the copy.
fn restore_references(root: &Path, tree: &Path, all: &[Exercise]) -> Result<(), Fail> {
    let state = State::new(root);
    for exercise in all {
        let site = holes::Site::read(tree, exercise)?;
        if !markers::is_cut(exercise, site.body()) {
            continue;
        }
        let Some(reference) = holes::reference(root, exercise, &state) else {
            return Err(Fail::tool(format!(
                "exercise {} is cut in {} and no reference is saved: `cargo workbook reset {}` first",
                exercise.id, exercise.file, exercise.id
            )));
        };
        let path = tree.join(&exercise.file);
        std::fs::write(
            &path,
            markers::replace(&site.text, &site.region, &reference),
        )
        .map_err(|e| Fail::tool(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}
