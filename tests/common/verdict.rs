//! Words for a failing check: what the kernel or the tool showed, in a sentence, instead of
//! a raw `assert_eq!` of statuses and `None`. And waits that give up (within 10 s) and say
//! what they waited for, so a wrong answer never sits silent.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How long a check waits for something the kernel should do at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// "exited with status 42", "was killed by signal 9 (SIGKILL)".
pub fn status(s: ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => {
            let name = nix::sys::signal::Signal::try_from(signal)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| "an unknown signal".into());
            format!("was killed by signal {signal} ({name})")
        }
        _ => format!("ended as {s:?}"),
    }
}

/// The child's exit status, or None when it is still running after `limit`; then it is
/// killed (SIGKILL) and reaped, so nothing is left behind.
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lines of a pipe, read on a thread so that a wait for one can give up.
pub fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line within `limit`: Ok(line), or Err("nothing" / "the end of its output").
pub fn next_line(
    lines: &Receiver<String>,
    limit: Duration,
) -> Result<String, &'static str> {
    use std::sync::mpsc::RecvTimeoutError;
    match lines.recv_timeout(limit) {
        Ok(line) => Ok(line),
        Err(RecvTimeoutError::Timeout) => Err("nothing within 10 s"),
        Err(RecvTimeoutError::Disconnected) => Err("the end of its output"),
    }
}

/// The first line of a tool's stderr, for a sentence ("" becomes "nothing").
pub fn first_line(text: &str) -> String {
    match text.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => format!("\"{}\"", line.trim()),
        None => "nothing".to_string(),
    }
}

/// Asserts that a run of a tool succeeded, in one sentence: "`CMD` exited with status 1 and
/// said "…"".
#[track_caller]
pub fn succeeded(out: &std::process::Output, command: &str) {
    assert!(
        out.status.success(),
        "`{command}` {} and said {}",
        status(out.status),
        first_line(&String::from_utf8_lossy(&out.stderr))
    );
}

/// The mount table lines one table has and the other has not, for a sentence.
pub fn mount_changes(before: &str, after: &str) -> String {
    let strip = |line: &str| {
        line.split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let old: Vec<String> = before.lines().map(strip).collect();
    let new: Vec<String> = after.lines().map(strip).collect();
    let added: Vec<&String> = new.iter().filter(|l| !old.contains(l)).collect();
    let gone: Vec<&String> = old.iter().filter(|l| !new.contains(l)).collect();
    let fields = |l: &String| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let mut parts = Vec::new();
    if let Some(first) = added.first() {
        parts.push(format!("{} new, the first {}", added.len(), fields(first)));
    }
    if let Some(first) = gone.first() {
        parts.push(format!("{} gone, the first {}", gone.len(), fields(first)));
    }
    if parts.is_empty() {
        "the same mounts in another order".to_string()
    } else {
        parts.join("; ")
    }
}
