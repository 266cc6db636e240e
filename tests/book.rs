//! Unprivileged: the book cannot drift from the crate. Every page in SUMMARY.md exists, every
//! `{{#include}}` names a file and anchor that exist, every relative link resolves, every
//! chapter binary has its page, and every `cargo run --bin` command on a page is one the
//! binary accepts. (The "Run it" outputs are checked by the chapter tests themselves, through
//! `common::assert_book_output`.)

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
    let summary = std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
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
                Some((f, a)) if !a.chars().all(|c| c.is_ascii_digit() || c == ':') => (f, Some(a)),
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
                        !source[i + m.len()..]
                            .starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
                    })
                };
                assert!(
                    has(&format!("ANCHOR: {anchor}")) && has(&format!("ANCHOR_END: {anchor}")),
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
            // `cargo run --bin B -- [TOOL OPTIONS] [--] [CMD…]`: the tool's options come first;
            // the binary's --help says which of them take a value.
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
