//! `prove` (for maintainers and CI): every exercise can be checked, alone. In a scratch copy
//! of the tree, never the learner's, and through the same code path as `check` (a learner's
//! tree in which every hole of the chapter is cut, judged with the references of the
//! others), it shows three things for each exercise:
//!   (a) with every other hole of its chapter cut, its reference passes its check;
//!   (b) its own hole fails its check (every named test fails);
//!   (c) every wrong answer exercises.toml lists for it fails its check.
//! The check's output for the first wrong answer is kept true in
//! book/src/output/exercise-ID-wrong.txt (WORKBOOK_BLESS=1 rewrites it), for the page to
//! show the error a learner will meet. One target directory serves every variant, so each
//! rebuild is incremental (the crate, not its dependencies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cargo_build::{self, Build};
use crate::check::{alone_note, judge, targets, Verdict};
use crate::exercises::Exercise;
use crate::markers;
use crate::runner::Runner;
use crate::variant::{self, Bodies};
use crate::Fail;

struct Row {
    id: String,
    lines: usize,
    reference: bool,
    hole: bool,
    wrong: Vec<(String, bool)>,
    note: Vec<String>,
    secs: f64,
}

impl Row {
    fn proved(&self) -> bool {
        self.reference
            && self.hole
            && !self.wrong.is_empty()
            && self.wrong.iter().all(|w| w.1)
    }
}

/// Builds the variants one after the other in one tree and one target directory.
struct Prover<'a> {
    root: &'a Path,
    tree: PathBuf,
    target_dir: PathBuf,
    all: &'a [Exercise],
    runner: &'a Runner,
}

enum Built {
    Exes(BTreeMap<String, PathBuf>),
    /// The compiler's errors.
    NoBuild(String),
}

impl Prover<'_> {
    fn build(&self, bodies: &Bodies, exercises: &[&Exercise]) -> Result<Built, Fail> {
        variant::make(self.root, &self.tree, self.all, bodies)?;
        let build = Build {
            root: &self.tree,
            target_dir: Some(&self.target_dir),
            quiet: true,
        };
        match cargo_build::test_executables(&build, &targets(exercises)) {
            Ok(exes) => Ok(Built::Exes(exes)),
            Err(fail) if fail.is_build() => Ok(Built::NoBuild(fail.to_string())),
            Err(fail) => Err(fail),
        }
    }

    /// The check of `exercise` in a learner's tree holding `learner` (built and run alone,
    /// as `check` does), with the exercises whose text differs from the reference.
    fn check(
        &self,
        exercise: &Exercise,
        learner: &Bodies,
        references: &Bodies,
    ) -> Result<Result<(Verdict, Vec<String>), String>, Fail> {
        let bodies = variant::alone(&[exercise], learner, references);
        let others: Vec<String> =
            variant::others_changed(self.all, &[exercise], learner, references)
                .iter()
                .map(|e| e.id.clone())
                .collect();
        match self.build(&bodies, &[exercise])? {
            Built::NoBuild(errors) => Ok(Err(errors)),
            Built::Exes(exes) => Ok(Ok((
                judge(&self.tree, self.runner, &exes, exercise)?,
                others,
            ))),
        }
    }
}

pub fn prove(
    root: &Path,
    all: &[Exercise],
    chosen: &[&Exercise],
    runner: &Runner,
) -> Result<bool, Fail> {
    let started = Instant::now();
    let base = variant::target_dir(root).join("workbook-prove");
    let prover = Prover {
        root,
        tree: base.join("tree"),
        target_dir: base.join("target"),
        all,
        runner,
    };
    let references = variant::references(root, all)?;
    println!(
        "prove: in {} (target dir {})",
        prover.tree.display(),
        prover.target_dir.display()
    );
    // The learner's tree: every hole of the chapter cut, this one holding `body`.
    let learner = |exercise: &Exercise, body: &str| -> Result<Bodies, Fail> {
        let mut bodies = references.clone();
        for other in all
            .iter()
            .filter(|o| o.chapter_id() == exercise.chapter_id())
        {
            let site = crate::holes::Site::read(root, other)?;
            bodies.insert(
                other.id.clone(),
                markers::cut_text(other, &site.region, &site.text),
            );
        }
        bodies.insert(exercise.id.clone(), body.to_string());
        Ok(bodies)
    };

    // (a) for every exercise at once: judged alone, as `check` judges it, a learner's tree
    // with the chapter's other holes cut and this reference is the references' tree, so one
    // build serves them all.
    println!("prove: (a) each reference, the chapter's other holes cut");
    let t = Instant::now();
    let mut reference_verdicts = BTreeMap::new();
    for exercise in chosen {
        let reference = &references[&exercise.id];
        let judged =
            variant::alone(&[exercise], &learner(exercise, reference)?, &references);
        if judged != references {
            return Err(Fail::tool(format!(
                "prove: judged alone, exercise {}'s reference is not the references' tree",
                exercise.id
            )));
        }
    }
    match prover.build(&references, chosen)? {
        Built::NoBuild(errors) => {
            return Err(Fail::tool(format!(
                "the references do not compile:\n{errors}"
            )))
        }
        Built::Exes(exes) => {
            for exercise in chosen {
                let verdict = judge(&prover.tree, runner, &exes, exercise)?;
                reference_verdicts.insert(exercise.id.clone(), verdict);
            }
        }
    }
    let reference_secs = t.elapsed().as_secs_f64();
    println!("  built and run in {reference_secs:.1} s");

    let mut rows = Vec::new();
    let mut stale = Vec::new();
    for exercise in chosen {
        let t = Instant::now();
        let reference = &references[&exercise.id];
        let mut row = Row {
            id: exercise.id.clone(),
            lines: reference.lines().count(),
            reference: false,
            hole: false,
            wrong: Vec::new(),
            note: Vec::new(),
            secs: 0.0,
        };
        let learner = |body: &str| learner(exercise, body);
        match reference_verdicts.remove(&exercise.id) {
            Some(verdict) if verdict.passed => row.reference = true,
            Some(verdict) => {
                row.note.push("its reference FAILS its check:".into());
                row.note.extend(verdict.lines);
            }
            None => row.note.push("its reference was not judged".into()),
        }

        println!("prove: {} (b) its hole cut", exercise.id);
        let site = crate::holes::Site::read(root, exercise)?;
        let hole = markers::cut_text(exercise, &site.region, &site.text);
        match prover.check(exercise, &learner(&hole)?, &references)? {
            Err(errors) => row.note.push(format!(
                "the crate does not compile with the hole cut:\n{errors}"
            )),
            Ok((verdict, _)) => {
                let passed: Vec<&String> = verdict
                    .lines
                    .iter()
                    .filter(|l| l.starts_with("  ok "))
                    .collect();
                row.hole = !verdict.passed && passed.is_empty();
                if !row.hole {
                    row.note
                        .push("with the hole cut, some named tests pass:".into());
                    row.note.extend(passed.into_iter().cloned());
                }
            }
        }

        for (n, wrong) in exercise.wrong.iter().enumerate() {
            println!("prove: {} (c) wrong answer \"{}\"", exercise.id, wrong.name);
            let body = match wrong.apply(reference) {
                Ok(body) => body,
                Err(why) => {
                    row.note.push(why);
                    row.wrong.push((wrong.name.clone(), false));
                    continue;
                }
            };
            let caught = match prover.check(exercise, &learner(&body)?, &references)? {
                // A wrong answer that does not compile is a typo of exercises.toml, not a
                // mistake the check catches.
                Err(errors) => {
                    row.note.push(format!(
                        "wrong answer \"{}\" does not compile:\n{errors}",
                        wrong.name
                    ));
                    false
                }
                Ok((verdict, others)) => {
                    let caught = !verdict.passed;
                    if !caught {
                        row.note.push(format!(
                            "wrong answer \"{}\" PASSES its check",
                            wrong.name
                        ));
                    }
                    println!("  what the check says:");
                    for line in &verdict.lines {
                        println!("  {line}");
                    }
                    if n == 0 && caught {
                        let others: Vec<&Exercise> =
                            all.iter().filter(|e| others.contains(&e.id)).collect();
                        let text = book_text(exercise, &others, &verdict);
                        if let Some(problem) = keep_true(root, exercise, &text)? {
                            stale.push(problem);
                        }
                    }
                    caught
                }
            };
            row.wrong.push((wrong.name.clone(), caught));
        }
        if exercise.wrong.is_empty() {
            row.note
                .push("exercises.toml lists no wrong answer for it".into());
        }
        row.secs = t.elapsed().as_secs_f64();
        rows.push(row);
    }

    println!();
    println!("id     lines  (a) ref  (b) hole  (c) wrong  time s");
    for r in &rows {
        let caught = r.wrong.iter().filter(|w| w.1).count();
        println!(
            "{:<6} {:>5}  {:<7}  {:<8}  {:>3}/{:<5} {:>7.1}",
            r.id,
            r.lines,
            if r.reference { "passes" } else { "FAILS" },
            if r.hole { "caught" } else { "NOT" },
            caught,
            r.wrong.len(),
            r.secs
        );
    }
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        println!();
        println!("{}:", r.id);
        for line in &r.note {
            println!("  {line}");
        }
    }
    for problem in &stale {
        println!();
        println!("{problem}");
    }
    let proved = rows.iter().filter(|r| r.proved()).count();
    println!();
    println!(
        "{proved} of {} exercises proved (reference passes, hole and every listed wrong answer \
         caught); {} book outputs stale; the references in {reference_secs:.1} s; total {:.1} s",
        rows.len(),
        stale.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(proved == rows.len() && stale.is_empty())
}

/// What a learner sees from `cargo workbook check ID` with the wrong answer, as the page
/// shows it: without the test's line numbers, which move with every edit of the tests.
fn book_text(exercise: &Exercise, others: &[&Exercise], verdict: &Verdict) -> String {
    let mut text = format!("$ cargo workbook check {}\n", exercise.id);
    text.push_str(&format!("{} {}\n", exercise.id, exercise.title));
    if let Some(note) = alone_note(exercise, others) {
        text.push_str(&note);
        text.push('\n');
    }
    for line in &verdict.lines {
        let t = line.trim();
        if t.starts_with("at ") && t.ends_with(':') && t.contains(".rs:") {
            continue;
        }
        text.push_str(&redact(line.trim_end()));
        text.push('\n');
    }
    if !verdict.passed {
        // What a learner who has asked for no hint yet sees.
        let total = crate::holes::hints(exercise).len();
        text.push_str(&format!(
            "  stuck? `cargo workbook hint {}` (1 of {total})\n",
            exercise.id
        ));
    }
    text
}

/// What differs from run to run or machine to machine, replaced so that the page's copy
/// stays true: temp dirs, PIDs, the rootfs cache, device and inode numbers, and the case
/// of a parameterized test (cases run in parallel, the first to fail varies).
fn redact(line: &str) -> String {
    let mut out = line.to_string();
    if let Some(at) = out.find("::case_") {
        if let Some(end) = out[at..].find(':').map(|e| at + e).and_then(|_| {
            out[at + 2..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map(|e| at + 2 + e)
        }) {
            out.replace_range(at..end, "");
        }
    }
    let after =
        |out: &mut String, prefix: &str, placeholder: &str, keep: fn(char) -> bool| {
            let mut from = 0;
            while let Some(found) = out[from..].find(prefix) {
                let start = from + found + prefix.len();
                let end = out[start..]
                    .find(|c: char| !keep(c))
                    .map_or(out.len(), |e| start + e);
                if end > start {
                    out.replace_range(start..end, placeholder);
                }
                from = start + placeholder.len().min(out.len() - start);
            }
        };
    after(&mut out, "/tmp/.tmp", "<TMP>", |c| {
        c.is_ascii_alphanumeric()
    });
    after(&mut out, "/proc/", "<PID>", |c| c.is_ascii_digit());
    after(&mut out, "device ", "<DEV>", |c| c.is_ascii_digit());
    after(&mut out, "inode ", "<INO>", |c| c.is_ascii_digit());
    let words: Vec<String> = out
        .split(' ')
        .map(|word| match word.find('/') {
            Some(slash) if word.contains("/rootfs/busybox-") => {
                let end = word[slash..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "._/-".contains(c)))
                    .map_or(word.len(), |e| slash + e);
                format!("{}<ROOTFS>{}", &word[..slash], &word[end..])
            }
            _ => word.to_string(),
        })
        .collect();
    words.join(" ")
}

/// Compares the text with book/src/output/exercise-ID-wrong.txt; WORKBOOK_BLESS=1 writes it.
fn keep_true(root: &Path, exercise: &Exercise, text: &str) -> Result<Option<String>, Fail> {
    let path = root
        .join("book/src/output")
        .join(format!("exercise-{}-wrong.txt", exercise.id));
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text) {
        return Ok(None);
    }
    if std::env::var("WORKBOOK_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, text)
            .map_err(|e| Fail::tool(format!("cannot write {}: {e}", path.display())))?;
        println!("  blessed {}", path.display());
        return Ok(None);
    }
    Ok(Some(format!(
        "{} differs from what the check prints now for {}'s first wrong answer; \
         `WORKBOOK_BLESS=1 .ci/exercises {}` rewrites it (review git diff):\n{text}",
        path.display(),
        exercise.id,
        exercise.id
    )))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn what_varies_is_redacted() {
        assert_eq!(
            redact("  The first failure, v1_writes::case_2:"),
            "  The first failure, v1_writes:"
        );
        assert_eq!(
            redact("x on /tmp/.tmp862Hpk/root and /proc/2601/setgroups (device 65024, inode 2)"),
            "x on /tmp/.tmp<TMP>/root and /proc/<PID>/setgroups (device <DEV>, inode <INO>)"
        );
        assert_eq!(
            redact(
                "    /root/.cache/container-workbook/rootfs/busybox-fe00-9b returned EBUSY"
            ),
            "    <ROOTFS> returned EBUSY"
        );
        assert_eq!(redact("t::case_1_two_lowers: no"), "t: no");
    }
}
