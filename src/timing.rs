//! Where a run's time goes: with `WORKBOOK_TIMING=1`, each step prints the microseconds since
//! the process started (parent and child alike) to stderr. Used to find what dominates the
//! start latency before optimising anything (see bench/README.md).

use std::sync::OnceLock;
use std::time::SystemTime;

// The wall clock, not the monotonic one: a child in a new time namespace has its monotonic
// clock moved to zero (see `namespace::unshare_time_from_zero`).
fn start() -> Option<SystemTime> {
    static START: OnceLock<Option<SystemTime>> = OnceLock::new();
    *START.get_or_init(|| (std::env::var_os("WORKBOOK_TIMING").is_some()).then(SystemTime::now))
}

/// Prints `step` with the time since the first call, when timing is on.
pub fn mark(step: &str) {
    if let Some(t0) = start() {
        let us = t0.elapsed().map_or(0, |d| d.as_micros());
        eprintln!("[{us:>7} µs] {} {step}", std::process::id());
    }
}
