//! `list`: the exercises chapter by chapter, where each one stands, and a progress bar.

use std::path::Path;

use crate::exercises::Exercise;
use crate::holes::Site;
use crate::markers;
use crate::state::{Progress, State};
use crate::Fail;

pub fn list(root: &Path, all: &[Exercise]) -> Result<(), Fail> {
    let state = State::new(root);
    let mut chapter = "";
    let mut passing = 0;
    let mut next: Option<&Exercise> = None;
    for exercise in all {
        let site = Site::read(root, exercise)?;
        if exercise.chapter_id() != chapter {
            chapter = exercise.chapter_id();
            println!();
            println!("{}  ({})", chapter_title(root, exercise), exercise.chapter);
        }
        let cut = markers::is_cut(exercise, site.body());
        let progress = state.progress(&exercise.id, cut);
        let word = match progress {
            Progress::Untouched => "not started",
            Progress::Working => "in progress",
            Progress::Green => "passing",
        };
        if progress == Progress::Green {
            passing += 1;
        } else if next.is_none() {
            next = Some(exercise);
        }
        println!(
            "  {:<5} {:<12} {}  ({})",
            exercise.id,
            word,
            exercise.title,
            site.place(exercise)
        );
    }
    let total = all.len();
    let width: usize = 30;
    let filled = (passing * width).checked_div(total).unwrap_or(0);
    println!();
    println!(
        "[{}{}] {passing} of {total} exercises passing",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    if let Some(e) = next {
        let verb = if state.started(&e.id) {
            "check"
        } else {
            "start"
        };
        println!("Next: cargo workbook {verb} {}", e.id);
    }
    Ok(())
}

/// "Chapter 1: PID 1 of its own world", from the page's first heading.
fn chapter_title(root: &Path, exercise: &Exercise) -> String {
    let number = exercise.chapter_id().trim_start_matches('0');
    let heading = std::fs::read_to_string(root.join(&exercise.chapter))
        .ok()
        .and_then(|page| {
            let line = page
                .lines()
                .find(|l| l.starts_with("# "))?
                .trim_start_matches("# ");
            let title = line.split_once(". ").map_or(line, |(_, t)| t);
            Some(title.to_string())
        });
    match heading {
        Some(title) => format!("Chapter {number}: {title}"),
        None => format!("Chapter {number}"),
    }
}
