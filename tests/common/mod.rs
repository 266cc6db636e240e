//! Helpers shared by the integration tests.
//!
//! Each test file that needs them says `mod common;`. Not every file uses every helper.
#![allow(dead_code)]
// `unprivileged` is declared by this crate's build.rs; the tool's tests (tools/workbook), which
// share this module, are another package that neither sets nor declares it.
#![allow(unexpected_cfgs)]

pub mod containerd;
pub mod engine;
pub mod forked;
pub mod oci_bundle;
pub mod oci_config;
pub mod oci_image;
pub mod podman;
pub mod symlink_attack;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether this process may run the privileged tests (it is root with CAP_SYS_ADMIN).
///
/// Returns `false` after printing why when it may not; with `WORKBOOK_REQUIRE_PRIVILEGED=1`
/// (CI and the VM set it) a missing privilege fails the test instead of skipping it, so a
/// skipped check can never be reported as a pass there.
///
/// This is the guard at run time. A build made without root marks the privileged tests as
/// ignored before they run (build.rs, the `cfg_attr(unprivileged, ignore = …)` line
/// above each one), so that cargo's summary counts them as "ignored" with the reason, not as
/// passed; this guard catches the rest: a build made for root (`WORKBOOK_PRIVILEGED_RUN=1`)
/// that runs without it.
pub fn privileged(test: &str) -> bool {
    if workbook::privilege::has_cap_sys_admin() {
        return true;
    }
    let reason = format!(
        "{test}: skipped, needs root (CAP_SYS_ADMIN): run `cargo workbook test`, which builds \
         as you and runs the tests as root, or the VM (vm/README.md)"
    );
    if std::env::var("WORKBOOK_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("{reason}, and WORKBOOK_REQUIRE_PRIVILEGED=1 forbids skipping");
    }
    eprintln!("{reason}");
    false
}

/// In a build made without root, where every privileged test is ignored (build.rs): fails when
/// the binary runs where those tests were meant to run (as root, or with
/// `WORKBOOK_REQUIRE_PRIVILEGED=1`: CI and the VMs), so that their absence is not taken for a
/// pass. Being in this module, it is in every test binary that uses the helpers; a binary
/// whose file marks no test (tests/privileged_marks.rs) has nothing ignored, and passes.
#[cfg(unprivileged)]
#[test]
fn this_build_ignores_the_privileged_tests() {
    // The crate of a test file is named after it: `ch01_pid::common`.
    let file = module_path!().split("::").next().unwrap_or_default();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/{file}.rs"));
    // Unreadable: count it as marked, so that the check fails rather than passes blind.
    let marked = std::fs::read_to_string(&source).map_or(1, |text| {
        text.lines()
            .filter(|l| {
                l.trim_start()
                    .starts_with("#[cfg_attr(unprivileged, ignore")
            })
            .count()
    });
    if marked == 0 {
        return;
    }
    let with_root = workbook::privilege::has_cap_sys_admin();
    let required = std::env::var("WORKBOOK_REQUIRE_PRIVILEGED").as_deref() == Ok("1");
    assert!(
        !with_root && !required,
        "this test binary was built by a user without root, so its {marked} privileged \
         test(s) are ignored, but it runs {}: build it for root with `cargo workbook test` (or \
         with WORKBOOK_PRIVILEGED_RUN=1 set for `cargo test --no-run`)",
        if with_root {
            "as root"
        } else {
            "with WORKBOOK_REQUIRE_PRIVILEGED=1"
        }
    );
}

/// The name of the test function it is written in (the trick: the type name of a function
/// item declared inside it is `<crate>::<test>::here`, with `{{closure}}` parts in closures).
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        fn name_of<T>(_: T) -> &'static str {
            std::any::type_name::<T>()
        }
        let path = name_of(here);
        path.split("::")
            .filter(|part| *part != "here" && *part != "{{closure}}")
            .last()
            .unwrap_or(path)
    }};
}

/// [`privileged`] for the test it is written in: `if !privileged!() { return; }` starts
/// every privileged test, and its skip message names the test as cargo does.
#[macro_export]
macro_rules! privileged {
    () => {
        $crate::common::privileged($crate::test_name!())
    };
}

/// Runs a built chapter binary with arguments and returns its output.
pub fn run_bin(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap_or_else(|e| panic!("could not start {bin}: {e}"))
}

/// Stdout of an output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr of an output as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The directory the book includes program output from.
pub fn book_output_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/output")
}

/// Compares `actual` with the committed file `book/src/output/<name>.txt`, which the book
/// includes under "Run it". The book therefore shows what the binary really prints: when
/// the output changes, this test fails until the file is regenerated with
/// `WORKBOOK_BLESS=1 cargo workbook test` (and the change reviewed in `git diff`).
pub fn assert_book_output(name: &str, actual: &str) {
    let path = book_output_dir().join(format!("{name}.txt"));
    let bless = std::env::var("WORKBOOK_BLESS").as_deref() == Ok("1");
    let expected = std::fs::read_to_string(&path).ok();
    if expected.as_deref() == Some(actual) {
        return;
    }
    if bless {
        std::fs::create_dir_all(book_output_dir()).expect("create book/src/output");
        std::fs::write(&path, actual).expect("write book output");
        eprintln!("blessed {}", path.display());
        return;
    }
    panic!(
        "book output {} differs from what the binary prints now.\n--- committed\n{}\n--- now\n{}\nRegenerate with WORKBOOK_BLESS=1 cargo workbook test, then review git diff.",
        path.display(),
        expected.as_deref().unwrap_or("(missing)"),
        actual
    );
}

/// Replaces every match of each regex-free pattern kind with a placeholder, so that output
/// holding PIDs, inodes and temp paths can be compared. `rules` are (prefix, placeholder):
/// the run of digits after each `prefix` becomes `placeholder`.
pub fn redact_numbers_after(text: &str, rules: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (prefix, placeholder) in rules {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(prefix) {
            let after = i + prefix.len();
            result.push_str(&rest[..after]);
            let digits = rest[after..]
                .bytes()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                result.push_str(placeholder);
            }
            rest = &rest[after + digits..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Waits until `pid` has died: gone, or a zombie (killed with its runtime, the container's
/// init is re-parented to the host's init, which reaps it when it gets to it).
pub fn wait_until_dead(pid: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let state =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = state
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X");
        if !alive {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} did not die"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Waits (at most 10 s, looking every 20 ms) until `done` says so; fails naming `what`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits (at most 10 s) until `path` is gone: a run removes its writable layer after the
/// command's status is out, in a process of its own (`workbook::background`).
pub fn wait_until_gone(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} was not removed within 10 s",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Checks that a run was refused as the workbook promises: the given exit status, a message
/// that says why, and no panic.
pub fn assert_refused(out: &Output, args: &[&str], code: i32, message: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(message), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// How many containers have state on the host (live or stale).
pub fn container_states() -> usize {
    std::fs::read_dir(workbook::container::host_files::containers_dir())
        .map(|d| d.count())
        .unwrap_or(0)
}
