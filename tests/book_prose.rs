//! Unprivileged: a chapter page is about its step. Each chapter page holds at most
//! `MAX_PROSE_WORDS` words of prose; what a maintainer measured or a reader may want later
//! (benchmarks, every attack's story, the network's details) lives in an appendix.
//!
//! What counts as prose: every word a reader reads on the rendered page, that is, every line
//! outside fenced code blocks (```` ``` ```` or `~~~`), except
//! - `{{#include …}}` lines (they pull in code or output, which the 40-line include limit of
//!   tests/book.rs bounds already),
//! - the alternative text of an image (`![…](…)`: a screen reader's version of the figure,
//!   not shown next to it),
//! - HTML comments.
//!
//! Tables, lists, headings, the "Your turn" briefs and the collapsed answers of "Questions to
//! think about" all count: a reader reads them.

use std::path::{Path, PathBuf};

/// The most words of prose a chapter page may hold.
const MAX_PROSE_WORDS: usize = 3000;

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

/// The chapter pages: `NN-name.md` in book/src.
fn chapter_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(book_src())
        .expect("book/src can be listed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".md")
                && name.len() > 3
                && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                && name.as_bytes()[2] == b'-'
        })
        .collect();
    pages.sort();
    pages
}

/// Removes `<!-- … -->` comments and the alternative text of `![alt](target)` images.
fn strip_comments_and_alt_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let comment = rest.find("<!--");
        let image = rest.find("![");
        let at = match (comment, image) {
            (None, None) => break,
            (Some(c), None) => c,
            (None, Some(i)) => i,
            (Some(c), Some(i)) => c.min(i),
        };
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = if tail.starts_with("<!--") {
            tail.find("-->").map(|e| e + 3)
        } else {
            // The alt text ends at the `](` that starts the target, which ends at `)`.
            tail.find("](")
                .and_then(|t| tail[t..].find(')').map(|e| t + e + 1))
        };
        match end {
            Some(end) => rest = &tail[end..],
            None => {
                out.push_str(tail);
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The number of prose words of a page's Markdown, as the module comment defines them.
fn prose_words(markdown: &str) -> usize {
    let mut visible = String::new();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (Some(_), _) => {}
            (None, None) if trimmed.starts_with("{{#include") => {}
            (None, None) => {
                visible.push_str(line);
                visible.push('\n');
            }
        }
    }
    strip_comments_and_alt_text(&visible)
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

#[test]
fn prose_words_leave_out_code_includes_alt_text_and_comments() {
    let page = "# Title here\n\
                Two words.\n\
                ```rust,ignore\n\
                {{#include ../../src/lib.rs:x}}\n\
                let not = prose;\n\
                ```\n\
                {{#include output/x.txt}}\n\
                ![a long alternative text\nover two lines](figures/x.svg)\n\
                <!-- a comment -->\n\
                | a | table |\n\
                | --- | --- |\n\
                | counts | too |\n";
    // "Title here" 2, "Two words." 2, the table 4 (the `---` cells hold no word).
    assert_eq!(prose_words(page), 8);
}

#[test]
fn no_chapter_page_has_more_than_3000_words_of_prose() {
    let pages = chapter_pages();
    assert!(pages.len() >= 8, "the eight chapter pages are found");
    let mut report = Vec::new();
    let mut too_long = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page)
            .unwrap_or_else(|e| panic!("{} cannot be read: {e}", page.display()));
        let words = prose_words(&text);
        let name = page.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        report.push(format!("{name}: {words}"));
        if words > MAX_PROSE_WORDS {
            too_long.push(format!(
                "{name} has {words} words of prose, more than {MAX_PROSE_WORDS}: a chapter \
                 page is about its step; move what a maintainer measured or a reader may want \
                 later to an appendix (book/src/appendix/) and link it in one sentence"
            ));
        }
    }
    assert!(
        too_long.is_empty(),
        "{}\n(all pages: {})",
        too_long.join("\n"),
        report.join(", ")
    );
}

#[test]
fn each_chapters_sidebar_title_is_its_page_title() {
    // The sidebar (SUMMARY.md's link text) and the page's first heading name the same step.
    let summary =
        std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    let mut problems = Vec::new();
    for page in chapter_pages() {
        let name = page.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let text = std::fs::read_to_string(&page).expect("chapter page");
        let heading = text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or("")
            .trim();
        let sidebar = summary
            .lines()
            .find(|l| l.contains(&format!("]({name})")))
            .and_then(|l| l.split_once('[').map(|(_, rest)| rest))
            .and_then(|rest| rest.split_once("](").map(|(title, _)| title.trim()));
        match sidebar {
            Some(title) if title == heading => {}
            Some(title) => problems.push(format!(
                "{name}: the sidebar says {title:?}, the page {heading:?}"
            )),
            None => problems.push(format!("{name} is not in SUMMARY.md")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
