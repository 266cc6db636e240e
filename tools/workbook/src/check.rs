//! `check`: build the named test targets as the user, run exactly the exercise's tests as
//! root, and say in plain words what passed, what failed first, and whether a hint is left.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cargo_build::{self, Build};
use crate::exercises::{Exercise, TestRef};
use crate::holes::Site;
use crate::report::{self, Outcome};
use crate::runner::Runner;
use crate::state::State;
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
    exes: &std::collections::BTreeMap<String, PathBuf>,
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

/// Checks the exercises; returns whether every one passed.
pub fn check(root: &Path, chosen: &[&Exercise], runner: &Runner) -> Result<bool, Fail> {
    for exercise in chosen {
        Site::read(root, exercise)?;
    }
    let build = Build {
        root,
        target_dir: None,
        quiet: false,
    };
    let exes = match cargo_build::test_executables(&build, &targets(chosen)) {
        Ok(exes) => exes,
        Err(fail) if fail.is_build() => {
            println!();
            println!("The crate does not compile (the compiler's errors are above).");
            for exercise in chosen {
                State::new(root).record(&exercise.id, false)?;
            }
            return Ok(false);
        }
        Err(fail) => return Err(fail),
    };
    let state = State::new(root);
    let mut all = true;
    for exercise in chosen {
        println!();
        println!("{} {}", exercise.id, exercise.title);
        let mut first: Option<(String, Vec<String>)> = None;
        for test in &exercise.tests {
            let outcome = run_test(root, runner, &exes, test)?;
            let verdict = if outcome.passed { "ok    " } else { "FAILED" };
            println!("  {verdict} {test}");
            if outcome.ran == 0 {
                println!(
                    "         (no test matches this name: exercises.toml needs fixing)"
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
        state.record(&exercise.id, passed)?;
        match first {
            None => println!("  passes: the kernel did what the chapter says."),
            Some((name, message)) => {
                all = false;
                println!();
                println!("  The first failure, {name}:");
                for line in message {
                    println!("    {line}");
                }
                println!();
                println!("  {}", crate::holes::stuck(root, exercise));
            }
        }
    }
    Ok(all)
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
