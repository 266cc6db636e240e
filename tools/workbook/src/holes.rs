//! Cutting holes and putting the reference back: `start`, `reset`, `solution`, `hint`.

use std::path::Path;

use crate::exercises::Exercise;
use crate::markers::{self, Region};
use crate::state::State;
use crate::Fail;

/// An exercise's file as it is now, and its region in it.
pub struct Site {
    pub text: String,
    pub region: Region,
}

impl Site {
    pub fn read(root: &Path, exercise: &Exercise) -> Result<Site, Fail> {
        let path = root.join(&exercise.file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Fail::tool(format!(
                "cannot read {} (the file of exercise {} in exercises.toml): {e}",
                exercise.file, exercise.id
            ))
        })?;
        let region = markers::find(exercise, &text)?;
        Ok(Site { text, region })
    }

    pub fn body(&self) -> &str {
        markers::body(&self.text, &self.region)
    }

    /// `file:line` of the first line of the region.
    pub fn place(&self, exercise: &Exercise) -> String {
        format!("{}:{}", exercise.file, self.region.begin + 2)
    }

    fn write(&self, root: &Path, exercise: &Exercise, body: &str) -> Result<(), Fail> {
        let path = root.join(&exercise.file);
        std::fs::write(&path, markers::replace(&self.text, &self.region, body))
            .map_err(|e| Fail::tool(format!("cannot write {}: {e}", path.display())))
    }
}

/// The reference of an exercise: saved when its hole was cut, else the committed file's.
pub fn reference(root: &Path, exercise: &Exercise, state: &State) -> Option<String> {
    if let Some(saved) = state.reference(&exercise.id) {
        return Some(saved);
    }
    let out = std::process::Command::new("git")
        .args(["show", &format!("HEAD:{}", exercise.file)])
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout)
        .ok()
        .filter(|_| out.status.success())?;
    let region = markers::find(exercise, &text).ok()?;
    let body = markers::body(&text, &region);
    (!markers::is_cut(exercise, body)).then(|| body.to_string())
}

/// Cuts the holes of `chosen` that are not cut yet; the learner's work stays.
pub fn start(root: &Path, chosen: &[&Exercise]) -> Result<(), Fail> {
    let state = State::new(root);
    let mut staged = false;
    // Every exercise's markers are checked before anything is cut.
    for exercise in chosen {
        Site::read(root, exercise)?;
    }
    for exercise in chosen {
        // Read again each time: two exercises may share a file, and a cut moves the lines.
        let site = Site::read(root, exercise)?;
        let place = site.place(exercise);
        if markers::is_cut(exercise, site.body()) {
            if !state.started(&exercise.id) {
                if let Some(text) = reference(root, exercise, &state) {
                    state.save_reference(&exercise.id, &text)?;
                }
            }
            println!(
                "{} {}: already cut at {place}, left as it is",
                exercise.id, exercise.title
            );
        } else if state.started(&exercise.id) {
            println!(
                "{} {}: your work at {place} stays as it is",
                exercise.id, exercise.title
            );
        } else {
            state.save_reference(&exercise.id, site.body())?;
            let lines = site.body().lines().count();
            let cut = markers::cut_text(exercise, &site.region, &site.text);
            site.write(root, exercise, &cut)?;
            staged |= stage_region(root, exercise, &cut);
            println!(
                "{} {}: cut at {place} ({lines} lines of the reference are now a todo!)",
                exercise.id, exercise.title
            );
        }
    }
    let first = chosen[0];
    let which = if chosen.len() == 1 {
        first.id.as_str()
    } else {
        first.chapter_id()
    };
    if staged {
        println!(
            "`git diff` shows your own work against the hole (git's index holds the cut)."
        );
    }
    println!();
    println!(
        "Read \"Your turn\" in {}, write the code at the todo!, then:",
        first.chapter
    );
    println!("    cargo workbook check {which}");
    println!("(cargo workbook hint {} if you are stuck)", first.id);
    Ok(())
}

/// Puts the reference back and forgets the exercise; the learner's code is kept in
/// `.workbook/backup/` first.
pub fn reset(root: &Path, chosen: &[&Exercise]) -> Result<(), Fail> {
    let state = State::new(root);
    for exercise in chosen {
        let site = Site::read(root, exercise)?;
        let place = site.place(exercise);
        let untouched = markers::is_cut(exercise, site.body());
        match reference(root, exercise, &state) {
            Some(text) if text != site.body() => {
                let kept = if untouched {
                    None
                } else {
                    let header = format!(
                        "// exercise {} at {place}: your code, as `cargo workbook reset` found it",
                        exercise.id
                    );
                    Some(state.back_up(&exercise.id, &header, site.body())?)
                };
                site.write(root, exercise, &text)?;
                stage_region(root, exercise, &text);
                match kept {
                    Some(file) => println!(
                        "{}: the reference is back at {place}; your code is saved in {file}",
                        exercise.id
                    ),
                    None => println!(
                        "{}: the reference is back at {place} (the hole was untouched: \
                         nothing of yours was lost)",
                        exercise.id
                    ),
                }
            }
            Some(text) => {
                stage_region(root, exercise, &text);
                println!("{}: {place} already holds the reference", exercise.id);
            }
            None if untouched => {
                return Err(Fail::tool(format!(
                "no reference of exercise {} is saved in .workbook/ or committed in {}: \
                     restore it with `git checkout -- {}`",
                exercise.id, exercise.file, exercise.file
            )))
            }
            None => println!("{}: not started, nothing to reset", exercise.id),
        }
        state.forget(&exercise.id)?;
    }
    Ok(())
}

/// Puts `body` into the exercise's region of the file's copy in git's index, so that `git
/// diff` (the working tree against the index) shows the learner's work against the hole,
/// not the reference the cut removed. Returns false where there is no such copy (no git,
/// the file not tracked, its staged copy without the markers): nothing is staged then.
fn stage_region(root: &Path, exercise: &Exercise, body: &str) -> bool {
    let git = |args: &[&str], input: Option<&str>| -> Option<String> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("git")
            .args(args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.unwrap_or("").as_bytes()).ok()?;
        }
        let out = child.wait_with_output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let staged = || -> Option<()> {
        // "100644 SHA 0\tPATH"
        let entry = git(&["ls-files", "--stage", "--", &exercise.file], None)?;
        let mut fields = entry.split_whitespace();
        let (mode, sha) = (fields.next()?, fields.next()?);
        let text = git(&["cat-file", "blob", sha], None)?;
        let region = markers::find(exercise, &text).ok()?;
        if markers::body(&text, &region) == body {
            return Some(());
        }
        let new = markers::replace(&text, &region, body);
        let new_sha = git(&["hash-object", "-w", "--stdin"], Some(&new))?;
        let info = format!("{mode},{},{}", new_sha.trim(), exercise.file);
        git(&["update-index", "--cacheinfo", &info], None).map(|_| ())
    };
    staged().is_some()
}

/// The reference as a diff against the learner's region.
pub fn solution(root: &Path, exercise: &Exercise) -> Result<(), Fail> {
    let state = State::new(root);
    let site = Site::read(root, exercise)?;
    let Some(reference) = reference(root, exercise, &state) else {
        return Err(Fail::tool(format!(
            "no reference of exercise {} is saved in .workbook/ or committed in {}",
            exercise.id, exercise.file
        )));
    };
    if reference == site.body() {
        println!(
            "{}: your code at {} is the reference.",
            exercise.id,
            site.place(exercise)
        );
        return Ok(());
    }
    print!(
        "{}",
        crate::diff::unified(
            &exercise.file,
            site.region.begin + 2,
            site.body(),
            &reference,
            ("your code", "the reference"),
        )
    );
    println!(
        "(`cargo workbook reset {}` puts the reference in the file)",
        exercise.id
    );
    Ok(())
}

/// The graded hints of an exercise: its `hint` list, each text also split at lines `---`;
/// the first is a nudge, the last nearly the answer.
pub fn hints(exercise: &Exercise) -> Vec<String> {
    let mut out = vec![String::new()];
    for hint in &exercise.hints {
        out.push(String::new());
        for line in hint.lines() {
            if line.trim() == "---" {
                out.push(String::new());
            } else if let Some(last) = out.last_mut() {
                last.push_str(line);
                last.push('\n');
            }
        }
    }
    out.into_iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect()
}

/// `hint ID`: the next hint (the last one again once all were shown); `--all`: every one.
pub fn hint(root: &Path, exercise: &Exercise, all: bool) -> Result<(), Fail> {
    let state = State::new(root);
    let hints = hints(exercise);
    let total = hints.len();
    let shown = state.hints_shown(&exercise.id).min(total);
    let range = if all {
        0..total
    } else {
        let next = (shown + 1).min(total);
        next.saturating_sub(1)..next
    };
    println!("{} {} ({})", exercise.id, exercise.title, exercise.file);
    for n in range.clone() {
        println!();
        println!("Hint {} of {total}:", n + 1);
        println!("{}", hints[n]);
    }
    let now = shown.max(range.end);
    state.set_hints_shown(&exercise.id, now)?;
    println!();
    if now < total {
        println!(
            "(ask again for hint {} of {total}: cargo workbook hint {})",
            now + 1,
            exercise.id
        );
    } else {
        println!(
            "(that is every hint; `cargo workbook solution {}` shows the answer as a diff)",
            exercise.id
        );
    }
    Ok(())
}

/// The line a failing check prints instead of the hint itself.
pub fn stuck(root: &Path, exercise: &Exercise) -> String {
    let total = hints(exercise).len();
    let shown = State::new(root).hints_shown(&exercise.id);
    if shown < total {
        format!(
            "stuck? `cargo workbook hint {}` ({} of {total})",
            exercise.id,
            shown + 1
        )
    } else {
        format!(
            "stuck? you have seen every hint (`cargo workbook hint {} --all`); \
             `cargo workbook solution {}` shows the answer",
            exercise.id, exercise.id
        )
    }
}
