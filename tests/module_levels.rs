//! Unprivileged: the library's modules import only from their own level or below, and no two
//! modules import each other, directly or round a circle. The levels, top to bottom:
//!
//! ```text
//! cli                                      the binaries' shared main; the library never uses it
//! container  oci                           the run that joins everything; the OCI runtime interface
//! image                                    layer store, tar import
//! rootfs  process                          the child's root; clone, exec, wait
//! security  idmap                          hardening; uid/gid maps
//! overlay  net  cgroup                     one kernel building block each
//! mount  namespace  hostname  ipc  privilege  owner  background
//! error  exit
//! ```
//!
//! Every `crate::…` path in src/ (a `use` or a path in code) is read as an arrow from the
//! top module of its file to the top module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LEVELS: &[&[&str]] = &[
    &["cli"],
    &["container", "oci"],
    &["image"],
    &["rootfs", "process"],
    &["security", "idmap"],
    &["overlay", "net", "cgroup"],
    &[
        "mount",
        "namespace",
        "hostname",
        "ipc",
        "privilege",
        "owner",
        "background",
    ],
    &["error", "exit"],
];

/// Names lib.rs re-exports at the crate root, and the module they come from.
const ROOT_REEXPORTS: &[(&str, &str)] = &[("Error", "error"), ("Result", "error")];

/// Lower is deeper: error/exit are 0.
fn level(module: &str) -> Option<usize> {
    LEVELS
        .iter()
        .position(|names| names.contains(&module))
        .map(|i| LEVELS.len() - 1 - i)
}

/// The library's sources. `WORKBOOK_SRC_DIR` points the test at another tree (to watch it
/// fail on an older one).
fn src_dir() -> PathBuf {
    std::env::var_os("WORKBOOK_SRC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (a doc link to `crate::x` is no import).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first name of each path in `crate::NAME…` and `crate::{A, B::c, …}`.
fn crate_names(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` and `workbook_crate::` are not ours.
        if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(first_name(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(first_name(&item));
        } else {
            names.push(first_name(rest));
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

fn first_name(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Arrows between top modules: from → {to}.
fn arrows() -> BTreeMap<String, BTreeSet<String>> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let from = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source");
        for name in crate_names(&code_of(&text)) {
            let to = ROOT_REEXPORTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(name.clone(), |(_, m)| m.to_string());
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

#[test]
fn every_module_imports_only_its_own_level_or_below() {
    let mut problems = Vec::new();
    for (from, tos) in arrows() {
        let Some(from_level) = level(&from) else {
            problems.push(format!("src/{from}: a module that has no level in LEVELS"));
            continue;
        };
        for to in tos {
            match level(&to) {
                None => {
                    problems.push(format!("{from} → {to}: {to} has no level in LEVELS"))
                }
                Some(to_level) if to_level > from_level => {
                    problems.push(format!("{from} → {to}: an import from a higher level"))
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_module_imports_round_a_circle() {
    let graph = arrows();
    // Depth-first: a module met again while it is still on the path closes a circle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            circles.push(circle.join(" → "));
            return;
        }
        if !done.insert(node.to_string()) {
            return;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, circles);
        }
        path.pop();
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(circles.is_empty(), "{}", circles.join("\n"));
}

#[test]
fn the_reader_sees_every_kind_of_path() {
    let code = "use crate::{a, b::c, d::{e, f}};\nlet x = crate::g::h();\n$crate::i::j";
    assert_eq!(crate_names(code), ["a", "b", "d", "g"]);
    assert_eq!(code_of("let x = 1; // crate::y"), "let x = 1; ");
}
