//! The `workbook` tool on a tiny fake project in a temp dir (never the real working tree):
//! start cuts a hole the crate still compiles with (without a warning), leaves a learner's
//! work alone and keeps the reference out of `git diff` and of plain text; reset restores the
//! bytes and keeps the learner's code; hints come one at a time; solution is a diff; a
//! mismatch or a bad id is one sentence. The privileged part: `check` as a user without sudo
//! refuses in one sentence, and as root it fails pointing at the hint while the hole is cut
//! and passes once the reference is back; `test` runs the suite as root. And every hole of
//! the real workbook, cut at once, builds without a warning.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOOL: &str = env!("CARGO_BIN_EXE_workbook");

const LIB: &str = "\
/// Adds two numbers.
pub fn add(a: u32, b: u32) -> u32 {
    // exercise 01.1: add two numbers
    a + b
    // end of exercise 01.1
}
";

const TOML: &str = r#"# a fake workbook
[[exercise]]
id = "01.1"
title = "add two numbers"
file = "src/lib.rs"
chapter = "book/01.md"
tests = ["adds::two_and_two"]
hint = """
The plus sign.
---
a + b, in that order.
"""
"#;

/// A fake workbook project in a temp dir: one exercise, one test that catches it.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = [
            ("Cargo.toml", "[package]\nname = \"fake\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
            ("exercises.toml", TOML),
            ("src/lib.rs", LIB),
            (
                "tests/adds.rs",
                "#[test]\nfn two_and_two() {\n    assert_eq!(fake::add(2, 2), 4, \"2 + 2 is 4\");\n}\n",
            ),
        ];
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        Fake { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read")
    }

    fn tool(&self, args: &[&str]) -> Output {
        Command::new(TOOL)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("run the workbook tool")
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", common::stdout(out), common::stderr(out))
}

const CUT: &str =
    "    // Given to you (naming them here only keeps the build free of warnings):
    let _ = (&a, &b);
    todo!(\"exercise 01.1: add two numbers (see chapter 1, \\\"Your turn\\\")\")
";

#[test]
fn start_cuts_the_hole_and_the_crate_still_compiles() {
    let fake = Fake::new();
    let out = fake.tool(&["start", "01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fake.read("src/lib.rs"),
        LIB.replace("    a + b\n", CUT),
        "the region between the unchanged markers is the todo!"
    );
    assert!(
        common::stdout(&out).contains("cut at src/lib.rs:4"),
        "{}",
        text(&out)
    );
    assert!(
        common::stdout(&out).contains("cargo workbook check 01.1"),
        "{}",
        text(&out)
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--quiet", "--offline"])
        .current_dir(fake.dir.path())
        .env("CARGO_TARGET_DIR", fake.path("target"))
        .output()
        .expect("run cargo");
    assert!(
        build.status.success(),
        "the cut crate compiles: {}",
        text(&build)
    );
    assert!(
        !common::stderr(&build).contains("warning"),
        "the cut crate compiles without a warning: {}",
        text(&build)
    );
    let widest = fake
        .read("src/lib.rs")
        .lines()
        .map(|l| l.chars().count())
        .max();
    assert!(widest <= Some(92), "every line fits the book's 92 columns");
}

/// Runs git in the fake project.
fn git(fake: &Fake, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(fake.dir.path())
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    common::stdout(&out)
}

#[test]
fn after_start_git_diff_shows_only_the_learners_work_and_the_reference_is_not_plain_text() {
    let fake = Fake::new();
    git(&fake, &["init", "-q"]);
    git(&fake, &["add", "."]);
    git(&fake, &["commit", "-q", "-m", "the reference"]);
    let out = fake.tool(&["start", "01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        common::stdout(&out).contains("`git diff` shows your own work against the hole"),
        "{}",
        text(&out)
    );
    assert_eq!(
        git(&fake, &["diff"]),
        "",
        "right after start, git diff shows nothing"
    );

    std::fs::write(
        fake.path("src/lib.rs"),
        LIB.replace("    a + b\n", "    a * b // mine\n"),
    )
    .expect("write");
    let diff = git(&fake, &["diff"]);
    assert!(diff.contains("+    a * b // mine"), "{diff}");
    assert!(
        !diff.contains("a + b"),
        "the reference is not in git diff: {diff}"
    );

    let kept = std::fs::read_dir(fake.path(".workbook/reference"))
        .expect("the reference is kept")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect::<Vec<_>>();
    assert_eq!(kept.len(), 1);
    assert!(
        !String::from_utf8_lossy(&kept[0]).contains("a + b"),
        "the kept reference is not plain text"
    );
    let out = fake.tool(&["solution", "01.1"]);
    assert!(
        common::stdout(&out).contains("+    a + b"),
        "{}",
        text(&out)
    );

    // reset puts the index back too: nothing is left to commit.
    assert!(fake.tool(&["reset", "01.1"]).status.success());
    assert_eq!(
        git(&fake, &["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
}

#[test]
fn start_leaves_a_hole_already_cut_and_the_learners_work_alone() {
    let fake = Fake::new();
    assert!(fake.tool(&["start", "01.1"]).status.success());
    let mine = LIB.replace("    a + b\n", "    b + a // mine\n");
    std::fs::write(fake.path("src/lib.rs"), &mine).expect("write");
    let out = fake.tool(&["start", "01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fake.read("src/lib.rs"), mine, "the learner's code stays");
    assert!(
        common::stdout(&out).contains("stays as it is"),
        "{}",
        text(&out)
    );

    // A hole cut by hand (or with .workbook/ gone) is left alone too.
    let fake = Fake::new();
    let cut = LIB.replace("    a + b\n", CUT);
    std::fs::write(fake.path("src/lib.rs"), &cut).expect("write");
    let out = fake.tool(&["start", "01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fake.read("src/lib.rs"), cut);
    assert!(
        common::stdout(&out).contains("already cut"),
        "{}",
        text(&out)
    );
}

#[test]
fn reset_restores_the_reference_byte_for_byte() {
    let fake = Fake::new();
    assert!(fake.tool(&["start", "01.1"]).status.success());
    std::fs::write(
        fake.path("src/lib.rs"),
        LIB.replace("    a + b\n", "    0\n"),
    )
    .expect("write");
    let out = fake.tool(&["reset", "01.1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(fake.path("src/lib.rs")).expect("read"),
        LIB.as_bytes()
    );
    assert!(
        !fake.path(".workbook/reference/01.1.z").exists(),
        "the state is forgotten"
    );
    // The learner's code is kept, and reset says where, in one line.
    let said = common::stdout(&out);
    let kept = said
        .split_once("your code is saved in ")
        .map(|(_, file)| file.trim())
        .unwrap_or_else(|| panic!("reset says where the code went: {said}"));
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(kept.starts_with(".workbook/backup/01.1-"), "{kept}");
    assert!(fake.read(kept).ends_with("    0\n"), "{}", fake.read(kept));

    // Resetting an untouched hole loses nothing, and says so.
    assert!(fake.tool(&["start", "01.1"]).status.success());
    let out = fake.tool(&["reset", "01.1"]);
    assert!(
        common::stdout(&out).contains("nothing of yours was lost"),
        "{}",
        text(&out)
    );
    assert_eq!(fake.read("src/lib.rs"), LIB);
    let out = fake.tool(&["list"]);
    assert!(
        common::stdout(&out).contains("01.1  not started"),
        "{}",
        text(&out)
    );
}

#[test]
fn solution_is_a_diff_from_the_learners_code_to_the_reference() {
    let fake = Fake::new();
    assert!(fake.tool(&["start", "01"]).status.success());
    std::fs::write(
        fake.path("src/lib.rs"),
        LIB.replace("    a + b\n", "    a - b\n"),
    )
    .expect("write");
    let out = fake.tool(&["solution", "01.1"]);
    assert!(out.status.success(), "{}", text(&out));
    let diff = common::stdout(&out);
    assert!(diff.starts_with("--- src/lib.rs (your code)\n+++ src/lib.rs (the reference)\n@@ -4,1 +4,1 @@\n-    a - b\n+    a + b\n"), "{diff}");
    assert_eq!(
        fake.read("src/lib.rs"),
        LIB.replace("    a + b\n", "    a - b\n"),
        "solution changes nothing"
    );
}

#[test]
fn a_mismatch_between_toml_and_markers_is_one_sentence() {
    let fake = Fake::new();
    std::fs::write(
        fake.path("exercises.toml"),
        TOML.replace("add two numbers", "sum"),
    )
    .expect("write");
    let out = fake.tool(&["start", "01"]);
    assert_eq!(out.status.code(), Some(125));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("exercise 01.1") && err.contains("src/lib.rs"),
        "{err}"
    );
    assert_eq!(fake.read("src/lib.rs"), LIB, "nothing was cut");

    let fake = Fake::new();
    let extra = format!("{LIB}pub fn two() -> u32 {{\n    // exercise 01.2: return two\n    2\n    // end of exercise 01.2\n}}\n");
    std::fs::write(fake.path("src/lib.rs"), extra).expect("write");
    let out = fake.tool(&["list"]);
    assert_eq!(out.status.code(), Some(125));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("exercise 01.2 is marked in src/lib.rs:8"),
        "{err}"
    );
}

#[test]
fn a_bad_id_names_the_valid_ones() {
    let fake = Fake::new();
    let out = fake.tool(&["hint", "09.9"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        common::stderr(&out),
        "workbook: there is no exercise or chapter \"09.9\": the exercises are 01.1 (or a whole chapter: 01)\n"
    );
}

#[test]
fn hints_come_one_at_a_time() {
    let fake = Fake::new();
    let first = common::stdout(&fake.tool(&["hint", "01.1"]));
    assert!(
        first.contains("Hint 1 of 2:\nThe plus sign.\n") && !first.contains("a + b"),
        "{first}"
    );
    assert!(first.contains("ask again for hint 2 of 2"), "{first}");
    let second = common::stdout(&fake.tool(&["hint", "01.1"]));
    assert!(
        second.contains("Hint 2 of 2:\na + b, in that order.\n")
            && !second.contains("plus"),
        "{second}"
    );
    assert!(second.contains("cargo workbook solution 01.1"), "{second}");
    let again = common::stdout(&fake.tool(&["hint", "01.1"]));
    assert!(
        again.contains("Hint 2 of 2:"),
        "the last one again: {again}"
    );
    let all = common::stdout(&fake.tool(&["hint", "01.1", "--all"]));
    assert!(
        all.contains("Hint 1 of 2:") && all.contains("Hint 2 of 2:"),
        "{all}"
    );
}

/// Makes every directory from the fake project up to / readable by others, so that an
/// unprivileged user can run the tool in it.
fn open_to_others(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn check_as_a_user_without_root_or_sudo_says_what_it_needs() {
    if !privileged!() {
        return;
    }
    let fake = Fake::new();
    open_to_others(fake.dir.path());
    assert!(fake.tool(&["start", "01"]).status.success());
    // nobody, no groups, a PATH without sudo (and without cargo: nothing may be built).
    // The program is found in this PATH: the child's has no directory in it.
    let setpriv = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("setpriv"))
        .find(|path| path.is_file())
        .expect("setpriv (util-linux) is installed");
    let out = Command::new(setpriv)
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            TOOL,
            "check",
            "01",
        ])
        .current_dir(fake.dir.path())
        .env_clear()
        .env("PATH", "/nonexistent")
        .output()
        .expect("run setpriv");
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    let err = common::stderr(&out);
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    assert!(
        err.contains("as root") && err.contains("sudo") && err.contains("--vm"),
        "{err}"
    );
    assert_eq!(common::stdout(&out), "", "no check result is printed");
    assert!(!fake.path("target").exists(), "nothing was built");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn check_as_root_fails_with_the_hint_then_passes_after_reset() {
    if !privileged!() {
        return;
    }
    let fake = Fake::new();
    assert!(fake.tool(&["start", "01"]).status.success());
    let out = fake.tool(&["check", "01"]);
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout.contains("FAILED adds::two_and_two"), "{stdout}");
    assert!(
        stdout.contains("not yet implemented: exercise 01.1: add two numbers"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  stuck? `cargo workbook hint 01.1` (1 of 2)\n"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("The plus sign"),
        "the hint is not printed: {stdout}"
    );
    assert!(common::stdout(&fake.tool(&["list"])).contains("01.1  in progress"));

    assert!(fake.tool(&["reset", "01.1"]).status.success());
    let out = fake.tool(&["check", "01.1"]);
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("ok     adds::two_and_two"), "{stdout}");
    assert!(!stdout.contains("stuck?"), "{stdout}");
}

#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn test_runs_the_suite_as_root_with_each_summary_and_a_total() {
    if !privileged!() {
        return;
    }
    let fake = Fake::new();
    let out = fake.tool(&["test", "--test", "adds", "two_and_two", "--", "--exact"]);
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("test two_and_two ... ok"), "{stdout}");
    assert!(
        stdout.contains("total: 1 passed, 0 failed, 0 ignored, in 1 test executable\n"),
        "{stdout}"
    );

    assert!(fake.tool(&["start", "01"]).status.success());
    let out = fake.tool(&["test"]);
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout.contains("FAILED adds"), "{stdout}");
    assert!(stdout.contains("total: 0 passed, 1 failed"), "{stdout}");

    let out = fake.tool(&["test", "--release"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(common::stderr(&out).contains("after --"), "{}", text(&out));
}

/// Issue 23, item 1: an exercise is judged alone. 01.2 (double) calls 01.1 (add); with
/// 01.1 still a hole, a right 01.2 passes its check, and with 01.2 wrong, a right 01.1
/// passes too: each check builds a copy in which the other holds its reference.
#[test]
#[cfg_attr(unprivileged, ignore = "needs root: run `cargo workbook test`")]
fn each_exercise_is_judged_alone_whatever_the_other_holes_hold() {
    if !privileged!() {
        return;
    }
    let fake = Fake::new();
    let lib = format!(
        "{LIB}\n/// Twice a number.\npub fn double(a: u32) -> u32 {{\n    \
         // exercise 01.2: double a number\n    add(a, a)\n    // end of exercise 01.2\n}}\n"
    );
    std::fs::write(fake.path("src/lib.rs"), &lib).expect("write lib");
    let toml = format!(
        "{TOML}\n[[exercise]]\nid = \"01.2\"\ntitle = \"double a number\"\nfile = \"src/lib.rs\"\n\
         chapter = \"book/01.md\"\ntests = [\"doubles::three\"]\nhint = \"add\"\n"
    );
    std::fs::write(fake.path("exercises.toml"), toml).expect("write toml");
    std::fs::write(
        fake.path("tests/doubles.rs"),
        "#[test]\nfn three() {\n    assert_eq!(fake::double(3), 6, \"3 doubled is 6\");\n}\n",
    )
    .expect("write test");
    std::fs::write(fake.path(".gitignore"), "/target\n/.workbook\n").expect("gitignore");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(fake.dir.path())
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "fake"]);
    assert!(fake.tool(&["start", "01"]).status.success());

    // 01.2 written right, 01.1 still a todo!.
    let cut = fake.read("src/lib.rs");
    let cut_double = "    todo!(\"exercise 01.2: double a number (see chapter 1, \\\"Your turn\\\")\")\n";
    assert!(cut.contains(cut_double), "{cut}");
    std::fs::write(
        fake.path("src/lib.rs"),
        cut.replace(cut_double, "    add(a, a)\n"),
    )
    .expect("write");
    let out = fake.tool(&["check", "01.2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        common::stdout(&out).contains("exercise 01.1 holds the reference in this check"),
        "{}",
        text(&out)
    );
    // Both at once: 01.1 fails on its own todo!, 01.2 passes.
    let out = fake.tool(&["check", "01"]);
    let stdout = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout.contains("FAILED adds::two_and_two"), "{stdout}");
    assert!(stdout.contains("ok     doubles::three"), "{stdout}");

    // 01.1 right, 01.2 wrong: 01.1's check passes, 01.2's fails with its own message.
    let lib = fake.read("src/lib.rs");
    let lib = lib
        .replace(CUT, "    a + b\n")
        .replace("    add(a, a)\n", "    add(a, 1)\n");
    std::fs::write(fake.path("src/lib.rs"), lib).expect("write");
    let out = fake.tool(&["check", "01"]);
    let stdout = common::stdout(&out);
    assert!(stdout.contains("ok     adds::two_and_two"), "{stdout}");
    assert!(stdout.contains("FAILED doubles::three"), "{stdout}");
    assert!(stdout.contains("3 doubled is 6"), "{stdout}");
}
