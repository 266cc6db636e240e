//! exercises.toml, the one list of exercises: their ids, files, pages, tests and hints.

use std::path::{Path, PathBuf};

use crate::toml::{self, Value};
use crate::Fail;

/// One exercise as exercises.toml describes it.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub id: String,
    pub title: String,
    /// The source file holding the markers, relative to the repository root.
    pub file: String,
    /// The book page, relative to the repository root.
    pub chapter: String,
    pub tests: Vec<TestRef>,
    pub hint: String,
}

/// A `TARGET` or `TARGET::FILTER` entry of `tests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRef {
    /// `lib` or the name of tests/TARGET.rs.
    pub target: String,
    pub filter: Option<String>,
}

impl std::fmt::Display for TestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.filter {
            Some(filter) => write!(f, "{}::{filter}", self.target),
            None => write!(f, "{}", self.target),
        }
    }
}

impl Exercise {
    /// "01" of "01.2".
    pub fn chapter_id(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }

    /// The text a cut hole holds: a `todo!` that names the exercise and its page.
    pub fn todo_line(&self) -> String {
        let number = self.chapter_id().trim_start_matches('0');
        format!(
            "todo!(\"exercise {}: {} (see chapter {number}, \\\"Your turn\\\")\")",
            self.id,
            self.title.replace('\\', "\\\\").replace('"', "\\\"")
        )
    }
}

/// Whether `id` has the form NN.M.
pub fn is_exercise_id(id: &str) -> bool {
    let Some((chapter, number)) = id.split_once('.') else {
        return false;
    };
    chapter.len() == 2
        && chapter.bytes().all(|b| b.is_ascii_digit())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The file's path in `root`.
pub fn list_path(root: &Path) -> PathBuf {
    root.join("exercises.toml")
}

/// Reads and checks exercises.toml.
pub fn load(root: &Path) -> Result<Vec<Exercise>, Fail> {
    let path = list_path(root);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Fail::tool(format!("cannot read {}: {e}", path.display())))?;
    let tables =
        toml::parse(&text).map_err(|e| Fail::tool(format!("exercises.toml, {e}")))?;
    let mut list: Vec<Exercise> = Vec::new();
    for table in tables {
        let at = format!("exercises.toml, line {}", table.line);
        if table.name != "exercise" {
            return Err(Fail::tool(format!(
                "{at}: only [[exercise]] tables belong here"
            )));
        }
        let text_key = |key: &str| match table.keys.get(key) {
            Some(Value::Str(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(Fail::tool(format!(
                "{at}: the exercise needs `{key} = \"…\"`"
            ))),
        };
        let id = text_key("id")?;
        if !is_exercise_id(&id) {
            return Err(Fail::tool(format!(
                "{at}: id \"{id}\" is not of the form NN.M"
            )));
        }
        if list.iter().any(|e| e.id == id) {
            return Err(Fail::tool(format!("{at}: exercise {id} is listed twice")));
        }
        let tests = match table.keys.get("tests") {
            Some(Value::List(items)) if !items.is_empty() => items
                .iter()
                .map(|item| parse_test(item).ok_or(item))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|item| {
                    Fail::tool(format!(
                        "{at}: test \"{item}\" of exercise {id} is not TARGET or TARGET::FILTER"
                    ))
                })?,
            _ => {
                return Err(Fail::tool(format!(
                    "{at}: exercise {id} needs `tests = [\"TARGET::FILTER\", …]`"
                )))
            }
        };
        for key in table.keys.keys() {
            if !["id", "title", "file", "chapter", "tests", "hint"].contains(&key.as_str())
            {
                return Err(Fail::tool(format!(
                    "{at}: unknown key `{key}` in exercise {id}"
                )));
            }
        }
        list.push(Exercise {
            title: text_key("title")?,
            file: text_key("file")?,
            chapter: text_key("chapter")?,
            hint: text_key("hint")?,
            tests,
            id,
        });
    }
    list.sort_by_key(|e| order(&e.id));
    Ok(list)
}

fn order(id: &str) -> (u32, u32) {
    let (c, n) = id.split_once('.').unwrap_or((id, "0"));
    (c.parse().unwrap_or(0), n.parse().unwrap_or(0))
}

fn parse_test(item: &str) -> Option<TestRef> {
    let (target, filter) = match item.split_once("::") {
        Some((t, f)) => (t, Some(f.to_string())),
        None => (item, None),
    };
    let ok = !target.is_empty()
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && filter.as_ref().map_or(true, |f| !f.is_empty());
    ok.then(|| TestRef {
        target: target.to_string(),
        filter,
    })
}

/// The exercises an argument names: `03` (a chapter), `03.2` (one), or every one.
pub fn select<'a>(
    all: &'a [Exercise],
    arg: Option<&str>,
) -> Result<Vec<&'a Exercise>, Fail> {
    let Some(arg) = arg else {
        return Ok(all.iter().collect());
    };
    let chosen: Vec<&Exercise> = if arg.contains('.') {
        all.iter().filter(|e| e.id == arg).collect()
    } else {
        let chapter = if arg.len() == 1 {
            format!("0{arg}")
        } else {
            arg.to_string()
        };
        all.iter().filter(|e| e.chapter_id() == chapter).collect()
    };
    if chosen.is_empty() {
        return Err(Fail::tool(format!(
            "there is no exercise or chapter \"{arg}\": the exercises are {}",
            valid_ids(all)
        )));
    }
    Ok(chosen)
}

/// "01.1, 01.2, 03.1 (or a chapter: 01, 03)".
pub fn valid_ids(all: &[Exercise]) -> String {
    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    let mut chapters: Vec<&str> = all.iter().map(|e| e.chapter_id()).collect();
    chapters.dedup();
    format!(
        "{} (or a whole chapter: {})",
        ids.join(", "),
        chapters.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tests_parse() {
        assert!(is_exercise_id("01.1") && is_exercise_id("07.12"));
        assert!(!is_exercise_id("1.1") && !is_exercise_id("01") && !is_exercise_id("01.x"));
        let t = parse_test("ch01_pid::a::b").expect("parses");
        assert_eq!(
            (t.target.as_str(), t.filter.as_deref()),
            ("ch01_pid", Some("a::b"))
        );
        assert_eq!(parse_test("lib").map(|t| t.filter), Some(None));
        assert!(parse_test("::x").is_none() && parse_test("a b").is_none());
    }
}
