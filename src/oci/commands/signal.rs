//! Signals by name or number, as `kill` takes them: `TERM`, `SIGTERM`, `15`.

use nix::sys::signal::Signal;

use crate::{Error, Result};

/// Parses `KILL`, `SIGKILL`, `sigkill` or `9`.
pub fn parse(text: &str) -> Result<Signal> {
    let bad = || {
        Error::Invalid(format!(
            "'{text}' is not a signal: give a name such as TERM or KILL, or a number"
        ))
    };
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_sig_and_numbers() {
        assert_eq!(parse("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("SIGKILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("hup").unwrap(), Signal::SIGHUP);
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert!(parse("NOPE").is_err());
        assert!(parse("99").is_err());
    }
}
