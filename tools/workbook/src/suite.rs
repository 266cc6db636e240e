//! `cargo workbook test [ARGS…]`: the test suite, privileged tests included, in one command
//! that works with a per-user rustup. `sudo -E cargo test` does not: sudo's `secure_path`
//! hides the user's cargo ("sudo: cargo: command not found"), and a build as root leaves a
//! root-owned target/ that breaks the user's next build. So, as `check` does, the tests are
//! built as the user and only the test executables run as root, with
//! WORKBOOK_REQUIRE_PRIVILEGED=1: a privileged test that cannot run fails, it never passes
//! by skipping.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::cargo_build::{self, Build};
use crate::runner::Runner;
use crate::Fail;

/// What the arguments ask for: which targets cargo builds, what the executables get.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// `lib` and integration test names; empty: every target, as `cargo test` builds.
    pub targets: Vec<String>,
    /// The filter and the harness's options (`--nocapture`, `--exact`, …).
    pub harness: Vec<String>,
    pub vm: bool,
}

/// `--test NAME`, `--lib` and `--vm` are the tool's; a filter and everything after `--` go
/// to each test executable, as with `cargo test`.
pub fn parse(args: &[String]) -> Result<Args, Fail> {
    let mut parsed = Args::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--" => parsed.harness.extend(args.by_ref().cloned()),
            "--lib" => parsed.targets.push("lib".into()),
            "--vm" => parsed.vm = true,
            "--test" => match args.next() {
                Some(name) => parsed.targets.push(name.clone()),
                None => return Err(Fail::tool("--test needs a test target's name".into())),
            },
            other => match other.strip_prefix("--test=") {
                Some(name) => parsed.targets.push(name.to_string()),
                None if other.starts_with('-') => {
                    return Err(Fail::tool(format!(
                    "cargo workbook test knows --test NAME, --lib and --vm, not {other}: \
                         the harness's options go after --, as in \
                         `cargo workbook test --test ch01_pid -- --nocapture`"
                )))
                }
                None => parsed.harness.push(other.to_string()),
            },
        }
    }
    Ok(parsed)
}

/// One executable's line of libtest's `test result:`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    passed: usize,
    failed: usize,
    ignored: usize,
}

fn counts(result_line: &str) -> Counts {
    let mut c = Counts::default();
    for part in result_line.split([';', '.']) {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        match what {
            "passed" => c.passed = n,
            "failed" => c.failed = n,
            "ignored" => c.ignored = n,
            _ => {}
        }
    }
    c
}

/// Builds as the user, runs every test executable as root; returns whether all passed.
pub fn test(root: &Path, args: &Args, runner: &Runner) -> Result<bool, Fail> {
    let build = Build {
        root,
        target_dir: None,
        quiet: false,
    };
    let exes = match cargo_build::test_executables(&build, &args.targets) {
        Ok(exes) => exes,
        Err(fail) if fail.is_build() => {
            println!("The crate does not compile (the compiler's errors are above).");
            return Ok(false);
        }
        Err(fail) => return Err(fail),
    };
    let harness: Vec<&str> = args.harness.iter().map(String::as_str).collect();
    let mut rows: Vec<(String, Option<Counts>, bool)> = Vec::new();
    for (name, exe) in &exes {
        let shown = exe.strip_prefix(root).unwrap_or(exe);
        println!("     Running {name} as root ({})", shown.display());
        let mut command = runner.command(root, exe, &harness);
        let mut child = command
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Fail::tool(format!("cannot run {}: {e}", exe.display())))?;
        let mut result = None;
        if let Some(out) = child.stdout.take() {
            let mut stdout = std::io::stdout();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("test result: ") {
                    result = Some(counts(rest));
                }
                let _ = writeln!(stdout, "{line}");
            }
        }
        let status = child
            .wait()
            .map_err(|e| Fail::tool(format!("{} did not finish: {e}", exe.display())))?;
        rows.push((name.clone(), result, status.success()));
    }
    let given_back = give_back(root, runner);

    println!();
    println!(
        "cargo workbook test: every test executable ran as root, privileged tests required"
    );
    let mut total = Counts::default();
    let mut quiet = 0;
    for (name, result, success) in &rows {
        let c = result.unwrap_or_default();
        total.passed += c.passed;
        total.failed += c.failed;
        total.ignored += c.ignored;
        if *success && c.passed + c.failed + c.ignored == 0 {
            quiet += 1;
            continue;
        }
        let verdict = if *success { "ok    " } else { "FAILED" };
        match result {
            Some(c) => println!(
                "  {verdict} {name:<28} {} passed, {} failed, {} ignored",
                c.passed, c.failed, c.ignored
            ),
            None => {
                println!("  {verdict} {name:<28} (ended before its summary: see above)")
            }
        }
    }
    let failed_exes = rows.iter().filter(|(_, _, ok)| !ok).count();
    println!(
        "total: {} passed, {} failed, {} ignored, in {} test executable{}{}",
        total.passed,
        total.failed,
        total.ignored,
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if quiet > 0 {
            format!(" ({quiet} with no test to run)")
        } else {
            String::new()
        }
    );
    if given_back > 0 {
        println!("({given_back} files the tests created as root were given back to you)");
    }
    Ok(failed_exes == 0)
}

/// Files the tests made as root in the working tree (target/ included) are chowned back to
/// the user, so that the next build as the user can write there. Returns how many.
fn give_back(root: &Path, runner: &Runner) -> usize {
    let Runner::Sudo { ask } = runner else {
        return 0;
    };
    let mut found = Vec::new();
    root_owned(root, &mut found);
    if found.is_empty() {
        return 0;
    }
    let owner = format!("{}:{}", nix::unistd::getuid(), nix::unistd::getgid());
    for chunk in found.chunks(200) {
        let mut chown = std::process::Command::new("sudo");
        if !ask {
            chown.arg("-n");
        }
        let done = chown
            .args(["--", "chown", "-h", &owner, "--"])
            .args(chunk)
            .status()
            .is_ok_and(|s| s.success());
        if !done {
            eprintln!(
                "workbook: some files under {} belong to root now; `sudo chown -R {owner} {}` \
                 gives them back",
                root.display(),
                root.display()
            );
            return 0;
        }
    }
    found.len()
}

fn root_owned(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.uid() == 0 {
            found.push(path.clone());
        }
        if meta.is_dir() {
            root_owned(&path, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &str) -> Result<Args, Fail> {
        let args: Vec<String> = words.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    #[test]
    fn the_arguments_split_like_cargo_tests() {
        let a =
            parse_words("--test ch01_pid pid_1 -- --nocapture --exact").expect("parses");
        assert_eq!(
            a,
            Args {
                targets: vec!["ch01_pid".into()],
                harness: vec!["pid_1".into(), "--nocapture".into(), "--exact".into()],
                vm: false,
            }
        );
        let a = parse_words("--lib --test=book --vm").expect("parses");
        assert_eq!((a.targets, a.vm), (vec!["lib".into(), "book".into()], true));
        assert!(parse_words("--release")
            .unwrap_err()
            .to_string()
            .contains("not --release"));
    }

    #[test]
    fn libtest_summaries_are_counted() {
        let c = counts("ok. 7 passed; 1 failed; 2 ignored; 0 measured; 3 filtered out; finished in 0.51s");
        assert_eq!(
            c,
            Counts {
                passed: 7,
                failed: 1,
                ignored: 2
            }
        );
    }
}
