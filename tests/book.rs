//! Unprivileged: the book cannot drift from the crate. Every page in SUMMARY.md exists,
//! every `{{#include}}` names a file and anchor that exist, every relative link resolves,
//! every chapter binary has its page, and every `cargo run --bin` command on a page is one
//! the binary accepts. (The "Run it" outputs are checked by the chapter tests themselves,
//! through `common::assert_book_output`.) The exercises' signatures and references under
//! `book/src/exercises/` are generated here, and no page shows a reference unfolded.

mod common;

use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

/// Targets of the markdown links `](target)` in a text, without `#fragments`.
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.split('#').next().unwrap_or("").to_string())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

/// The pages SUMMARY.md links to.
fn pages() -> Vec<PathBuf> {
    let summary =
        std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    links(&summary)
        .into_iter()
        .map(|l| book_src().join(l))
        .collect()
}

fn all_pages() -> Vec<(PathBuf, String)> {
    pages()
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| {
                panic!("{} is in SUMMARY.md but cannot be read: {e}", p.display())
            });
            (p, text)
        })
        .collect()
}

#[test]
fn every_page_in_the_summary_exists() {
    let pages = all_pages();
    assert!(pages.len() >= 8, "the book has its pages");
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let mut checked = 0;
    for (page, text) in all_pages() {
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().expect("closing braces").trim();
            let (file, anchor) = match spec.rsplit_once(':') {
                Some((f, a)) if !a.chars().all(|c| c.is_ascii_digit() || c == ':') => {
                    (f, Some(a))
                }
                _ => (spec, None),
            };
            let path = page.parent().expect("page dir").join(file);
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("{}: include {file} cannot be read: {e}", page.display())
            });
            if let Some(anchor) = anchor {
                // As mdBook reads them: the name ends at the first character that cannot be
                // part of it (a newline in code, ` -->` in Markdown).
                let has = |marker: &str| {
                    source.match_indices(marker).any(|(i, m)| {
                        !source[i + m.len()..].starts_with(|c: char| {
                            c.is_alphanumeric() || c == '_' || c == '-'
                        })
                    })
                };
                assert!(
                    has(&format!("ANCHOR: {anchor}"))
                        && has(&format!("ANCHOR_END: {anchor}")),
                    "{}: anchor {anchor} is missing in {file}",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 10,
        "the pages include code and output ({checked} includes)"
    );
}

/// Every `ANCHOR: name` in the sources is included by some page: a marker no page uses
/// is noise in the code a learner reads, and drifts from what it marked.
#[test]
fn every_anchor_is_used_by_a_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = std::collections::BTreeSet::new();
    for (page, text) in all_pages() {
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().expect("closing braces").trim();
            if let Some((file, anchor)) = spec.rsplit_once(':') {
                let path = page.parent().expect("page dir").join(file);
                if let Ok(path) = path.canonicalize() {
                    used.insert((path, anchor.to_string()));
                }
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["src", "chapters", "bench"] {
        let mut stack = vec![root.join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("source dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
    }
    let mut unused = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let canonical = file.canonicalize().expect("canonical path");
        for line in text.lines() {
            let Some(i) = line.find("ANCHOR: ") else {
                continue;
            };
            let name: String = line[i + "ANCHOR: ".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if !used.contains(&(canonical.clone(), name.clone())) {
                let rel = file.strip_prefix(root).unwrap_or(&file);
                unused.push(format!(
                    "{}: anchor {name} is included by no page",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "{} unused anchors:\n{}",
        unused.len(),
        unused.join("\n")
    );
}

#[test]
fn every_relative_link_resolves() {
    for (page, text) in all_pages() {
        for link in links(&text) {
            let target = page.parent().expect("page dir").join(&link);
            assert!(
                target.exists(),
                "{}: the link {link} points at nothing",
                page.display()
            );
        }
    }
}

/// The `name`s of the `[[bin]]` entries of Cargo.toml.
fn binaries() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("name"))?;
            Some(line.split('"').nth(1)?.to_string())
        })
        .collect()
}

#[test]
fn every_chapter_binary_has_its_page() {
    let pages = pages();
    for bin in binaries() {
        let page = book_src().join(format!("{bin}.md"));
        assert!(
            pages.contains(&page),
            "the binary {bin} has no page book/src/{bin}.md in SUMMARY.md"
        );
    }
}

#[test]
fn every_cargo_run_command_on_a_page_parses() {
    let target = Path::new(env!("CARGO_BIN_EXE_01-unshare-pid"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let mut checked = 0;
    for (page, text) in all_pages() {
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("cargo run --bin ") else {
                continue;
            };
            let command = rest.split('#').next().unwrap_or("").trim();
            let mut words = command.split_whitespace();
            let bin = words.next().expect("a binary name");
            let words: Vec<&str> = words.collect();
            // `cargo run --bin B -- [TOOL OPTIONS] [--] [CMD…]`: the tool's options come
            // first; the binary's --help says which of them take a value.
            let words: &[&str] = match words.first() {
                Some(&"--") => &words[1..],
                _ => &[],
            };
            let binary = target.join(bin);
            let binary = binary.to_str().expect("path");
            let mut help = common::stdout(&common::run_bin(binary, &["--help"]));
            let mut tool_args: Vec<&str> = Vec::new();
            let mut i = 0;
            // A subcommand (`07-full-container run …`): take it, and read its own --help.
            if let Some(first) = words.first().filter(|w| !w.starts_with('-')) {
                if help.contains("Commands:") {
                    assert!(
                        help.contains(&format!("\n  {first} ")),
                        "{}: `{line}`: {bin} has no subcommand {first}",
                        page.display()
                    );
                    tool_args.push(first);
                    help = common::stdout(&common::run_bin(binary, &[first, "--help"]));
                    i = 1;
                }
            }
            while i < words.len() && words[i].starts_with('-') && words[i] != "--" {
                tool_args.push(words[i]);
                let takes_value = help.contains(&format!("{} <", words[i]));
                if takes_value && !words[i].contains('=') && i + 1 < words.len() {
                    tool_args.push(words[i + 1]);
                    i += 1;
                }
                i += 1;
            }
            let mut args = tool_args.clone();
            args.push("--help");
            let out = common::run_bin(binary, &args);
            assert!(
                out.status.success(),
                "{}: `{line}`: {bin} does not accept {tool_args:?}: {}",
                page.display(),
                common::stderr(&out)
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "pages show commands ({checked})");
}

/// The integration test targets: `tests/NAME.rs`.
fn test_targets() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs")?.to_string())
        })
        .collect();
    names.sort();
    names
}

/// The pages, and the other Markdown a learner is sent to for commands.
fn pages_and_guides() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = all_pages();
    for guide in ["README.md", "vm/README.md"] {
        let path = root.join(guide);
        let text = std::fs::read_to_string(&path).expect("guide");
        all.push((path, text));
    }
    all
}

#[test]
fn every_test_target_named_in_a_command_exists() {
    let targets = test_targets();
    let mut checked = 0;
    for (page, text) in pages_and_guides() {
        for line in text.lines() {
            let command = ["cargo test", "workbook test", "run-tests"];
            if !command.iter().any(|c| line.contains(c)) {
                continue;
            }
            let mut words =
                line.split(|c: char| c.is_whitespace() || c == '`' || c == '\'');
            while let Some(word) = words.next() {
                if word != "--test" {
                    continue;
                }
                let name = words.next().unwrap_or("");
                assert!(
                    targets.iter().any(|t| t == name),
                    "{}: `{}` names the test target {name:?}, which is not in tests/ \
                     (the targets are {targets:?})",
                    page.display(),
                    line.trim()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "pages name test targets ({checked})");
}

/// The fenced code blocks of a page: (info string, body lines, line number of the fence).
fn code_blocks(text: &str) -> Vec<(String, Vec<&str>, usize)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<&str>, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => open = Some((info.trim().to_string(), Vec::new(), n + 1)),
            (Some(_), Some(_)) => blocks.push(open.take().expect("open block")),
            (Some((_, body, _)), None) => body.push(line),
            (None, None) => {}
        }
    }
    blocks
}

/// The lines an include brings in, as mdBook cuts them: between the anchor's markers,
/// without the lines that hold other anchors' markers.
fn included_lines(page: &Path, spec: &str) -> (String, Vec<String>) {
    let (file, anchor) = match spec.rsplit_once(':') {
        Some((f, a)) if !a.chars().all(|c| c.is_ascii_digit() || c == ':') => (f, Some(a)),
        _ => (spec, None),
    };
    let path = page.parent().expect("page dir").join(file);
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: include {file}: {e}", page.display()));
    let ends_name =
        |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    let mut lines = Vec::new();
    let mut inside = anchor.is_none();
    for line in source.lines() {
        if let Some(a) = anchor {
            if let Some(i) = line.find(&format!("ANCHOR_END: {a}")) {
                if ends_name(&line[i + "ANCHOR_END: ".len() + a.len()..]) {
                    inside = false;
                    continue;
                }
            }
            if let Some(i) = line.find(&format!("ANCHOR: {a}")) {
                if ends_name(&line[i + "ANCHOR: ".len() + a.len()..]) {
                    inside = true;
                    continue;
                }
            }
        }
        if inside && !line.contains("ANCHOR: ") && !line.contains("ANCHOR_END: ") {
            lines.push(line.to_string());
        }
    }
    (file.to_string(), lines)
}

/// `lines` without those between `// exercise ID: …` and `// end of exercise ID`: there a
/// learner writes, and the book shows the region only through the generated files under
/// `book/src/exercises/`, which are checked in their place.
fn without_exercise_regions(lines: Vec<String>) -> Vec<String> {
    let mut inside = false;
    let mut kept = Vec::new();
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with("// end of exercise ") {
            inside = false;
        } else if trimmed
            .strip_prefix("// exercise ")
            .is_some_and(|r| r.get(2..3) == Some(".") && r.get(4..6) == Some(": "))
        {
            inside = true;
        } else if !inside {
            kept.push(line);
        }
    }
    kept
}

const MAX_INCLUDE_LINES: usize = 40;
const MAX_INCLUDE_COLUMNS: usize = 92;

#[test]
fn every_included_block_fits_the_page() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (page, text) in all_pages() {
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().expect("closing braces").trim();
            let (file, lines) = included_lines(&page, spec);
            if file.ends_with(".md") {
                continue; // a table or text of another page, not a code block
            }
            let lines = without_exercise_regions(lines);
            let name = page
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            if lines.len() > MAX_INCLUDE_LINES {
                problems.push(format!(
                    "{name}: {spec} is {} lines long (at most {MAX_INCLUDE_LINES}: include a \
                     smaller anchor and link to the rest)",
                    lines.len()
                ));
            }
            // What a binary prints is shown as it prints it; code has to fit the column.
            if !file.contains("output/") {
                for line in &lines {
                    let width = line.chars().count();
                    if width > MAX_INCLUDE_COLUMNS {
                        problems.push(format!(
                            "{name}: {spec} has a line of {width} columns (at most \
                             {MAX_INCLUDE_COLUMNS}): {}",
                            line.trim()
                        ));
                    }
                }
            }
            checked += 1;
        }
        // A diagram drawn in text fits the column too (a wider one becomes a figure), and
        // so do the commands to type.
        for (info, body, at) in code_blocks(&text) {
            let widest = body.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            if (info == "text,diagram" || info == "sh") && widest > MAX_INCLUDE_COLUMNS {
                problems.push(format!(
                    "{}:{at}: a ```{info} block {widest} columns wide (at most \
                     {MAX_INCLUDE_COLUMNS}; draw a wide diagram as an SVG figure under \
                     book/src/figures/, put a long comment in the text)",
                    page.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 10, "the pages include code ({checked})");
}

/// What a learner types: the first word of each command line in an `sh` block.
const COMMANDS: &[&str] = &[
    "cargo",
    "sudo",
    "vm/qemu/run-tests",
    "vagrant",
    "cd",
    "git",
    "curl",
    "mdbook",
    "stat",
    "cat",
    "hostname",
    "mount",
    "ip",
    "ls",
    "sysctl",
    "unshare",
    "echo",
];

#[test]
fn no_output_is_typed_by_hand() {
    // The convention: ```sh blocks hold only commands to type (a `#` comment may follow);
    // output comes from the tests, as `{{#include output/…}}` in a ```text block; a diagram
    // is a figure, or a ```text,diagram block; code is an include in a ```rust,ignore
    // block.
    let mut problems = Vec::new();
    for (page, text) in all_pages() {
        let name = page
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        for (info, body, at) in code_blocks(&text) {
            let lines: Vec<&str> = body
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect();
            let only_includes = |dir: &str| {
                lines.iter().all(|l| {
                    l.starts_with("{{#include ") && (dir.is_empty() || l.contains(dir))
                })
            };
            match info.as_str() {
                "sh" => {
                    let mut continued = false;
                    for line in &lines {
                        let first = line.split_whitespace().next().unwrap_or("");
                        if !continued
                            && !first.starts_with('#')
                            && !COMMANDS.contains(&first)
                        {
                            problems.push(format!(
                                "{name}:{at}: `{line}` in a sh block is not a command to type \
                                 (output belongs in an included output file)"
                            ));
                        }
                        continued = line.ends_with('\\');
                    }
                }
                "text" if !only_includes("output/") => problems.push(format!(
                    "{name}:{at}: a text block that is not an included output file (output \
                     comes from the tests; mark a diagram ```text,diagram)"
                )),
                "rust,ignore" if !only_includes("") => problems.push(format!(
                    "{name}:{at}: a Rust block that holds code instead of including it"
                )),
                // A configuration file to write (a Kubernetes object, containerd's
                // config) is a real file of the book, checked where it can be.
                "toml" | "yaml" if !only_includes("") => problems.push(format!(
                    "{name}:{at}: a ```{info} block that holds text instead of including a file"
                )),
                "text,diagram" | "text" | "rust,ignore" | "toml" | "yaml" => {}
                other => problems.push(format!(
                    "{name}:{at}: a ```{other} block: use sh (commands), text (an included \
                     output), text,diagram, rust,ignore (an included region) or toml/yaml \
                     (an included configuration file)"
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_chapter_ends_with_read_more_and_three_links() {
    for bin in binaries() {
        let page = book_src().join(format!("{bin}.md"));
        let text = std::fs::read_to_string(&page).expect("chapter page");
        let Some((_, section)) = text.split_once("\n## Read more\n") else {
            panic!("{bin}.md has no \"## Read more\" section");
        };
        let section = section.split("\n## ").next().unwrap_or("");
        let links = section
            .split("](https://")
            .skip(1)
            .filter(|rest| rest.split(')').next().is_some_and(|u| u.contains('.')))
            .count();
        assert!(
            links >= 3,
            "{bin}.md: Read more has {links} links to read on (at least 3)"
        );
    }
}

#[test]
fn a_privileged_tests_skip_message_names_the_test() {
    // The name `privileged!()` prints when it skips, read from inside a closure too.
    assert_eq!(
        test_name!(),
        "a_privileged_tests_skip_message_names_the_test"
    );
    let inner = || test_name!();
    assert_eq!(inner(), "a_privileged_tests_skip_message_names_the_test");
}

/// Words that belong to a later chapter's step: the page of an earlier chapter shows no code
/// that holds one (its step is a function of its own size, which later chapters wrap).
const LATER: &[(&str, &[&str])] = &[
    (
        "01-unshare-pid.md",
        &[
            "clone3",
            "CLONE_INTO_CGROUP",
            "NEWTIME",
            "cgroup",
            "time",
            "Overlay",
            "seccomp",
        ],
    ),
    ("02-uts-ipc.md", &["clone3", "cgroup", "Overlay", "seccomp"]),
    (
        "03-mount-rootfs.md",
        &[
            "Overlay",
            "overlay",
            "cgroupfs",
            "protect",
            "read_only",
            "seccomp",
        ],
    ),
    (
        "04-user-net.md",
        &["clone3", "cgroup", "Overlay", "seccomp"],
    ),
];

#[test]
fn no_page_shows_a_later_chapters_code() {
    let mut problems = Vec::new();
    for (page, text) in all_pages() {
        let name = page
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let Some((_, words)) = LATER.iter().find(|(p, _)| *p == name) else {
            continue;
        };
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().expect("closing braces").trim();
            let (file, lines) = included_lines(&page, spec);
            if file.contains("output/") || file.ends_with(".md") {
                continue;
            }
            for line in &without_exercise_regions(lines) {
                if let Some(word) = words.iter().find(|w| line.contains(*w)) {
                    problems
                        .push(format!("{name}: {spec} shows {word:?}: {}", line.trim()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One `[[exercise]]` of exercises.toml: the fields the book and the tests need.
#[derive(Debug, Default)]
struct Exercise {
    id: String,
    title: String,
    file: String,
    chapter: String,
    tests: Vec<String>,
}

/// The rest of a TOML value that begins on `first`: a string (`"…"`, `'…'`, `"""…"""` over
/// lines) or an array of them (over lines), read up to its end.
fn toml_value<'a>(first: &str, lines: &mut impl Iterator<Item = &'a str>) -> String {
    let mut value = first.to_string();
    loop {
        // Where the strings are, and how deep the brackets, in what is read so far.
        let (mut depth, mut open, mut i) = (0i32, None::<&str>, 0usize);
        while i < value.len() {
            let rest = &value[i..];
            let char_len = |s: &str| s.chars().next().map_or(1, char::len_utf8);
            if let Some(quote) = open {
                if quote.starts_with('"') && rest.starts_with('\\') {
                    i += 1 + char_len(&rest[1..]);
                    continue;
                }
                if rest.starts_with(quote) {
                    open = None;
                    i += quote.len();
                    continue;
                }
            } else if let Some(quote) = ["\"\"\"", "\"", "'''", "'"]
                .into_iter()
                .find(|q| rest.starts_with(q))
            {
                open = Some(quote);
                i += quote.len();
                continue;
            } else if rest.starts_with('#') {
                i += rest.find('\n').unwrap_or(rest.len());
                continue;
            } else if rest.starts_with('[') {
                depth += 1;
            } else if rest.starts_with(']') {
                depth -= 1;
            }
            i += char_len(rest);
        }
        if open.is_none() && depth <= 0 {
            return value;
        }
        let line = lines.next().unwrap_or_else(|| {
            panic!("exercises.toml: a value that does not end: {value}")
        });
        value.push('\n');
        value.push_str(line);
    }
}

/// The exercises of `exercises.toml`. A reader for the file's own shape (`[[exercise]]`
/// tables of strings and arrays of strings, over lines too, and sub-tables such as
/// `[[exercise.wrong]]`, which it skips), not all of TOML.
fn exercises() -> Vec<Exercise> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises.toml");
    let text =
        std::fs::read_to_string(&path).expect("exercises.toml at the repository root");
    parse_exercises(&text)
}

fn parse_exercises(text: &str) -> Vec<Exercise> {
    let quoted = |s: &str| -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut all: Vec<Exercise> = Vec::new();
    // Whether the keys read now are the exercise's own (not a sub-table's).
    let mut own = false;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            own = line == "[[exercise]]";
            if own {
                all.push(Exercise::default());
            }
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("exercises.toml: {line:?} is no `key = value`"));
        let value = toml_value(value.trim(), &mut lines);
        if !own {
            continue;
        }
        let exercise = all.last_mut().unwrap_or_else(|| {
            panic!("exercises.toml: {key} before the first [[exercise]]")
        });
        let strings = quoted(&value);
        let first = || strings.first().cloned().unwrap_or_default();
        match key.trim() {
            "id" => exercise.id = first(),
            "title" => exercise.title = first(),
            "file" => exercise.file = first(),
            "chapter" => exercise.chapter = first(),
            "tests" => exercise.tests = strings.clone(),
            _ => {}
        }
    }
    all
}

/// The `### Exercise …` headings of a page: (line, whether it is under `## Your turn`).
fn exercise_headings(text: &str) -> Vec<(String, bool)> {
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = title;
        }
        if line.starts_with("### Exercise ") {
            out.push((line.to_string(), section == "Your turn"));
        }
    }
    out
}

#[test]
fn every_exercise_has_its_section_under_your_turn_and_every_section_its_exercise() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all = exercises();
    assert!(
        all.len() >= 7,
        "exercises.toml lists the exercises ({})",
        all.len()
    );
    let mut problems = Vec::new();
    let mut ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != all.len() {
        problems.push("exercises.toml: an id appears twice".to_string());
    }
    for e in &all {
        let heading = format!("### Exercise {}: {}", e.id, e.title);
        let page = std::fs::read_to_string(root.join(&e.chapter)).unwrap_or_default();
        if !exercise_headings(&page).contains(&(heading.clone(), true)) {
            problems.push(format!(
                "{}: exercise {} has no section \"{heading}\" under \"## Your turn\"",
                e.chapter, e.id
            ));
        }
    }
    for (page, text) in all_pages() {
        let chapter = page
            .strip_prefix(root)
            .unwrap_or(&page)
            .to_string_lossy()
            .into_owned();
        for (heading, under_your_turn) in exercise_headings(&text) {
            let known = all.iter().any(|e| {
                e.chapter == chapter
                    && heading == format!("### Exercise {}: {}", e.id, e.title)
            });
            if !known || !under_your_turn {
                problems.push(format!(
                    "{chapter}: \"{heading}\" is not an exercise of exercises.toml for this \
                     page, under \"## Your turn\""
                ));
            }
        }
    }
    // Chapters 1 to 7 are the ones with exercises.
    for bin in binaries().iter().filter(|b| b.as_str() < "08") {
        let text = std::fs::read_to_string(book_src().join(format!("{bin}.md")))
            .expect("chapter page");
        if !text.contains("\n## Your turn\n") {
            problems.push(format!("{bin}.md has no \"## Your turn\" section"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_exercise_names_its_markers_and_existing_test_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let targets = test_targets();
    let mut problems = Vec::new();
    for e in exercises() {
        if e.tests.is_empty() {
            problems.push(format!("exercise {} names no test", e.id));
        }
        for test in &e.tests {
            let target = test.split("::").next().unwrap_or("");
            if target != "lib" && !targets.iter().any(|t| t == target) {
                problems.push(format!(
                    "exercise {}: {test:?} names the target {target:?}, neither `lib` nor a \
                     file tests/{target}.rs",
                    e.id
                ));
            }
        }
        let source = std::fs::read_to_string(root.join(&e.file)).unwrap_or_default();
        let begin = format!("// exercise {}: {}", e.id, e.title);
        let end = format!("// end of exercise {}", e.id);
        let count = |marker: &str| source.lines().filter(|l| l.trim() == marker).count();
        if count(&begin) != 1 || count(&end) != 1 {
            problems.push(format!(
                "{}: exercise {} needs one \"{begin}\" and one \"{end}\"",
                e.file, e.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// The exercises on the pages: the signature above, the reference out of sight.
//
// A page never includes an exercise's region from the source. It includes two files that
// this test generates from the source and keeps true, like the "Run it" outputs:
// `book/src/exercises/ID-signature.rs` (the doc comment, the signature and a `todo!()`, what
// `cargo workbook start` leaves) and `ID-reference.rs` (the whole function), which a page
// shows only inside `<details>`, after the exercise.
//
// The book judges the reference, not a learner's work. The signature lies outside the
// region, so a learner's edits never change it. The reference file is compared with the
// source only while the tree holds the reference: not once `cargo workbook start` has run
// (a `.workbook/` directory at the root) nor while the region holds a `todo!`. That needs
// neither git nor its history, so it holds on a fresh clone and on a tarball alike. The
// width and later-chapter checks skip the lines between the markers: what a page shows of
// an exercise is the generated file, which is checked instead.

/// The text of an exercise's function, cut in the two forms the book shows.
struct ExerciseFunction {
    /// The doc comment and the signature, up to and with the opening `{`.
    head: Vec<String>,
    /// The lines between the markers: the reference, or the learner's work.
    body: Vec<String>,
    /// The file's lines outside the region, to tell the answer's own lines from shared ones.
    rest: Vec<String>,
}

fn is_anchor_line(line: &str) -> bool {
    line.contains("ANCHOR: ") || line.contains("ANCHOR_END: ")
}

/// Whether a trimmed line declares a function (`pub(super) fn x(`, `fn x<F>(`…).
fn declares_fn(trimmed: &str) -> bool {
    let mut rest = trimmed;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.starts_with("fn ")
}

/// Reads the function that holds exercise `e`'s region (the region is its whole body).
fn exercise_function(e: &Exercise) -> ExerciseFunction {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(&e.file)).unwrap_or_else(|err| {
        panic!("exercise {}: {} cannot be read: {err}", e.id, e.file)
    });
    let lines: Vec<&str> = text.lines().collect();
    let begin_marker = format!("// exercise {}: {}", e.id, e.title);
    let end_marker = format!("// end of exercise {}", e.id);
    let begin = lines
        .iter()
        .position(|l| l.trim() == begin_marker)
        .unwrap_or_else(|| panic!("{}: no \"{begin_marker}\"", e.file));
    let end = lines
        .iter()
        .position(|l| l.trim() == end_marker)
        .unwrap_or_else(|| panic!("{}: no \"{end_marker}\"", e.file));
    let fn_line = (0..begin)
        .rev()
        .find(|&n| declares_fn(lines[n].trim()))
        .unwrap_or_else(|| panic!("{}: exercise {} is in no function", e.file, e.id));
    let indent = lines[fn_line].len() - lines[fn_line].trim_start().len();
    assert!(
        lines.get(end + 1).map(|l| l.trim()) == Some("}"),
        "{}: exercise {}'s end marker is not followed by its function's closing brace (a \
         region is the whole body of one function)",
        e.file,
        e.id
    );
    let mut doc_start = fn_line;
    while doc_start > 0 {
        let above = lines[doc_start - 1].trim();
        if above.starts_with("///") || above.starts_with("#[") || is_anchor_line(above) {
            doc_start -= 1;
        } else {
            break;
        }
    }
    let dedent = |l: &str| -> String {
        let cut = l.len() - l.trim_start().len();
        l[cut.min(indent)..].to_string()
    };
    let head = lines[doc_start..begin]
        .iter()
        .filter(|l| !is_anchor_line(l))
        .map(|l| dedent(l))
        .collect();
    let body = lines[begin + 1..end].iter().map(|l| dedent(l)).collect();
    let rest = lines[..begin]
        .iter()
        .chain(&lines[end + 1..])
        .map(|l| l.trim().to_string())
        .collect();
    ExerciseFunction { head, body, rest }
}

fn exercises_dir() -> PathBuf {
    book_src().join("exercises")
}

/// What `start` leaves, as the page shows it: the doc, the signature and a `todo!()`.
fn signature_text(e: &Exercise, f: &ExerciseFunction) -> String {
    let mut out = f.head.join("\n");
    out.push_str(&format!("\n    todo!(\"exercise {}\")\n}}\n", e.id));
    out
}

/// The whole function with the reference body, without the markers.
fn reference_text(f: &ExerciseFunction) -> String {
    let mut out = f.head.join("\n");
    for line in &f.body {
        out.push('\n');
        out.push_str(line);
    }
    out.push_str("\n}\n");
    out
}

/// Whether the region in the tree is a learner's, not the reference: `start` ran (the tool
/// keeps its state in `.workbook/`), or the region holds a hole (a `todo!`, whatever its
/// text: no reference has one).
fn tree_is_a_learners(f: &ExerciseFunction) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.join(".workbook").exists() || f.body.iter().any(|l| l.contains("todo!("))
}

#[test]
fn the_exercise_files_the_pages_include_are_generated_from_the_source() {
    let bless = std::env::var("WORKBOOK_BLESS").as_deref() == Ok("1");
    let mut problems = Vec::new();
    for e in exercises() {
        let f = exercise_function(&e);
        let mut files = vec![("signature", signature_text(&e, &f))];
        if tree_is_a_learners(&f) {
            eprintln!(
                "exercise {}: the tree holds a learner's work, so {}-reference.rs is not \
                 compared with it",
                e.id, e.id
            );
        } else {
            files.push(("reference", reference_text(&f)));
        }
        for (kind, expected) in files {
            let path = exercises_dir().join(format!("{}-{kind}.rs", e.id));
            let committed = std::fs::read_to_string(&path).ok();
            if committed.as_deref() == Some(expected.as_str()) {
                continue;
            }
            if bless {
                std::fs::create_dir_all(exercises_dir())
                    .expect("create book/src/exercises");
                std::fs::write(&path, &expected).expect("write an exercise file");
                eprintln!("blessed {}", path.display());
                continue;
            }
            problems.push(format!(
                "{} differs from exercise {}'s function in {} (regenerate with \
                 WORKBOOK_BLESS=1 cargo test --test book, then review git diff)\n--- \
                 committed\n{}\n--- from the source\n{expected}",
                path.display(),
                e.id,
                e.file,
                committed.as_deref().unwrap_or("(missing)")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The trimmed lines of every `.rs` file under `dir`, outside the exercise regions.
fn lines_outside_exercises(dir: &Path, out: &mut std::collections::HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            lines_outside_exercises(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines = text.lines().map(str::to_string).collect();
            out.extend(
                without_exercise_regions(lines)
                    .iter()
                    .map(|l| l.trim().to_string()),
            );
        }
    }
}

/// The lines of an exercise's reference that give its answer away: the body's own lines (in
/// the committed reference file, which the test above keeps equal to the source), long
/// enough to mean something and found in no code of the crate outside the exercises.
fn telling_lines(e: &Exercise, shared: &std::collections::HashSet<String>) -> Vec<String> {
    let f = exercise_function(e);
    let reference =
        std::fs::read_to_string(exercises_dir().join(format!("{}-reference.rs", e.id)))
            .unwrap_or_default();
    let head = f.head.len();
    let lines: Vec<&str> = reference.lines().collect();
    let body = &lines[head.min(lines.len())..lines.len().saturating_sub(1)];
    body.iter()
        .map(|l| l.trim().to_string())
        .filter(|l| l.chars().filter(|c| c.is_alphanumeric()).count() >= 12)
        .filter(|l| !f.rest.contains(l) && !shared.contains(l))
        .collect()
}

/// Each `{{#include}}` of a page with whether it is inside a `<details>` block.
fn includes_with_collapsed(text: &str) -> Vec<(String, bool)> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for line in text.lines() {
        for include in line.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().expect("closing braces").trim();
            out.push((spec.to_string(), depth > 0));
        }
        depth += line.matches("<details").count();
        depth = depth.saturating_sub(line.matches("</details>").count());
    }
    out
}

#[test]
fn no_page_shows_an_exercises_reference_outside_a_collapsed_block() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut shared = std::collections::HashSet::new();
    for dir in ["src", "chapters"] {
        lines_outside_exercises(&root.join(dir), &mut shared);
    }
    let telling: Vec<(String, Vec<String>)> = exercises()
        .iter()
        .map(|e| (e.id.clone(), telling_lines(e, &shared)))
        .collect();
    for (id, lines) in &telling {
        assert!(
            !lines.is_empty(),
            "exercise {id}: its reference has too few lines of its own to look for ({lines:?})"
        );
    }
    let mut problems = Vec::new();
    for (page, text) in all_pages() {
        let name = page
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        for (spec, collapsed) in includes_with_collapsed(&text) {
            if collapsed {
                continue;
            }
            let (_, shown) = included_lines(&page, &spec);
            let shown: Vec<String> = shown.iter().map(|l| l.trim().to_string()).collect();
            for (id, lines) in &telling {
                if let Some(line) = lines.iter().find(|l| shown.contains(l)) {
                    problems.push(format!(
                        "{name}: {{{{#include {spec}}}}} shows exercise {id}'s reference \
                         outside a <details> block: {line}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The text of exercise `id`'s section: from its heading to the next heading.
fn exercise_section<'a>(text: &'a str, id: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n### Exercise {id}: "))? + 1;
    let rest = &text[start..];
    let end = rest[1..].find("\n#").map(|i| i + 2).unwrap_or(rest.len());
    Some(&rest[..end])
}

#[test]
fn every_exercise_shows_its_signature_the_wrong_answers_check_and_a_collapsed_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for e in exercises() {
        let page = std::fs::read_to_string(root.join(&e.chapter)).unwrap_or_default();
        let Some(section) = exercise_section(&page, &e.id) else {
            problems.push(format!("{}: no section for exercise {}", e.chapter, e.id));
            continue;
        };
        let includes = includes_with_collapsed(section);
        let wanted = [
            (format!("exercises/{}-signature.rs", e.id), false),
            (format!("output/exercise-{}-wrong.txt", e.id), false),
            (format!("exercises/{}-reference.rs", e.id), true),
        ];
        for (spec, collapsed) in wanted {
            if !includes.contains(&(spec.clone(), collapsed)) {
                problems.push(format!(
                    "{}: the section of exercise {} does not include {spec}{}",
                    e.chapter,
                    e.id,
                    if collapsed {
                        " inside <details><summary>The reference (open it after your own \
                         try)</summary> … </details>"
                    } else {
                        " (outside <details>)"
                    }
                ));
            }
        }
        if !section.contains("\nIf you ")
            || !section.replace('\n', " ").contains(", the check says:")
        {
            problems.push(format!(
                "{}: the section of exercise {} does not say \"If you [the wrong answer], \
                 the check says:\" above the wrong answer's output",
                e.chapter, e.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_exercise_list_reader_skips_graded_hints_and_wrong_answers() {
    let text = r#"
# a comment
[[exercise]]
id = "02.2"
title = "create a segment"   # a comment
file = "src/ipc.rs"
chapter = "book/src/02-uts-ipc.md"
tests = [
    "ch02_uts_ipc::one", # why
    "exercise_ipc::two",
]
hint = [
    """
The first hint, with a ] and a "quote" and id = "99.9".
""",
    'a literal [',
]

[[exercise.wrong]]
name = "no IPC_EXCL"
find = """IPC_CREAT | IPC_EXCL"""
replace = "IPC_CREAT"

[[exercise]]
id = "03.1"
title = "t"
file = "f"
chapter = "c"
tests = ["lib"]
hint = """
one [
"""
"#;
    let all = parse_exercises(text);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0].id, "02.2");
    assert_eq!(all[0].title, "create a segment");
    assert_eq!(
        all[0].tests,
        ["ch02_uts_ipc::one", "exercise_ipc::two"],
        "{all:?}"
    );
    assert_eq!(
        (all[1].id.as_str(), all[1].tests.as_slice()),
        ("03.1", &["lib".to_string()][..])
    );
}
