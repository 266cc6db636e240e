//! Reading libtest's output: how many tests ran and failed, and the first failing assertion
//! in plain words (the panic message, without the harness's noise).

use crate::runner::Run;

/// What one run of a named test said.
pub struct Outcome {
    /// Tests that ran (0: the filter matched nothing, a mistake in exercises.toml).
    pub ran: usize,
    pub failed: Vec<String>,
    pub passed: bool,
    /// The first failure's message, a few trimmed lines.
    pub message: Vec<String>,
}

pub fn read(run: &Run) -> Outcome {
    let mut ran = 0;
    let mut failed = Vec::new();
    let mut saw_result = false;
    for line in run.stdout.lines() {
        if let Some(n) = line
            .strip_prefix("running ")
            .and_then(|r| r.split(' ').next())
        {
            ran += n.parse::<usize>().unwrap_or(0);
        }
        if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|r| r.strip_suffix(" ... FAILED"))
        {
            failed.push(name.to_string());
        }
        saw_result |= line.starts_with("test result: ");
    }
    let mut message = first_panic(&run.stdout);
    if run.timed_out {
        message.insert(
            0,
            "the test ran out of time (did the code hang?)".to_string(),
        );
    } else if message.is_empty() && !run.success {
        // No panic printed: the executable itself failed (a crash, sudo, the VM).
        message = tail(&run.stderr, 8);
        if message.is_empty() {
            message = tail(&run.stdout, 8);
        }
    }
    Outcome {
        ran,
        passed: run.success && saw_result && ran > 0 && failed.is_empty(),
        failed,
        message,
    }
}

/// The lines of the first `panicked at` message: its location, then the message up to the
/// harness's notes.
fn first_panic(stdout: &str) -> Vec<String> {
    let mut lines = stdout.lines();
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let Some(at) = line.find(" panicked at ") else {
            continue;
        };
        let location = line[at + " panicked at ".len()..].trim_end_matches(':');
        let mut message = Vec::new();
        for next in lines.by_ref() {
            if next.starts_with("note: ")
                || next.starts_with("---- ")
                || next.starts_with("stack backtrace:")
                || next.starts_with("failures:")
            {
                break;
            }
            if !next.trim().is_empty() {
                message.extend(wrap(next));
            }
        }
        // Long messages (a whole expected file) are cut to what fits on a screen.
        if message.len() > 16 {
            message.truncate(16);
            message.push("…".to_string());
        }
        out.push(format!("at {location}:"));
        out.extend(message);
        break;
    }
    out
}

/// A long line of a message wrapped at spaces into lines of at most 96 columns, never cut:
/// the end of a sentence (the errno's text, what the step needs) is the part that teaches.
fn wrap(line: &str) -> Vec<String> {
    let line = line.trim_end();
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > 96 {
            out.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(&indent);
        } else {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

fn trim(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}

fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(trim)
        .collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_panic_in_plain_words() {
        let stdout = "\nrunning 2 tests\ntest a ... FAILED\ntest b ... ok\n\nfailures:\n\n---- a stdout ----\n\nthread 'a' panicked at tests/x.rs:21:5:\nassertion `left == right` failed\n  left: \"7\\n\"\n right: \"1\\n\"\nnote: run with `RUST_BACKTRACE=1`\n\n\nfailures:\n    a\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let run = Run {
            success: false,
            stdout: stdout.into(),
            stderr: String::new(),
            timed_out: false,
        };
        let o = read(&run);
        assert_eq!((o.ran, o.passed), (2, false));
        assert_eq!(o.failed, vec!["a".to_string()]);
        assert_eq!(
            o.message,
            [
                "at tests/x.rs:21:5:",
                "assertion `left == right` failed",
                "  left: \"7\\n\"",
                " right: \"1\\n\""
            ]
        );
    }

    #[test]
    fn a_long_message_is_wrapped_not_cut() {
        let long = format!(
            "{} Device or resource busy (os error 16)",
            "word ".repeat(40)
        );
        let lines = wrap(&long);
        assert!(lines.len() > 1 && lines.iter().all(|l| l.chars().count() <= 96));
        assert!(lines
            .last()
            .unwrap()
            .ends_with("Device or resource busy (os error 16)"));
    }

    #[test]
    fn a_filter_that_matches_nothing_is_no_pass() {
        let stdout = "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed\n";
        let run = Run {
            success: true,
            stdout: stdout.into(),
            stderr: String::new(),
            timed_out: false,
        };
        assert!(!read(&run).passed);
    }
}
