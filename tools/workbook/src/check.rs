//! `check`: build the named test targets as the user, run exactly the exercise's tests as
//! root, and say in plain words what passed, what failed first, and that a hint exists.
//! Each exercise is judged alone: every other exercise holds its reference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cargo_build::{self, Build};
use crate::exercises::{self, Exercise, TestRef};
use crate::holes::Site;
use crate::report::{self, Outcome};
use crate::runner::Runner;
use crate::state::State;
use crate::variant;
use crate::Fail;

/// One test run is ended after this long: a hang is a failure, not a wait forever.
pub const TEST_LIMIT: Duration = Duration::from_secs(300);

/// The targets the exercises name, each once.
pub fn targets(chosen: &[&Exercise]) -> Vec<String> {
    let mut targets: Vec<String> = chosen
        .iter()
        .flat_map(|e| e.tests.iter().map(|t| t.target.clone()))
        .collect();
    targets.sort();
    targets.dedup();
    targets
}

/// Runs one named test (`TARGET::FILTER`) with the executables built.
pub fn run_test(
    root: &Path,
    runner: &Runner,
    exes: &BTreeMap<String, PathBuf>,
    test: &TestRef,
) -> Result<Outcome, Fail> {
    let exe = exes.get(&test.target).ok_or_else(|| {
        Fail::tool(format!(
            "no test executable was built for `{}`",
            test.target
        ))
    })?;
    let run = runner.run(root, exe, test.filter.as_deref(), TEST_LIMIT)?;
    Ok(report::read(&run))
}

/// What `check` says of one exercise, and whether it passed.
pub struct Verdict {
    pub passed: bool,
    /// The lines printed under the exercise's title.
    pub lines: Vec<String>,
}

/// Runs an exercise's tests with the executables built and words the verdict.
pub fn judge(
    tree: &Path,
    runner: &Runner,
    exes: &BTreeMap<String, PathBuf>,
    exercise: &Exercise,
) -> Result<Verdict, Fail> {
    let mut lines = Vec::new();
    let mut first: Option<(String, Vec<String>)> = None;
    for test in &exercise.tests {
        let outcome = run_test(tree, runner, exes, test)?;
        let verdict = if outcome.passed { "ok    " } else { "FAILED" };
        lines.push(format!("  {verdict} {test}"));
        if outcome.ran == 0 {
            lines.push(
                "         (no test matches this name: exercises.toml needs fixing)".into(),
            );
        }
        if !outcome.passed && first.is_none() {
            let name = outcome
                .failed
                .first()
                .cloned()
                .unwrap_or_else(|| test.to_string());
            first = Some((name, outcome.message));
        }
    }
    let passed = first.is_none();
    match first {
        None => lines.push("  passes: the kernel did what the chapter says.".into()),
        Some((name, message)) => {
            lines.push(String::new());
            lines.push(format!("  The first failure, {name}:"));
            lines.extend(message.into_iter().map(|line| format!("    {line}")));
            lines.push(String::new());
            // The learner's own count of hints seen is added by the caller (`stuck`).
        }
    }
    Ok(Verdict { passed, lines })
}

/// The note a check prints when it judges an exercise in a copy with the references of the
/// others, or None when the learner's tree is that copy already.
pub fn alone_note(exercise: &Exercise, others: &[&Exercise]) -> Option<String> {
    if others.is_empty() {
        return None;
    }
    let ids: Vec<&str> = others.iter().map(|e| e.id.as_str()).collect();
    let (which, hold) = if ids.len() == 1 {
        (format!("exercise {}", ids[0]), "holds")
    } else if ids.len() <= 4 {
        (format!("exercises {}", ids.join(", ")), "hold")
    } else {
        (format!("{} other exercises", ids.len()), "hold")
    };
    Some(format!(
        "  (judged alone: {which} {hold} the reference in this check, so only {}'s code is yours)",
        exercise.id
    ))
}

/// Checks the exercises, each one alone: its code is the learner's, every other exercise
/// holds its reference (in a scratch copy under target/workbook-check/ when the learner's
/// tree differs), so no exercise blocks another or takes the blame for it. Returns whether
/// every one passed.
pub fn check(root: &Path, chosen: &[&Exercise], runner: &Runner) -> Result<bool, Fail> {
    let all = exercises::load(root)?;
    for exercise in chosen {
        Site::read(root, exercise)?;
    }
    let current = variant::current(root, &all)?;
    let references = variant::references(root, &all)?;
    let state = State::new(root);
    let scratch = variant::check_tree(root);
    // A target directory of its own: cargo hashes a path package by its path relative to
    // the workspace, so the copy's artifacts would have the learner's names, and a build
    // of the copy would look fresh to the learner's tree (a false green).
    let scratch_target = scratch.with_file_name("target");
    let mut every = true;
    for exercise in chosen {
        let others = variant::others_changed(&all, &[exercise], &current, &references);
        let tree = if others.is_empty() {
            root.to_path_buf()
        } else {
            let bodies = variant::alone(&[exercise], &current, &references);
            variant::make(root, &scratch, &all, &bodies)?;
            scratch.clone()
        };
        let build = Build {
            root: &tree,
            target_dir: (!others.is_empty()).then_some(scratch_target.as_path()),
            quiet: false,
        };
        let exes = match cargo_build::test_executables(&build, &targets(&[exercise])) {
            Ok(exes) => exes,
            Err(fail) if fail.is_build() => {
                println!();
                println!(
                    "{}: the crate does not compile with your code (the compiler's errors are above).",
                    exercise.id
                );
                state.record(&exercise.id, false)?;
                every = false;
                continue;
            }
            Err(fail) => return Err(fail),
        };
        println!();
        println!("{} {}", exercise.id, exercise.title);
        if let Some(note) = alone_note(exercise, &others) {
            println!("{note}");
        }
        let verdict = judge(&tree, runner, &exes, exercise)?;
        for line in &verdict.lines {
            println!("{line}");
        }
        if !verdict.passed {
            println!("  {}", crate::holes::stuck(root, exercise));
        }
        state.record(&exercise.id, verdict.passed)?;
        every &= verdict.passed;
    }
    Ok(every)
}

/// The exercises `check` takes with no argument: the started ones.
pub fn started<'a>(root: &Path, all: &'a [Exercise]) -> Result<Vec<&'a Exercise>, Fail> {
    let state = State::new(root);
    let chosen: Vec<&Exercise> = all.iter().filter(|e| state.started(&e.id)).collect();
    if chosen.is_empty() {
        return Err(Fail::tool(
            "no exercise is started: `cargo workbook start 01` cuts chapter 1's holes \
             (or name one: `cargo workbook check 01.1`)"
                .to_string(),
        ));
    }
    Ok(chosen)
}
