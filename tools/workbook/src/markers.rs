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

/// The widest line the tool writes: the book's limit.
pub const WIDTH: usize = 92;

/// The cut form of the region in `text`: a line that names the function's parameters (and
/// the file's helpers only the reference calls), so that the hole builds without warnings,
/// then the `todo!`, indented like the markers, no line wider than [`WIDTH`].
pub fn cut_text(exercise: &Exercise, region: &Region, text: &str) -> String {
    let mut names: Vec<String> = parameters(text, region)
        .into_iter()
        .map(|p| format!("&{p}"))
        .collect();
    names.extend(helpers_left_unused(text, region));
    let indent = &region.indent;
    let mut out = String::new();
    if !names.is_empty() {
        out.push_str(&format!(
            "{indent}// Given to you (naming them here only keeps the build free of warnings):\n"
        ));
        let one = match names.as_slice() {
            [name] => format!("{indent}let _ = {name};"),
            _ => format!("{indent}let _ = ({});", names.join(", ")),
        };
        if one.chars().count() <= WIDTH {
            out.push_str(&one);
            out.push('\n');
        } else {
            // rustfmt's form of a tuple too wide for one line.
            out.push_str(&format!("{indent}let _ = (\n"));
            for name in &names {
                out.push_str(&format!("{indent}    {name},\n"));
            }
            out.push_str(&format!("{indent});\n"));
        }
    }
    out.push_str(&todo_text(exercise, indent));
    out
}

/// `todo!("exercise ID: TITLE (see chapter N, \"Your turn\")")`, on one line when it fits,
/// else as rustfmt leaves a long string: on lines of its own, continued with `\`.
pub fn todo_text(exercise: &Exercise, indent: &str) -> String {
    let one = format!("{indent}{}\n", exercise.todo_line());
    if one.trim_end().chars().count() <= WIDTH {
        return one;
    }
    let number = exercise.chapter_id().trim_start_matches('0');
    let message = format!(
        "exercise {}: {} (see chapter {number}, \\\"Your turn\\\")",
        exercise.id,
        exercise.title.replace('\\', "\\\\").replace('"', "\\\"")
    );
    // Inside the string, `\` at a line's end skips the line break and the next line's
    // leading spaces; the space before it stays.
    let mut lines: Vec<String> = Vec::new();
    let mut line = format!("{indent}    \"");
    let mut bare = true;
    for word in message.split(' ') {
        // The room a word needs: a space before it, and `"` or ` \` after it.
        if !bare && line.chars().count() + 1 + word.chars().count() + 2 > WIDTH {
            line.push_str(" \\");
            lines.push(std::mem::replace(&mut line, format!("{indent}     ")));
            bare = true;
        }
        if !bare {
            line.push(' ');
        }
        line.push_str(word);
        bare = false;
    }
    line.push('"');
    lines.push(line);
    let mut out = format!("{indent}todo!(\n");
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("{indent})\n"));
    out
}

/// Whether the region holds the cut form (also after rustfmt rewrapped it, and the form an
/// earlier version of the tool wrote: the `todo!` line alone).
pub fn is_cut(exercise: &Exercise, body: &str) -> bool {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let code: String = body
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
        // A string continued on the next line is the one-line string.
        .replace("\\\n", "");
    let mut code = squeeze(&code);
    if code.starts_with("let_=") {
        match code.find(';') {
            Some(end) => code = code[end + 1..].to_string(),
            None => return false,
        }
    }
    let code = code.strip_suffix(';').unwrap_or(&code);
    code == squeeze(&exercise.todo_line())
}

/// The names of the parameters of the function whose body holds the region (not `self`,
/// not `_name`, not patterns).
fn parameters(text: &str, region: &Region) -> Vec<String> {
    let lines: Vec<&str> = text.lines().take(region.begin).collect();
    let Some(start) = lines.iter().rposition(|l| {
        let t = l.trim_start();
        !t.starts_with("//") && (t.starts_with("fn ") || t.contains(" fn "))
    }) else {
        return Vec::new();
    };
    let signature = lines[start..].join("\n");
    // The parameters' parenthesis, not `pub(super)`'s.
    let after_fn = signature.find("fn ").map_or(0, |at| at + 3);
    let Some(open) = signature[after_fn..].find('(').map(|at| after_fn + at) else {
        return Vec::new();
    };
    let mut depth = 0i32;
    let mut params = Vec::new();
    let mut current = String::new();
    for c in signature[open + 1..].chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' if depth > 0 => depth -= 1,
            ')' => {
                params.push(std::mem::take(&mut current));
                break;
            }
            ',' if depth == 0 => {
                params.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    params
        .iter()
        .filter_map(|p| {
            let (pattern, _) = p.split_once(':')?;
            let name = pattern.trim().trim_start_matches("mut ").trim();
            let ident = !name.is_empty()
                && !name.starts_with('_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            ident.then(|| name.to_string())
        })
        .collect()
}

/// Functions of the same file that the reference calls and nothing else in the file does:
/// with the hole cut they would be dead code, yet they are there for the learner to use.
/// Generic ones are left out (`let _ = f;` could not infer them).
fn helpers_left_unused(text: &str, region: &Region) -> Vec<String> {
    let body = body(text, region);
    let (start, end) = byte_range(text, region);
    let outside = format!("{}{}", &text[..start], &text[end..]);
    let mut found: Vec<String> = Vec::new();
    for line in outside.lines() {
        let t = line.trim_start();
        let Some(at) = t.find("fn ") else { continue };
        let before = &t[..at];
        if t.starts_with("//")
            || !before
                .split_whitespace()
                .all(|w| w == "pub" || w.starts_with("pub(") || w == "const")
        {
            continue;
        }
        let rest = &t[at + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !rest[name.len()..].starts_with('(') {
            continue;
        }
        let calls_in = |s: &str| calls(s, &name);
        if calls_in(body) > 0 && calls_in(&outside) == 0 && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// How many times `name(` is called in `code` as a plain name (not a method, not a path,
/// not its definition).
fn calls(code: &str, name: &str) -> usize {
    let pattern = format!("{name}(");
    code.match_indices(&pattern)
        .filter(|(at, _)| {
            let before = &code[..*at];
            let prev = before.chars().next_back();
            !prev.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ':')
                && !before.trim_end().ends_with("fn")
        })
        .count()
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
        let cut = replace(TEXT, &region, &cut_text(&e, &region, TEXT));
        assert!(cut.contains(
            "    todo!(\"exercise 01.1: do it (see chapter 1, \\\"Your turn\\\")\")\n"
        ));
        let again = find(&e, &cut).expect("found after the cut");
        assert!(is_cut(&e, body(&cut, &again)));
        assert_eq!(replace(&cut, &again, "    1\n    + 1\n"), TEXT);
    }

    const WITH_PARAMETERS: &str = "\
/// Docs.
pub(super) fn apply(
    mut dir: &Path,
    _unused: u8,
    at: impl Fn(u8) -> Option<PathBuf>,
) -> Vec<Step> {
    // exercise 01.1: do it
    helper(dir);
    other(at)
    // end of exercise 01.1
}

fn helper(dir: &Path) {}

pub fn other<F>(f: F) {}

fn used_elsewhere() {}

fn caller() {
    self.helper_method();
    used_elsewhere();
}
";

    #[test]
    fn the_cut_names_the_parameters_and_the_helpers_only_the_reference_calls() {
        let e = exercise();
        let region = find(&e, WITH_PARAMETERS).expect("found");
        let cut = cut_text(&e, &region, WITH_PARAMETERS);
        let lines: Vec<&str> = cut.lines().collect();
        assert_eq!(lines[1], "    let _ = (&dir, &at, helper);", "{cut}");
        assert!(is_cut(&e, &cut));
        assert!(is_cut(
            &e,
            &cut.replace("(&dir, &at, helper)", "(\n&dir,\n&at,\nhelper\n)")
        ));
        assert!(!is_cut(
            &e,
            "    let _ = (&dir, &at, helper);\n    other(at)\n"
        ));
    }

    #[test]
    fn a_long_todo_is_wrapped_to_the_books_width_and_still_recognised() {
        let mut e = exercise();
        e.title =
            "write the limits of a cgroup v1, each in its controller's hierarchy".into();
        let cut = todo_text(&e, "        ");
        assert_eq!(
            cut,
            "        todo!(\n            \"exercise 01.1: write the limits of a cgroup v1, each in its \
             controller's \\\n             hierarchy (see chapter 1, \\\"Your turn\\\")\"\n        )\n"
        );
        assert!(cut.lines().all(|l| l.chars().count() <= WIDTH), "{cut}");
        assert!(is_cut(&e, &cut));
        assert!(
            is_cut(&e, &format!("    {}\n", e.todo_line())),
            "the old form too"
        );
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
