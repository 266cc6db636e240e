//! What the kernel counted for a cgroup, read back from its files, and the report in words.
//!
//! Every figure is an `Option`: a file the kernel does not offer (an older kernel, a
//! controller that is not there) gives `None`, and the report says "not counted" rather
//! than inventing a zero.

use std::fmt::Write as _;
use std::path::Path;

use super::limits::human_bytes;

/// The figures a workload's cgroup holds once it has run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// The memory limit as the kernel stores it (rounded to pages); `None` when unlimited.
    pub memory_limit: Option<u64>,
    pub memory_current: Option<u64>,
    /// The most memory charged at once.
    pub memory_peak: Option<u64>,
    /// How often a charge ran into the limit (v2 `memory.events max`, v1 `memory.failcnt`).
    pub memory_limit_hits: Option<u64>,
    /// Processes the OOM killer killed inside the cgroup.
    pub oom_kills: Option<u64>,
    /// CPU time used, user and system, in microseconds.
    pub cpu_usage_us: Option<u64>,
    /// Quota periods that elapsed while the group was runnable.
    pub cpu_periods: Option<u64>,
    /// Periods in which the group used up its quota and was stopped until the next one.
    pub cpu_throttled: Option<u64>,
    pub cpu_throttled_us: Option<u64>,
    pub pids_current: Option<u64>,
    /// The most tasks at once (`pids.peak`, Linux 6.1+ on v2 and v1).
    pub pids_peak: Option<u64>,
    pub pids_limit: Option<u64>,
    /// Forks refused because of the limit (`pids.events max`).
    pub pids_refused: Option<u64>,
}

/// Values at or above this are the kernel's way of writing "no limit" on v1
/// (`9223372036854771712`, `PAGE_COUNTER_MAX` pages in bytes).
const UNLIMITED: u64 = 1 << 62;

/// A single-value file: a number, or `max` meaning no limit (`None`).
pub fn read_single(file: &Path) -> Option<u64> {
    parse_single(&std::fs::read_to_string(file).ok()?)
}

/// Parses a single-value file's text.
pub fn parse_single(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|v| *v < UNLIMITED)
}

/// One key of a flat-keyed file (`key value` per line: `memory.events`, `cpu.stat`).
pub fn read_flat_keyed(file: &Path, key: &str) -> Option<u64> {
    parse_flat_keyed(&std::fs::read_to_string(file).ok()?, key)
}

/// Parses one key out of a flat-keyed file's text.
pub fn parse_flat_keyed(text: &str, key: &str) -> Option<u64> {
    // exercise 05.4: read one key of a flat-keyed file such as memory.events
    for line in text.lines() {
        let Some((k, v)) = line.split_once(' ') else {
            continue;
        };
        if k == key {
            if let Ok(value) = v.trim().parse() {
                return Some(value);
            }
        }
    }
    None
    // end of exercise 05.4
}

impl Usage {
    /// Whether the kernel's OOM killer killed something in the cgroup.
    pub fn oom_killed(&self) -> bool {
        self.oom_kills.is_some_and(|n| n > 0)
    }

    /// The report, in plain words, one figure a line.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let bytes =
            |v: Option<u64>| v.map(human_bytes).unwrap_or_else(|| "not counted".into());
        let limit = self
            .memory_limit
            .map(|l| format!(" (limit {})", human_bytes(l)))
            .unwrap_or_default();
        let _ = writeln!(out, "  memory peak:     {}{limit}", bytes(self.memory_peak));
        let _ =
            match self.oom_kills {
                Some(0) => writeln!(out, "  OOM killed:      no"),
                Some(n) => writeln!(
                out,
                "  OOM killed:      yes, {n} process(es) killed by the kernel at the limit of {}",
                self.memory_limit.map(human_bytes).unwrap_or_else(|| "(none)".into())
            ),
                None => writeln!(out, "  OOM killed:      not counted by this kernel"),
            };
        // Only when counted: v1's failcnt stays 0 on some kernels even after an OOM kill.
        if let Some(hits) = self.memory_limit_hits.filter(|n| *n > 0) {
            let _ = writeln!(out, "  limit reached:   {hits} time(s)");
        }
        let cpu = self
            .cpu_usage_us
            .map(|us| format!("{:.3} s", us as f64 / 1e6))
            .unwrap_or_else(|| "not counted".into());
        let _ = writeln!(out, "  CPU time:        {cpu}");
        let _ = match (self.cpu_throttled, self.cpu_periods) {
            (Some(0), _) => writeln!(out, "  throttled:       never"),
            (Some(t), Some(p)) => writeln!(
                out,
                "  throttled:       in {t} of {p} periods ({:.3} s held back)",
                self.cpu_throttled_us.unwrap_or(0) as f64 / 1e6
            ),
            _ => writeln!(out, "  throttled:       not counted"),
        };
        let peak = self
            .pids_peak
            .map(|p| p.to_string())
            .unwrap_or_else(|| "not counted".into());
        let limit = self
            .pids_limit
            .map(|l| format!(" (limit {l})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  most pids:       {peak}{limit}");
        if let Some(refused) = self.pids_refused.filter(|n| *n > 0) {
            let _ = writeln!(
                out,
                "  forks refused:   {refused} (EAGAIN at the pids limit)"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_texts() {
        assert_eq!(parse_single("max\n"), None);
        assert_eq!(parse_single("9223372036854771712\n"), None);
        assert_eq!(parse_single("33554432\n"), Some(33_554_432));
        let events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
        for (key, want) in [("oom_kill", Some(1)), ("oom", Some(2)), ("max", Some(12))] {
            let got = parse_flat_keyed(events, key);
            assert!(
                got == want,
                "in memory.events (lines \"KEY VALUE\"), the key {key:?} read {got:?}, not \
                 {want:?}: find the line whose key is exactly {key:?} and parse its number"
            );
        }
        let got = parse_flat_keyed(events, "absent");
        assert_eq!(
            got, None,
            "a key that is not in the text read {got:?}, not None"
        );
    }
}
