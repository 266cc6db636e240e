//! What every chapter binary shares: how an error is printed and which status it exits
//! with.

use std::process::ExitCode;

use crate::Result;

/// Runs a binary's body: on success exits with the status it returns (the command's own);
/// on error prints `NAME: <one sentence>` to stderr and exits with the error's status (125
/// for an error of the tool, 126/127 for a command that cannot be run or found).
pub fn main(name: &str, body: impl FnOnce() -> Result<ExitCode>) -> ExitCode {
    match body() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
