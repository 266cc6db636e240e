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
            site.write(root, exercise, &markers::cut_text(exercise, &site.region))?;
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
    println!();
    println!(
        "Read \"Your turn\" in {}, write the code at the todo!, then:",
        first.chapter
    );
    println!("    cargo workbook check {which}");
    println!("(cargo workbook hint {} if you are stuck)", first.id);
    Ok(())
}

/// Puts the reference back and forgets the exercise.
pub fn reset(root: &Path, chosen: &[&Exercise]) -> Result<(), Fail> {
    let state = State::new(root);
    for exercise in chosen {
        let site = Site::read(root, exercise)?;
        let place = site.place(exercise);
        match reference(root, exercise, &state) {
            Some(text) if text != site.body() => {
                site.write(root, exercise, &text)?;
                println!("{}: the reference is back at {place}", exercise.id);
            }
            Some(_) => println!("{}: {place} already holds the reference", exercise.id),
            None if markers::is_cut(exercise, site.body()) => {
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

pub fn hint(exercise: &Exercise) {
    println!("{} {} ({})", exercise.id, exercise.title, exercise.file);
    println!();
    println!("{}", exercise.hint.trim_end());
}
