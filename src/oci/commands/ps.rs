//! `ps ID`: the container's processes are those of its cgroup. The kernel lists them in
//! `cgroup.procs`, in the container's cgroup and in any cgroup the container made below
//! it; the pids are the host's, as an engine that signals or inspects them needs.

use std::path::Path;
use std::process::Command;

use crate::oci::state::StateDir;
use crate::{Error, Result};

/// The pids in the container's cgroup and below it, sorted.
pub fn pids(state: &StateDir) -> Result<Vec<i32>> {
    let record = state.load()?;
    // Every process of the container is in each of its directories (one per v1
    // hierarchy): the first one answers.
    let mut pids = Vec::new();
    if let Some(dir) = record.cgroup_dirs.first() {
        collect(dir, &mut pids);
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

fn collect(dir: &Path, out: &mut Vec<i32>) {
    out.extend(crate::cgroup::cleanup::procs(dir));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect(&entry.path(), out);
            }
        }
    }
}

/// `ps --format json`: the pids as a JSON array, as runc prints them.
pub fn json(pids: &[i32]) -> String {
    serde_json::Value::from(pids.to_vec()).to_string()
}

/// `ps` as a table: the host's `ps` run with `ps_args` (`-ef` when none), its header and
/// the lines of the container's pids, as runc does (the PID column is found by name).
pub fn table(pids: &[i32], ps_args: &[String]) -> Result<String> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::io("running ps (procps) for the table", Path::new("ps"), e))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "ps {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the output of ps {} has no PID column: give ps options that show it",
                args.join(" ")
            ))
        })?;
    let mut table = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p: i32| pids.contains(&p)) {
            table.push_str(line);
            table.push('\n');
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_an_array_of_numbers() {
        assert_eq!(json(&[12, 40]), "[12,40]");
        assert_eq!(json(&[]), "[]");
    }
}
