//! `linux.resources.memory` beyond chapter 5's hard limit: swap, the soft limit
//! (reservation), swappiness and the OOM killer.

use super::super::config::Memory;
use super::dirs::At;
use crate::cgroup::plan::Step;
use crate::{Error, Result};

/// The spec's `memory.swap`: memory + swap, as v1's `memsw` counts it; `-1` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    Unlimited,
    /// Memory + swap, in bytes.
    Total(u64),
}

impl Swap {
    /// The swap of `memory`, when it also has a limit (chapter 5 forbids swap then; a
    /// swap without a memory limit means nothing to the kernel). Unset, 0 and -1 leave swap
    /// unlimited, as runc does: podman sends no swap for `--memory-swap -1`.
    pub fn of(memory: &Memory) -> Option<Swap> {
        memory.limit.filter(|l| *l > 0)?;
        match memory.swap {
            None | Some(0) | Some(-1) => Some(Swap::Unlimited),
            Some(s) if s > 0 => Some(Swap::Total(s as u64)),
            Some(_) => None,
        }
    }
}

/// The writes for `memory` in the memory cgroup `at`, after chapter 5's `memory.max` (and
/// its swap of zero).
pub fn steps(memory: &Memory, at: At) -> Result<Vec<Step>> {
    let file = |name: &str| at.dir.join(name);
    let mut steps = Vec::new();
    let limit = memory.limit.filter(|l| *l > 0).map(|l| l as u64);
    match (Swap::of(memory), at.v2) {
        // v1's memsw accepts -1 for unlimited. It exists only with swap accounting.
        (Some(Swap::Unlimited), false) => steps.push(Step::write_if_present(
            file("memory.memsw.limit_in_bytes"),
            "-1",
        )),
        (Some(Swap::Total(total)), false) => steps.push(Step::write_if_present(
            file("memory.memsw.limit_in_bytes"),
            total.to_string(),
        )),
        // v2 counts swap alone.
        (Some(Swap::Unlimited), true) => {
            steps.push(Step::write_if_present(file("memory.swap.max"), "max"))
        }
        (Some(Swap::Total(total)), true) => {
            let memory = limit.unwrap_or(0);
            if total < memory {
                return Err(Error::Invalid(format!(
                    "linux.resources.memory.swap {total} is below the memory limit {memory}: it counts memory + swap, so it must be at least the limit"
                )));
            }
            steps.push(Step::write_if_present(
                file("memory.swap.max"),
                (total - memory).to_string(),
            ));
        }
        (None, _) => {}
    }
    if let Some(reservation) = memory.reservation.filter(|r| *r > 0) {
        // A soft limit: what reclaim leaves the group when the machine runs short.
        let name = if at.v2 {
            "memory.low"
        } else {
            "memory.soft_limit_in_bytes"
        };
        steps.push(Step::write(file(name), reservation.to_string()));
    }
    match memory.swappiness {
        None | Some(-1) => {}
        Some(s @ 0..=100) if !at.v2 => {
            steps.push(Step::write(file("memory.swappiness"), s.to_string()))
        }
        // v2 has no per-cgroup swappiness; runc 1.1 ignores it there.
        Some(0..=100) => {}
        Some(s) => {
            return Err(Error::Invalid(format!(
            "linux.resources.memory.swappiness {s} is outside 0 to 100, the kernel's range"
        )))
        }
    }
    // v1: the group's tasks wait when it is full instead of one being killed. v2 has no
    // such switch; runc 1.1 ignores the setting there.
    if memory.disable_oom_killer == Some(true) && !at.v2 {
        steps.push(Step::write(file("memory.oom_control"), "1"));
    }
    Ok(steps)
}
