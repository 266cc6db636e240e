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
//! error  exit  capget
//! ```
//!
//! Every `crate::…` path in src/ (a `use` or a path in code) is read as an arrow from the
//! top module of its file to the top module it names.
//!
//! Then the same for files, in the order of the chapters (below: `CHAPTERS`): no file
//! imports a later chapter's code, none sits in a folder whose chapter does not use it, no
//! two files lean on each other round a circle, and no chapter binary uses a later chapter.

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
    &["error", "exit", "capget"],
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
    let circles = circles(&arrows());
    assert!(circles.is_empty(), "{}", circles.join("\n"));
}

/// The circles of a graph, each as `a → b → a`. Depth-first: a node met again while it is
/// still on the path closes a circle.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
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
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn the_reader_sees_every_kind_of_path() {
    let code = "use crate::{a, b::c, d::{e, f}};\nlet x = crate::g::h();\n$crate::i::j";
    assert_eq!(crate_names(code), ["a", "b", "d", "g"]);
    assert_eq!(code_of("let x = 1; // crate::y"), "let x = 1; ");
}

// ─── Files and chapters ──────────────────────────────────────────────────────────────────
//
// Each folder (or top file) of src/ is the home of one chapter's code. A file may use what
// its own chapter and earlier ones built, never a later chapter's: a learner who opens
// chapter N's folders finds chapter N's code and nothing later. And no two files lean on
// each other, directly or round a circle, inside a module either.
//
// Every path in a file (`crate::…`, `super::…`, `self::…`, and in a `mod.rs` its own
// children's names) is followed to the file that defines the item it names, through the
// `pub use` re-exports on the way. `mod x;` and `pub use x::…` lines are the module's table
// of contents, not a use of the child.

/// Which chapter's code each module path holds; the longest prefix wins. 0 is the shared
/// floor (errors, exit statuses, who owns a leftover), which every chapter may use.
const CHAPTERS: &[(&str, u32)] = &[
    ("error", 0),
    ("exit", 0),
    ("capget", 0),
    ("background", 0),
    ("owner", 0),
    ("privilege", 0),
    ("namespace", 1),
    ("process", 1),
    ("hostname", 2),
    ("ipc", 2),
    ("mount", 3),
    ("rootfs", 3),
    ("idmap", 4),
    ("net", 4),
    ("cgroup", 5),
    ("overlay", 6),
    ("image", 6),
    ("container", 7),
    ("security", 7),
    ("oci", 8),
    ("cli", 9),
];

/// The chapter of a module path such as `container::network::attach`.
fn chapter_of(module: &[String]) -> Option<u32> {
    CHAPTERS
        .iter()
        .filter(|(prefix, _)| {
            let parts: Vec<&str> = prefix.split("::").collect();
            parts.len() <= module.len() && parts.iter().zip(module).all(|(a, b)| a == b)
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|&(_, chapter)| chapter)
}

/// The library's files, by module path (`[]` is lib.rs).
struct Tree {
    files: BTreeMap<Vec<String>, PathBuf>,
}

impl Tree {
    fn read() -> Tree {
        let src = src_dir();
        let mut paths = Vec::new();
        rust_files(&src, &mut paths);
        let mut files = BTreeMap::new();
        for path in paths {
            let rel = path.strip_prefix(&src).expect("under src");
            let mut module: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|n| n == "mod" || n == "lib") {
                module.pop();
            }
            files.insert(module, path);
        }
        Tree { files }
    }

    fn is_module(&self, module: &[String]) -> bool {
        self.files.contains_key(module)
    }

    fn is_mod_rs(&self, module: &[String]) -> bool {
        self.files[module]
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
    }

    /// The module that defines what `path` (absolute, from the crate root) names: the
    /// deepest module on the way, then through that module's `pub use` re-exports.
    fn defining_module(&self, path: &[String], depth: usize) -> Vec<String> {
        let mut module: Vec<String> = Vec::new();
        let mut rest = path;
        while let Some((first, tail)) = rest.split_first() {
            let mut next = module.clone();
            next.push(first.clone());
            if !self.is_module(&next) {
                break;
            }
            module = next;
            rest = tail;
        }
        let (Some(item), true) = (rest.first(), depth < 8) else {
            return module;
        };
        let text = std::fs::read_to_string(&self.files[&module]).expect("source");
        for (name, target) in reexports(&code_of(&text)) {
            if &name == item {
                let mut absolute = module.clone();
                absolute.extend(target);
                return self.defining_module(&absolute, depth + 1);
            }
        }
        module
    }
}

/// The `pub use` re-exports of a module's code: (the name outside, the path inside).
fn reexports(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for statement in code.split(';') {
        let statement = statement.trim();
        let Some(tree) = statement
            .strip_prefix("pub use ")
            .or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        for path in expand(tree) {
            let (path, alias) = match path.split_once(" as ") {
                Some((p, a)) => (p.trim().to_string(), Some(a.trim().to_string())),
                None => (path, None),
            };
            let segments: Vec<String> =
                path.split("::").map(|s| s.trim().to_string()).collect();
            let name =
                alias.unwrap_or_else(|| segments.last().cloned().unwrap_or_default());
            out.push((name, segments));
        }
    }
    out
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e` (a `self` in a group is `a`).
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut item) = (0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .flat_map(expand)
        .map(|i| match i.as_str() {
            "self" => prefix.to_string(),
            _ if prefix.is_empty() => i,
            _ => format!("{prefix}::{i}"),
        })
        .collect()
}

/// The paths a file's code names, made absolute: `crate::a::b`, `super::c`, `self::d`,
/// and in a mod.rs the paths that start with one of its children.
fn paths_in(tree: &Tree, module: &[String], code: &str) -> Vec<Vec<String>> {
    // The module `super` and `self` start from. For a mod.rs, `self` is the folder's.
    let here: Vec<String> = module.to_vec();
    let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
    let children: BTreeSet<String> = tree
        .files
        .keys()
        .filter(|m| m.len() == here.len() + 1 && m.starts_with(&here))
        .map(|m| m[here.len()].clone())
        .collect();
    // Makes a path absolute: `crate::`, `self::`, `super::`, a name a `use` brought in, or
    // (in a mod.rs) one of its children. `None` for paths of other crates.
    let absolute = |full: &str, imported: &BTreeMap<String, Vec<String>>| {
        let mut segments: Vec<String> =
            full.split("::").map(|s| s.trim().to_string()).collect();
        let base = match segments[0].as_str() {
            "crate" => {
                segments.remove(0);
                Vec::new()
            }
            "self" => {
                segments.remove(0);
                here.clone()
            }
            "super" => {
                let mut base = parent.clone();
                segments.remove(0);
                while segments.first().is_some_and(|s| s == "super") {
                    segments.remove(0);
                    base.pop();
                }
                base
            }
            first if imported.contains_key(first) => {
                let base = imported[first].clone();
                segments.remove(0);
                base
            }
            first if tree.is_mod_rs(module) && children.contains(first) => here.clone(),
            _ => return None,
        };
        let mut path = base;
        path.extend(segments.into_iter().filter(|s| s != "*" && !s.is_empty()));
        Some(path)
    };
    // First the names that `use` lines bring in (re-exports too), so that
    // `process::spawn(…)` after `use crate::process;` is read as the path it is.
    let mut imported = BTreeMap::new();
    for statement in code.split(';') {
        let trimmed = statement.trim_start();
        let Some(tree_text) = ["use ", "pub use ", "pub(crate) use "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
        else {
            continue;
        };
        for full in expand(tree_text) {
            let (full, alias) = match full.split_once(" as ") {
                Some((p, a)) => (p.trim().to_string(), Some(a.trim().to_string())),
                None => (full, None),
            };
            if let Some(path) = absolute(&full, &imported) {
                if let Some(name) = alias.or_else(|| path.last().cloned()) {
                    imported.insert(name, path);
                }
            }
        }
    }
    let mut out = Vec::new();
    for statement in code.split(';') {
        let trimmed = statement.trim_start();
        // The table of contents of a module: its children and what it re-exports.
        if trimmed.starts_with("pub use ")
            || trimmed.starts_with("pub(crate) use ")
            || trimmed.starts_with("mod ")
            || trimmed.starts_with("pub mod ")
        {
            continue;
        }
        let is_use = trimmed.starts_with("use ");
        let bytes = statement.as_bytes();
        let mut i = 0;
        while i < statement.len() {
            let at_word = i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'$'
                    || bytes[i - 1] == b':');
            let step = statement[i..].chars().next().map_or(1, char::len_utf8);
            if !at_word {
                i += step;
                continue;
            }
            let word: String = statement[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let is_path = statement[i + word.len()..].starts_with("::");
            if word.is_empty() || !(is_path || imported.contains_key(&word) && !is_use) {
                i += word.len().max(step);
                continue;
            }
            // The whole path, groups included: up to the first char no path has.
            let rest = &statement[i..];
            let mut end = 0;
            let mut depth = 0;
            for (j, c) in rest.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    c if depth > 0 || c.is_alphanumeric() || c == '_' || c == ':' => {}
                    ' ' | ',' | '\n' | '*' if depth > 0 => {}
                    _ => break,
                }
                end = j + c.len_utf8();
            }
            let path = rest[..end].trim_end_matches(':');
            i += end.max(1);
            for full in expand(path) {
                let full = full.split(" as ").next().unwrap_or_default().to_string();
                out.extend(absolute(&full, &imported));
            }
        }
    }
    out
}

/// Arrows between files (by module path): from → {to}.
fn file_arrows() -> (Tree, BTreeMap<String, BTreeSet<String>>) {
    let tree = Tree::read();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &tree.files {
        if module.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("source");
        // An inline `mod tests` is a module of its own, where `super` means this file.
        let text = text
            .split("#[cfg(test)]\nmod tests {")
            .next()
            .unwrap_or_default();
        for path in paths_in(&tree, module, &code_of(text)) {
            let target = tree.defining_module(&path, 0);
            // A module's own tests lean on it by design, and the crate root only
            // re-exports.
            if target.is_empty()
                || target == *module
                || target.last().is_some_and(|n| n == "tests")
            {
                continue;
            }
            graph
                .entry(module.join("::"))
                .or_default()
                .insert(target.join("::"));
        }
    }
    (tree, graph)
}

fn split(module: &str) -> Vec<String> {
    module.split("::").map(str::to_string).collect()
}

#[test]
fn every_file_belongs_to_a_chapter() {
    let tree = Tree::read();
    let homeless: Vec<String> = tree
        .files
        .iter()
        .filter(|(m, _)| !m.is_empty() && chapter_of(m).is_none())
        .map(|(_, f)| format!("{}: no chapter in CHAPTERS", f.display()))
        .collect();
    assert!(homeless.is_empty(), "{}", homeless.join("\n"));
}

#[test]
fn no_file_imports_from_a_later_chapter() {
    let (tree, graph) = file_arrows();
    let mut problems = Vec::new();
    for (from, tos) in &graph {
        let Some(from_chapter) = chapter_of(&split(from)) else {
            continue;
        };
        for to in tos {
            match chapter_of(&split(to)) {
                Some(to_chapter) if to_chapter > from_chapter => problems.push(format!(
                    "{} (chapter {from_chapter}) → {to} (chapter {to_chapter}): a later chapter's code",
                    tree.files[&split(from)].display()
                )),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_file_imports_round_a_circle() {
    let (_, graph) = file_arrows();
    let circles = circles(&graph);
    assert!(circles.is_empty(), "{}", circles.join("\n"));
}

/// The chapter binaries: `chapters/NN-name/main.rs` uses what chapters 1 to NN built.
#[test]
fn no_chapter_binary_uses_a_later_chapter() {
    let tree = Tree::read();
    let chapters = Path::new(env!("CARGO_MANIFEST_DIR")).join("chapters");
    let mut problems = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&chapters)
        .expect("chapters/")
        .flatten()
        .collect();
    dirs.sort_by_key(|d| d.file_name());
    for dir in dirs {
        let name = dir.file_name().to_string_lossy().into_owned();
        let own: u32 = name[..2].parse().expect("NN-name");
        let main = dir.path().join("main.rs");
        let text = std::fs::read_to_string(&main).expect("main.rs");
        let code = code_of(&text).replace("workbook::", "crate::");
        for path in paths_in(&tree, &["cli".to_string()], &code) {
            let target = tree.defining_module(&path, 0);
            match chapter_of(&target) {
                Some(chapter) if chapter > own && target != ["cli"] => {
                    problems.push(format!(
                        "chapters/{name}/main.rs → {} (chapter {chapter})",
                        target.join("::")
                    ))
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_file_reader_follows_reexports_and_groups() {
    assert_eq!(
        expand("a::{b, c::{d, e}, self}"),
        ["a::b", "a::c::d", "a::c::e", "a"]
    );
    let re = reexports("pub use attach::{attach, Attachment};\npub use x::y as z;");
    assert_eq!(re[0], ("attach".to_string(), split("attach::attach")));
    assert_eq!(re[2], ("z".to_string(), split("x::y")));
    let tree = Tree::read();
    // `crate::Error` is defined in error.rs, re-exported by lib.rs.
    assert_eq!(tree.defining_module(&split("Error"), 0), ["error"]);
    assert_eq!(chapter_of(&split("container::network::attach")), Some(7));
}

/// The other half of "one chapter, one place": a file in chapter N's folder serves chapter
/// N. A file that only later chapters use (clone3's spawn, used by chapter 7 alone, once
/// sat in chapter 1's `process/`) belongs in the folder of the first chapter that uses it.
#[test]
fn every_file_serves_its_own_chapter() {
    let (tree, mut graph) = file_arrows();
    // The binaries are users too: chapter NN's main.rs counts as chapter NN.
    let chapters = Path::new(env!("CARGO_MANIFEST_DIR")).join("chapters");
    let mut binaries = BTreeMap::new();
    for dir in std::fs::read_dir(&chapters).expect("chapters/").flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.path().join("main.rs")).expect("main.rs");
        let code = code_of(&text).replace("workbook::", "crate::");
        let user = format!("chapters/{name}");
        binaries.insert(user.clone(), name[..2].parse::<u32>().expect("NN-name"));
        for path in paths_in(&tree, &["cli".to_string()], &code) {
            let target = tree.defining_module(&path, 0);
            if !target.is_empty() {
                graph
                    .entry(user.clone())
                    .or_default()
                    .insert(target.join("::"));
            }
        }
    }
    let chapter = |node: &str| {
        binaries
            .get(node)
            .copied()
            .or_else(|| chapter_of(&split(node)))
    };
    // Who uses each module (a file, or a folder with everything below it) from outside it.
    let inside = |node: &str, module: &[String]| split(node).starts_with(module);
    let mut problems = Vec::new();
    let mut flagged: Vec<Vec<String>> = Vec::new();
    for module in tree.files.keys().filter(|m| !m.is_empty()) {
        if flagged.iter().any(|f| module.starts_with(f)) {
            continue;
        }
        let Some(own) = chapter_of(module).filter(|&c| (1..=8).contains(&c)) else {
            continue;
        };
        let used_by: BTreeSet<u32> = graph
            .iter()
            .filter(|(from, _)| !inside(from, module))
            .filter(|(_, tos)| tos.iter().any(|to| inside(to, module)))
            .filter_map(|(from, _)| chapter(from))
            .collect();
        if let Some(&first) = used_by.first().filter(|&&first| first > own) {
            problems.push(format!(
                "{} sits in chapter {own}'s folder, but only chapters {:?} use it: it belongs to chapter {first}",
                tree.files[module].display(),
                used_by
            ));
            flagged.push(module.clone());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
