//! The markers in the sources: `// exercise NN.M: TITLE` … `// end of exercise NN.M`, and
//! what lies between them (the reference, or the learner's work once the hole is cut).

use std::path::Path;

use crate::exercises::{is_exercise_id, Exercise};
use crate::Fail;

/// One marked region of a file. Lines are counted from 0; `begin` and `end` are the marker
/// lines, the region is the lines strictly between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub title: String,
    pub indent: String,
    pub begin: usize,
    pub end: usize,
}

/// Every marker pair in `text`; `file` names it in errors.
pub fn regions(file: &str, text: &str) -> Result<Vec<Region>, Fail> {
    let mut found = Vec::new();
    let mut open: Option<Region> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if let Some(rest) = trimmed.strip_prefix("// exercise ") {
            let Some((id, title)) = rest.split_once(": ") else {
                continue;
            };
            if !is_exercise_id(id) {
                continue;
            }
            if let Some(o) = &open {
                return Err(Fail::tool(format!(
                    "{file}:{}: exercise {id} begins inside exercise {}, which has no end marker before it",
                    n + 1,
                    o.id
                )));
            }
            open = Some(Region {
                id: id.to_string(),
                title: title.trim().to_string(),
                indent: indent.to_string(),
                begin: n,
                end: n,
            });
        } else if let Some(id) = trimmed.strip_prefix("// end of exercise ") {
            let id = id.trim();
            match open.take() {
                Some(mut region) if region.id == id => {
                    region.end = n;
                    found.push(region);
                }
                _ => {
                    return Err(Fail::tool(format!(
                        "{file}:{}: \"end of exercise {id}\" has no \"// exercise {id}: …\" line above it",
                        n + 1
                    )))
                }
            }
        }
    }
    if let Some(o) = open {
        return Err(Fail::tool(format!(
            "{file}:{}: exercise {} has no \"// end of exercise {}\" line",
            o.begin + 1,
            o.id,
            o.id
        )));
    }
    Ok(found)
}

/// The region of `exercise` in its file's `text`, checked against exercises.toml.
pub fn find(exercise: &Exercise, text: &str) -> Result<Region, Fail> {
    let mut mine: Vec<Region> = regions(&exercise.file, text)?
        .into_iter()
        .filter(|r| r.id == exercise.id)
        .collect();
    let mismatch = |what: String| {
        Fail::tool(format!(
            "exercises.toml and the markers disagree: exercise {} {what} in {}",
            exercise.id, exercise.file
        ))
    };
    match mine.len() {
        0 => Err(mismatch("has no \"// exercise …\" marker".into())),
        1 => {
            let region = mine.remove(0);
            if region.title != exercise.title {
                return Err(mismatch(format!(
                    "is titled \"{}\" in exercises.toml but \"{}\" by its marker (line {})",
                    exercise.title,
                    region.title,
                    region.begin + 1
                )));
            }
            Ok(region)
        }
        n => Err(mismatch(format!("has {n} marker pairs, not one"))),
    }
}

/// The lines of the region (with their line ends).
pub fn body<'a>(text: &'a str, region: &Region) -> &'a str {
    let (start, end) = byte_range(text, region);
    &text[start..end]
}

/// `text` with the region's lines replaced by `new` (which ends in a newline unless empty).
pub fn replace(text: &str, region: &Region, new: &str) -> String {
    let (start, end) = byte_range(text, region);
    format!("{}{new}{}", &text[..start], &text[end..])
}

/// The cut form of the region: the `todo!` line, indented like the markers.
pub fn cut_text(exercise: &Exercise, region: &Region) -> String {
    format!("{}{}\n", region.indent, exercise.todo_line())
}

/// Whether the region holds the cut form (also after rustfmt wrapped it).
pub fn is_cut(exercise: &Exercise, body: &str) -> bool {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let body = squeeze(body);
    body == squeeze(&exercise.todo_line()) || body == squeeze(&exercise.todo_line()) + ";"
}

fn byte_range(text: &str, region: &Region) -> (usize, usize) {
    let mut offset = 0;
    let (mut start, mut end) = (text.len(), text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if n == region.begin + 1 {
            start = offset;
        }
        if n == region.end {
            end = offset;
            break;
        }
        offset += line.len();
    }
    (start.min(end), end)
}

/// Every marker in the .rs files under `dirs` of `root`, as (file, region).
pub fn scan(root: &Path, dirs: &[&str]) -> Result<Vec<(String, Region)>, Fail> {
    let mut files = Vec::new();
    for dir in dirs {
        collect_rs(&root.join(dir), &mut files);
    }
    files.sort();
    let mut all = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        for region in regions(&name, &text)? {
            all.push((name.clone(), region));
        }
    }
    Ok(all)
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Exercise;

    fn exercise() -> Exercise {
        Exercise {
            id: "01.1".into(),
            title: "do it".into(),
            file: "f.rs".into(),
            chapter: "book/src/01.md".into(),
            tests: vec![],
            hint: "h".into(),
            hints: vec!["h".into()],
            wrong: vec![],
        }
    }

    const TEXT: &str = "fn f() -> u8 {\n    // exercise 01.1: do it\n    1\n    + 1\n    // end of exercise 01.1\n}\n";

    #[test]
    fn cut_and_restore_round_trip() {
        let e = exercise();
        let region = find(&e, TEXT).expect("found");
        assert_eq!(body(TEXT, &region), "    1\n    + 1\n");
        let cut = replace(TEXT, &region, &cut_text(&e, &region));
        assert!(cut.contains(
            "    todo!(\"exercise 01.1: do it (see chapter 1, \\\"Your turn\\\")\")\n"
        ));
        let again = find(&e, &cut).expect("found after the cut");
        assert!(is_cut(&e, body(&cut, &again)));
        assert_eq!(replace(&cut, &again, "    1\n    + 1\n"), TEXT);
    }

    #[test]
    fn mismatches_are_one_sentence() {
        let mut e = exercise();
        e.title = "other".into();
        assert!(find(&e, TEXT)
            .unwrap_err()
            .to_string()
            .contains("exercise 01.1 is titled"));
        let unended = "// exercise 01.1: do it\n";
        assert!(regions("f.rs", unended)
            .unwrap_err()
            .to_string()
            .contains("has no \"// end"));
    }
}
