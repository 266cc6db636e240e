//! exercises.toml, the one list of exercises: their ids, files, pages, tests, hints and the
//! wrong answers that `prove` shows its tests catch. Read with the `toml` crate; unknown keys
//! are refused, so a typo cannot silently drop a test.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// The hints one by one, the gentlest first (`hint` as a list, or one string; each is
    /// split again at lines `---` by `holes::hints`), for a graded `hint`.
    pub hints: Vec<String>,
    /// Plausible wrong answers; `prove` shows that each fails the check.
    pub wrong: Vec<Wrong>,
}

/// A plausible wrong answer: the reference with `find` replaced by `replace` (once).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wrong {
    /// What the learner got wrong, in a few words ("no IPC_EXCL").
    pub name: String,
    pub find: String,
    pub replace: String,
}

impl Wrong {
    /// The reference body with this mistake in it, or why it cannot be made.
    pub fn apply(&self, reference: &str) -> Result<String, String> {
        match reference.matches(&self.find).count() {
            1 => Ok(reference.replacen(&self.find, &self.replace, 1)),
            0 => Err(format!(
                "wrong answer \"{}\": its `find` text is not in the reference",
                self.name
            )),
            n => Err(format!(
                "wrong answer \"{}\": its `find` text is {n} times in the reference; \
                 it must name one place",
                self.name
            )),
        }
    }
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    exercise: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    title: String,
    file: String,
    chapter: String,
    tests: Vec<String>,
    hint: Hint,
    #[serde(default)]
    wrong: Vec<Wrong>,
}

/// `hint = "…"` or `hint = ["first", "then", …]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Hint {
    One(String),
    Graded(Vec<String>),
}

/// Reads and checks exercises.toml.
pub fn load(root: &Path) -> Result<Vec<Exercise>, Fail> {
    let path = list_path(root);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Fail::tool(format!("cannot read {}: {e}", path.display())))?;
    parse(&text)
}

/// Parses the text of exercises.toml.
pub fn parse(text: &str) -> Result<Vec<Exercise>, Fail> {
    let file: File = toml::from_str(text).map_err(|e| {
        Fail::tool(format!(
            "exercises.toml: {}",
            e.to_string().trim_end().replace('\n', "\n  ")
        ))
    })?;
    let mut list: Vec<Exercise> = Vec::new();
    for entry in file.exercise {
        let id = entry.id.trim().to_string();
        let at = format!("exercises.toml, exercise \"{id}\"");
        if !is_exercise_id(&id) {
            return Err(Fail::tool(format!("{at}: the id is not of the form NN.M")));
        }
        if list.iter().any(|e| e.id == id) {
            return Err(Fail::tool(format!("{at} is listed twice")));
        }
        let text_key = |key: &str, value: &str| {
            if value.trim().is_empty() {
                Err(Fail::tool(format!("{at} needs `{key} = \"…\"`")))
            } else {
                Ok(value.trim().to_string())
            }
        };
        if entry.tests.is_empty() {
            return Err(Fail::tool(format!(
                "{at} needs `tests = [\"TARGET::FILTER\", …]`"
            )));
        }
        let tests = entry
            .tests
            .iter()
            .map(|item| parse_test(item).ok_or(item))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|item| {
                Fail::tool(format!(
                    "{at}: test \"{item}\" is not TARGET or TARGET::FILTER"
                ))
            })?;
        let hints: Vec<String> = match entry.hint {
            Hint::One(text) => vec![text],
            Hint::Graded(list) => list,
        }
        .into_iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
        if hints.is_empty() {
            return Err(Fail::tool(format!("{at} needs `hint = \"…\"`")));
        }
        for wrong in &entry.wrong {
            if wrong.name.trim().is_empty()
                || wrong.find.is_empty()
                || wrong.find == wrong.replace
            {
                return Err(Fail::tool(format!(
                    "{at}: every wrong answer needs a name, a `find` text and a different \
                     `replace` text"
                )));
            }
        }
        list.push(Exercise {
            title: text_key("title", &entry.title)?,
            file: text_key("file", &entry.file)?,
            chapter: text_key("chapter", &entry.chapter)?,
            hints,
            wrong: entry.wrong,
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
        && filter.as_ref().is_none_or(|f| !f.is_empty());
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

    const ONE: &str = r#"
[[exercise]]
id = "02.2"
title = "t"
file = "src/ipc.rs"
chapter = "book/src/02-uts-ipc.md"
tests = ["ch02_uts_ipc::a"]
hint = ["first", "then"]
wrong = [
    { name = "no IPC_EXCL", find = "IPC_CREAT | IPC_EXCL", replace = "IPC_CREAT" },
]
"#;

    #[test]
    fn the_list_parses_with_graded_hints_and_wrong_answers() {
        let list = parse(ONE).expect("parses");
        assert_eq!(list[0].hints, ["first", "then"]);
        let wrong = &list[0].wrong[0];
        assert_eq!(
            wrong.apply("x(IPC_CREAT | IPC_EXCL | 0o600)").as_deref(),
            Ok("x(IPC_CREAT | 0o600)")
        );
        assert!(wrong.apply("IPC_CREAT").is_err());
    }

    /// Every exercise of the repository's list has a wrong answer, and each applies to the
    /// region as the source holds it (a `find` that drifted from the code fails here, in
    /// seconds, not in `prove`).
    #[test]
    fn every_wrong_answer_applies_to_its_reference() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let all = load(&root).expect("exercises.toml loads");
        let mut problems = Vec::new();
        for exercise in &all {
            if exercise.wrong.is_empty() {
                problems.push(format!("{}: no wrong answer is listed", exercise.id));
            }
            let text = std::fs::read_to_string(root.join(&exercise.file)).expect("file");
            let region = crate::markers::find(exercise, &text).expect("markers");
            let body = crate::markers::body(&text, &region);
            if crate::markers::is_cut(exercise, body) {
                continue;
            }
            for wrong in &exercise.wrong {
                if let Err(why) = wrong.apply(body) {
                    problems.push(format!("{}: {why}", exercise.id));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let text = ONE.replace("hint =", "hnit = \"x\"\nhint =");
        let fail = parse(&text).expect_err("refused");
        assert!(fail.to_string().contains("hnit"), "{fail}");
    }
}
