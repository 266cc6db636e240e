//! `cargo workbook`: the learner's tool. Exercises are holes in the real runtime, listed in
//! exercises.toml and marked in the sources; this cuts them, checks them with the privileged
//! tests that prove the reference, and puts the reference back.

mod cargo_build;
mod check;
mod diff;
mod exercises;
mod holes;
mod list;
mod markers;
mod prove;
mod report;
mod runner;
mod state;
mod suite;
mod variant;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exercises::Exercise;
use crate::runner::Runner;

/// Write the heart of a container runtime yourself; the kernel's own state checks it.
///
/// The loop:
///   cargo workbook list            where you are
///   cargo workbook start 01        cut chapter 1's holes: each becomes a todo!() in the code
///   (read "Your turn" in the chapter, write the code at the todo!; `git diff` shows it)
///   cargo workbook check 01        build, run that chapter's tests as root, show what failed
///   cargo workbook hint 01.1       a nudge; ask again for the next, more precise one
///   cargo workbook solution 01.1   the answer, as a diff against your code
///   cargo workbook reset 01.1      put the reference back (your code is kept in .workbook/)
///   cargo workbook test            the whole test suite, privileged tests included
///
/// The checks are the privileged tests that prove the reference runtime: they are built as
/// you and run as root (directly, through sudo, or with --vm in the QEMU VM), and a test
/// that cannot run fails. This tool is a package of its own (tools/workbook/): it keeps
/// working while your code does not compile, so `hint`, `solution` and `reset` are always
/// there.
#[derive(Parser, Debug)]
#[command(
    name = "cargo workbook",
    bin_name = "cargo workbook",
    verbatim_doc_comment
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Every exercise, chapter by chapter, with its state and a progress bar.
    List,
    /// Cut the holes of a chapter (01) or of one exercise (01.1) in the working tree.
    ///
    /// The reference is kept in .workbook/ (compressed, out of sight; git ignores it), and
    /// the cut file is staged in git's index, so `git diff` shows only your work against
    /// the hole. Holes you already cut, and your work in them, are left as they are.
    Start {
        /// A chapter (01) or an exercise (01.1).
        id: String,
    },
    /// Build and run the tests of a chapter or exercise as root (default: every started one).
    ///
    /// The test targets are built as you; the tests run as root (directly, or through sudo),
    /// or in the headless QEMU VM with --vm, always with WORKBOOK_REQUIRE_PRIVILEGED=1 so a
    /// test that cannot run fails. Exit status 0 when every check passes, 1 when one fails,
    /// 125 when the check cannot run (no root, no sudo, no --vm).
    Check {
        /// A chapter (01) or an exercise (01.1); every started exercise when left out.
        id: Option<String>,
        /// Run the tests in the QEMU VM (vm/qemu/run-tests) instead of through sudo.
        #[arg(long)]
        vm: bool,
        /// Check again whenever a file under src/, chapters/ or tests/ changes.
        #[arg(long)]
        watch: bool,
    },
    /// The next hint for an exercise (or each exercise of a chapter), without the code.
    ///
    /// The first hint is a nudge; asking again gives the next, more precise one ("hint 2 of
    /// 3"), the last is nearly the answer. A failing check says a hint is there.
    Hint {
        /// A chapter (01) or an exercise (01.1).
        id: String,
        /// Every hint at once.
        #[arg(long)]
        all: bool,
    },
    /// The reference solution, as a diff against your code. Only when you ask.
    Solution {
        /// A chapter (01) or an exercise (01.1).
        id: String,
    },
    /// Put the reference back into the file and forget the exercise's state.
    ///
    /// Your code is saved first, in .workbook/backup/ID-TIME.rs; reset says where.
    Reset {
        /// A chapter (01) or an exercise (01.1).
        id: String,
    },
    /// Run the test suite as `cargo test` would, the privileged tests as root.
    ///
    /// The tests are built as you (so target/ stays yours and rustup's cargo is found), then
    /// every test executable runs as root (directly, through sudo, or with --vm in the QEMU
    /// VM) with WORKBOOK_REQUIRE_PRIVILEGED=1, so a test that cannot run fails instead of
    /// skipping. Each executable's summary and a total follow. `sudo -E cargo test` is the
    /// command this replaces: with rustup, sudo does not find cargo.
    #[command(
        after_help = "Examples:\n  cargo workbook test\n  cargo workbook test --test ch01_pid\n  \
                      cargo workbook test --test overlay_mount the_upper_layer_wins\n  \
                      cargo workbook test --test ch03_rootfs -- --nocapture"
    )]
    Test {
        /// `--test NAME` (a file of tests/, repeatable), `--lib`, `--vm`; then a name
        /// filter, and after `--` the test harness's options, as with `cargo test`.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<String>,
    },
    /// For maintainers and CI: prove every hole is caught by its tests.
    ///
    /// In a scratch copy of the tree (target/workbook-prove/, never your working tree): the
    /// reference must pass each exercise's tests; then each hole alone is cut, the crate must
    /// compile and each named test must fail. Needs root like `check`. Prints a table with
    /// the times; exits 1 when a hole is not caught or the reference fails.
    Prove {
        /// Chapters or exercises (default: all).
        ids: Vec<String>,
        /// Run the tests in the QEMU VM.
        #[arg(long)]
        vm: bool,
    },
}

/// An error of the tool (exit 125, one sentence), a failed build, or failed checks (exit 1).
#[derive(Debug)]
pub struct Fail {
    code: u8,
    message: String,
    build: bool,
}

impl Fail {
    pub fn tool(message: String) -> Fail {
        Fail {
            code: 125,
            message,
            build: false,
        }
    }

    pub fn needs_root() -> Fail {
        Fail::tool(
            "the check runs the kernel tests as root: run it as root, allow sudo for your user, \
             or add --vm to run them in the QEMU VM"
                .to_string(),
        )
    }

    pub fn build(compiler_says: String) -> Fail {
        Fail {
            code: 1,
            message: compiler_says,
            build: true,
        }
    }

    pub fn is_build(&self) -> bool {
        self.build
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn main() -> ExitCode {
    // `cargo workbook solution 01.1 | head` ends quietly when head has read enough.
    // SAFETY: signal() with a constant handler, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(fail) => {
            if !fail.message.is_empty() {
                eprintln!("workbook: {}", fail.message.trim_end());
            }
            ExitCode::from(fail.code)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Fail> {
    let root = find_root()?;
    let all = exercises::load(&root)?;
    let one = |id: &str| exercises::select(&all, Some(id));
    match cli.command {
        Cmd::List => {
            consistent(&root, &all)?;
            list::list(&root, &all)?;
        }
        Cmd::Start { id } => {
            consistent(&root, &all)?;
            holes::start(&root, &one(&id)?)?;
        }
        Cmd::Hint { id, all } => {
            for exercise in one(&id)? {
                holes::hint(&root, exercise, all)?;
            }
        }
        Cmd::Test { args } => {
            let args = suite::parse(&args)?;
            let runner = Runner::choose(&root, args.vm)?;
            return Ok(if suite::test(&root, &args, &runner)? {
                0
            } else {
                1
            });
        }
        Cmd::Solution { id } => {
            for exercise in one(&id)? {
                holes::solution(&root, exercise)?;
            }
        }
        Cmd::Reset { id } => holes::reset(&root, &one(&id)?)?,
        Cmd::Check { id, vm, watch } => {
            consistent(&root, &all)?;
            let chosen = match &id {
                Some(id) => one(id)?,
                None => check::started(&root, &all)?,
            };
            let runner = Runner::choose(&root, vm)?;
            let passed = if watch {
                watch::watch(&root, || check::check(&root, &chosen, &runner))?;
                true
            } else {
                check::check(&root, &chosen, &runner)?
            };
            return Ok(if passed { 0 } else { 1 });
        }
        Cmd::Prove { ids, vm } => {
            consistent(&root, &all)?;
            let mut chosen: Vec<&Exercise> = Vec::new();
            for id in &ids {
                chosen.extend(one(id)?);
            }
            if ids.is_empty() {
                chosen = all.iter().collect();
            }
            chosen.dedup_by(|a, b| a.id == b.id);
            let runner = Runner::choose(&root, vm)?;
            return Ok(if prove::prove(&root, &all, &chosen, &runner)? {
                0
            } else {
                1
            });
        }
    }
    Ok(0)
}

/// The repository: the nearest directory at or above the current one with exercises.toml.
fn find_root() -> Result<PathBuf, Fail> {
    let here = std::env::current_dir()
        .map_err(|e| Fail::tool(format!("cannot read the current directory: {e}")))?;
    here.ancestors()
        .find(|dir| exercises::list_path(dir).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            Fail::tool(format!(
                "no exercises.toml in {} or above: run cargo workbook inside the workbook's repository",
                here.display()
            ))
        })
}

/// exercises.toml and the markers agree: each exercise's markers are where it says, and
/// every marker in src/ and chapters/ has its entry.
fn consistent(root: &Path, all: &[Exercise]) -> Result<(), Fail> {
    for exercise in all {
        holes::Site::read(root, exercise)?;
    }
    for (file, region) in markers::scan(root, &["src", "chapters"])? {
        match all.iter().find(|e| e.id == region.id) {
            None => {
                return Err(Fail::tool(format!(
                    "exercises.toml and the markers disagree: exercise {} is marked in {file}:{} but has no entry in exercises.toml",
                    region.id,
                    region.begin + 1
                )))
            }
            Some(e) if e.file != file => {
                return Err(Fail::tool(format!(
                    "exercises.toml and the markers disagree: exercise {} is marked in {file}:{}, but exercises.toml puts it in {}",
                    region.id,
                    region.begin + 1,
                    e.file
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}
