//! Building the test executables of the named targets, as the invoking user (root only runs
//! them): `cargo test --no-run --message-format=json` names each executable it made.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Fail;

/// Where the build goes and how loud it is.
pub struct Build<'a> {
    pub root: &'a Path,
    pub target_dir: Option<&'a Path>,
    /// Keep cargo's progress off the terminal (prove); errors are returned either way.
    pub quiet: bool,
}

/// Builds `targets` (`lib` or integration test names) and returns target → executable. A
/// build that fails returns the compiler's errors as the message.
pub fn test_executables(
    b: &Build,
    targets: &[String],
) -> Result<BTreeMap<String, PathBuf>, Fail> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["test", "--no-run", "--message-format=json"])
        // Root runs these executables: without this, a build by a user without root marks
        // every privileged test as ignored (the crate's build.rs), and root would run none.
        .env("WORKBOOK_PRIVILEGED_RUN", "1")
        .current_dir(b.root);
    for target in targets {
        if target == "lib" {
            command.arg("--lib");
        } else {
            command.args(["--test", target]);
        }
    }
    if let Some(dir) = b.target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    if b.quiet {
        command.arg("--quiet").stderr(Stdio::piped());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Fail::tool(format!("cannot run cargo: {e}")))?;
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        })
    });
    let mut found = BTreeMap::new();
    let mut errors = String::new();
    let mut compiler_errors = false;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            match msg["reason"].as_str() {
                Some("compiler-artifact") if msg["profile"]["test"] == true => {
                    let (Some(exe), Some(name)) =
                        (msg["executable"].as_str(), msg["target"]["name"].as_str())
                    else {
                        continue;
                    };
                    let kinds = msg["target"]["kind"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let key = if kinds.iter().any(|k| k == "lib") {
                        "lib"
                    } else {
                        name
                    };
                    found.insert(key.to_string(), PathBuf::from(exe));
                }
                Some("compiler-message") if msg["message"]["level"] == "error" => {
                    compiler_errors = true;
                    if let Some(text) = msg["message"]["rendered"].as_str() {
                        if b.quiet {
                            errors.push_str(text);
                        } else {
                            eprint!("{text}");
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Fail::tool(format!("cargo did not finish: {e}")))?;
    let cargo_says = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() && !compiler_errors {
        // Not the code: cargo itself (a test target that does not exist, no network for a
        // missing dependency). It said why on stderr.
        return Err(Fail::tool(format!(
            "`cargo test --no-run` failed in {} before compiling anything: {}",
            b.root.display(),
            if cargo_says.trim().is_empty() {
                "see its message above"
            } else {
                cargo_says.trim()
            }
        )));
    }
    if !status.success() {
        let mut why = errors;
        why.push_str(&cargo_says);
        return Err(Fail::build(why));
    }
    for target in targets {
        if !found.contains_key(target) {
            return Err(Fail::tool(format!(
                "cargo built no test executable for `{target}` (named in exercises.toml): is there a tests/{target}.rs?"
            )));
        }
    }
    Ok(found)
}
