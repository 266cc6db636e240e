//! Unprivileged: every test that calls `privileged!()` carries the line that makes a build
//! without root report it as ignored, with the reason, rather than as passed:
//!
//! ```text
//! #[test]
//! #[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
//! ```
//!
//! (build.rs sets `unprivileged`.) libtest cannot skip at run time: without the line,
//! a test that returns early because it lacks root counts as passed, and `cargo test` as a
//! user showed a chapter whose exercises were still holes as "7 passed".
//!
//! `WORKBOOK_BLESS=1 cargo test --test privileged_marks` (or `.ci/mark-privileged`) writes the
//! missing lines, right below `#[test]` or `#[rstest]`, and removes those of tests that no longer
//! call `privileged!()`. Then review `git diff tests`.

use std::path::{Path, PathBuf};

/// The line, without its indentation.
const MARK: &str =
    r#"#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]"#;

/// The call that makes a test privileged (split so that this file does not hold it).
const CALL: &str = concat!("privileged", "!()");

/// The test files: tests/*.rs (not the helpers under tests/common) and the tool's tests, which
/// use the same helpers and the same build script.
fn test_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["tests", "tools/workbook/tests"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("read a tests directory"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| p.file_name().is_some_and(|n| n != "privileged_marks.rs"))
        .collect();
    files.sort();
    files
}

/// A line's code, without a `//` comment (a line of a string that holds `//` is cut short too,
/// which only hides a call written in a string).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_fn_line(line: &str) -> bool {
    let t = code(line).trim_start();
    let t = t.strip_prefix("pub ").unwrap_or(t);
    let t = t.strip_prefix("async ").unwrap_or(t);
    t.starts_with("fn ")
}

fn fn_name(line: &str) -> &str {
    let after = &line[line.find("fn ").map_or(0, |i| i + 3)..];
    after
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or(after)
}

/// One function of a test file: where its attributes start, its `fn` line, where it ends.
struct Function {
    attrs_start: usize,
    fn_line: usize,
    end: usize,
}

impl Function {
    fn attrs<'a>(&self, lines: &'a [String]) -> impl Iterator<Item = (usize, &'a str)> {
        (self.attrs_start..self.fn_line).map(move |i| (i, lines[i].trim()))
    }
    /// The line of its `#[test]` or `#[rstest]` (also written `#[rstest::rstest]`).
    fn test_attr(&self, lines: &[String]) -> Option<usize> {
        self.attrs(lines)
            .find(|(_, l)| *l == "#[test]" || l.starts_with("#[rstest"))
            .map(|(i, _)| i)
    }
    fn calls_privileged(&self, lines: &[String]) -> bool {
        lines[self.fn_line..=self.end]
            .iter()
            .any(|l| code(l).contains(CALL))
    }
    fn mark_line(&self, lines: &[String]) -> Option<usize> {
        self.attrs(lines).find(|(_, l)| *l == MARK).map(|(i, _)| i)
    }
    /// Where the line goes: below `#[test]`; for rstest, below its last `#[case…]`, because
    /// rstest gives an attribute written above a case to that case alone.
    fn mark_place(&self, lines: &[String], test_attr: usize) -> usize {
        self.attrs(lines)
            .filter(|(_, l)| l.starts_with("#[case"))
            .map(|(i, _)| i)
            .last()
            .map_or(test_attr + 1, |_| self.fn_line)
    }
    /// Whether a mark at `at` comes after every `#[case…]`.
    fn mark_after_the_cases(&self, lines: &[String], at: usize) -> bool {
        self.attrs(lines)
            .all(|(i, l)| i < at || !l.starts_with("#[case"))
    }
}

/// The functions of a file. Attributes are the lines above `fn` up to a blank line or the end
/// of the item before; the body ends at the first `}` line indented as the `fn` line is.
fn functions(lines: &[String]) -> Vec<Function> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !is_fn_line(line) {
            continue;
        }
        let depth = indent(line);
        let mut start = i;
        while start > 0 {
            // A comment line has no code and belongs to the item below.
            let above = code(&lines[start - 1]).trim();
            let ends_an_item = above.ends_with('}') || above.ends_with(';') || above == "{";
            if lines[start - 1].trim().is_empty() || ends_an_item {
                break;
            }
            start -= 1;
        }
        let end = (i..lines.len())
            .find(|&j| lines[j].trim_end() == format!("{}}}", " ".repeat(depth)))
            .unwrap_or(lines.len() - 1);
        out.push(Function {
            attrs_start: start,
            fn_line: i,
            end,
        });
    }
    out
}

/// What is wrong in one file: what blessing fixes, what it cannot fix, and the file as it
/// should be.
fn check_file(text: &str, file: &str) -> (Vec<String>, Vec<String>, String) {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut problems = Vec::new();
    let mut unfixable = Vec::new();
    // Edits from the bottom up, so that earlier line numbers stay right.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut removals: Vec<usize> = Vec::new();
    for f in functions(&lines) {
        let name = fn_name(&lines[f.fn_line]).to_string();
        let calls = f.calls_privileged(&lines);
        let mark = f.mark_line(&lines);
        match (calls, f.test_attr(&lines), mark) {
            (true, None, _) => unfixable.push(format!(
                "{file}: fn {name} calls {CALL} but is no #[test]: call it at the start of the \
                 test itself, so that the test can be marked"
            )),
            (true, Some(at), None) => {
                problems.push(format!("{file}: test {name} calls {CALL} but lacks the line {MARK}"));
                let pad = " ".repeat(indent(&lines[at]));
                inserts.push((f.mark_place(&lines, at), format!("{pad}{MARK}")));
            }
            (true, Some(at), Some(mark)) if !f.mark_after_the_cases(&lines, mark) => {
                problems.push(format!(
                    "{file}: test {name} has the line above a #[case], which ignores that case \
                     alone: it goes below the last #[case]"
                ));
                let pad = " ".repeat(indent(&lines[at]));
                removals.push(mark);
                inserts.push((f.mark_place(&lines, at), format!("{pad}{MARK}")));
            }
            (false, _, Some(at)) => {
                problems.push(format!(
                    "{file}: {name} is marked as needing root but does not call {CALL}"
                ));
                removals.push(at);
            }
            _ => {}
        }
    }
    let mut edits: Vec<(usize, Option<String>)> = inserts
        .into_iter()
        .map(|(at, l)| (at, Some(l)))
        .chain(removals.into_iter().map(|at| (at, None)))
        .collect();
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.0));
    for (at, line) in edits {
        match line {
            Some(l) => lines.insert(at, l),
            None => {
                lines.remove(at);
            }
        }
    }
    let mut fixed = lines.join("\n");
    if text.ends_with('\n') {
        fixed.push('\n');
    }
    (problems, unfixable, fixed)
}

#[test]
fn every_test_that_needs_root_is_ignored_without_it() {
    let bless = std::env::var("WORKBOOK_BLESS").as_deref() == Ok("1");
    let mut problems = Vec::new();
    let mut marked = 0;
    for path in test_files() {
        let text = std::fs::read_to_string(&path).expect("read a test file");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let (found, unfixable, fixed) = check_file(&text, &file);
        marked += fixed.lines().filter(|l| l.trim() == MARK).count();
        problems.extend(unfixable);
        if found.is_empty() {
            continue;
        }
        if bless {
            std::fs::write(&path, fixed).expect("write a test file");
            eprintln!("marked: {} ({} changes)", path.display(), found.len());
        } else {
            problems.extend(found);
        }
    }
    assert!(
        problems.is_empty(),
        "{} privileged test(s) would count as passed without root:\n  {}\nAdd the lines with \
         `.ci/mark-privileged` (WORKBOOK_BLESS=1 cargo test --test privileged_marks), then \
         review git diff tests.",
        problems.len(),
        problems.join("\n  ")
    );
    // The scan found the tests: a parser that finds nothing would pass too.
    assert!(
        marked > 100,
        "only {marked} marked tests found under tests/"
    );
}

#[test]
fn the_checker_marks_tests_moves_a_mark_above_a_case_and_finds_a_helper() {
    // `CALL` and `MARK` stand for the call and the line.
    let before = "
#[test]
#[serial]
fn needs_root() {
    if !CALL {
        return;
    }
}

#[rstest::rstest]
#[case::a(1)]
#[case::b(
    2
)]
fn cases(#[case] n: u8) {
    if !CALL {
        return;
    }
}

#[rstest]
MARK
#[case::a(1)]
#[case::b(2)]
fn marked_for_the_first_case_only(#[case] n: u8) {
    if !CALL {
        return;
    }
}

#[test]
MARK
fn no_root() {
    // CALL in a comment is no call
}

fn helper() {
    CALL;
}
";
    let after = "
#[test]
MARK
#[serial]
fn needs_root() {
    if !CALL {
        return;
    }
}

#[rstest::rstest]
#[case::a(1)]
#[case::b(
    2
)]
MARK
fn cases(#[case] n: u8) {
    if !CALL {
        return;
    }
}

#[rstest]
#[case::a(1)]
#[case::b(2)]
MARK
fn marked_for_the_first_case_only(#[case] n: u8) {
    if !CALL {
        return;
    }
}

#[test]
fn no_root() {
    // CALL in a comment is no call
}

fn helper() {
    CALL;
}
";
    let real = |text: &str| text.replace("CALL", CALL).replace("MARK", MARK);
    let (problems, unfixable, fixed) = check_file(&real(before), "t.rs");
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[2].contains("above a #[case]"), "{problems:#?}");
    assert_eq!(unfixable.len(), 1, "{unfixable:#?}");
    assert!(unfixable[0].contains("fn helper calls"), "{unfixable:#?}");
    assert_eq!(fixed, real(after));
    let (again, unfixable, _) = check_file(&fixed, "t.rs");
    assert!(again.is_empty(), "{again:#?}");
    assert_eq!(unfixable.len(), 1, "only the helper stays: {unfixable:#?}");
}

/// The test functions of a test target that carry the line.
fn marked_tests(target: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/{target}.rs"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    functions(&lines)
        .iter()
        .filter(|f| f.mark_line(&lines).is_some())
        .map(|f| fn_name(&lines[f.fn_line]).to_string())
        .collect()
}

/// The `cargo test --test TARGET [FILTER]` commands of a line that run as the user (no `sudo`
/// in front, not `cargo workbook test`), as (target, filter).
fn user_test_commands(line: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (i, _) in line.match_indices("cargo test") {
        let before = &line[..i];
        if before.trim_end().ends_with("sudo") || before.trim_end().ends_with("-E") {
            continue;
        }
        // The command ends at the end of its code span or at a shell comment.
        let rest = &line[i + "cargo test".len()..];
        let rest = &rest[..rest.find(['`', '#']).unwrap_or(rest.len())];
        let words: Vec<&str> = rest.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "--test") else {
            continue;
        };
        let Some(target) = words.get(at + 1) else {
            continue;
        };
        let filter = words[at + 2..]
            .iter()
            .find(|w| !w.starts_with('-'))
            .map_or(String::new(), |w| w.to_string());
        found.push((target.to_string(), filter));
    }
    found
}

/// A command the book gives that runs a privileged test as the user would show it as ignored:
/// the book says `cargo workbook test` for those (it builds as the user and runs the tests as
/// root), so that its questions ("run … and explain what the test reports") are answered by a
/// test that ran.
#[test]
fn every_command_in_the_book_that_runs_a_privileged_test_runs_it_as_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("book/src"))
        .expect("read book/src")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.extend([root.join("README.md"), root.join("vm/README.md")]);
    pages.sort();
    let mut problems = Vec::new();
    let mut commands = 0;
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("read a page");
        let name = page
            .strip_prefix(root)
            .unwrap_or(&page)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            for (target, filter) in user_test_commands(line) {
                commands += 1;
                let privileged: Vec<String> = marked_tests(&target)
                    .into_iter()
                    .filter(|t| t.contains(&filter))
                    .collect();
                if let Some(first) = privileged.first() {
                    let args = format!("--test {target} {filter}");
                    let args = args.trim_end();
                    problems.push(format!(
                        "{name}:{}: `cargo test {args}` runs {} test(s) that need root \
                         ({first}, …), which a user's build only reports as ignored: write \
                         `cargo workbook test {args}`",
                        n + 1,
                        privileged.len()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} command(s) in the book run privileged tests as the user:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    // The scan reads the commands: pages give some that need no root (image_import).
    assert!(
        commands >= 3,
        "only {commands} `cargo test --test` commands found"
    );
}

#[test]
fn a_user_test_command_is_read_from_a_line() {
    let line = "run `cargo test --test ch01_pid ctrl_c` (`sudo cargo test --test x`) and \
                `cargo test --test ch08_podman           # as root`";
    assert_eq!(
        user_test_commands(line),
        [
            ("ch01_pid".to_string(), "ctrl_c".to_string()),
            ("ch08_podman".to_string(), String::new())
        ]
    );
    assert!(user_test_commands("`cargo workbook test --test ch01_pid`").is_empty());
}
