//! The cgroup freezer: it stops every process of a cgroup where it is, without a signal
//! it could see or ignore, and lets them go on later.
//!
//! v1 has a `freezer` controller: `freezer.state` takes `FROZEN` or `THAWED`, and reads
//! `FREEZING` while some task has not stopped yet (one that forks meanwhile, or sleeps in
//! the kernel uninterruptibly). v2 has `cgroup.freeze` (`1` or `0`) in every cgroup, and
//! says `frozen 1` in `cgroup.events` once every task has stopped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cgroup::plan::write_control;
use crate::{Error, Result};

/// How long a freeze may take before it is given up (and the cgroup thawed back).
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// The container's freezer: the v1 `freezer` hierarchy's directory, or the v2 cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

impl Freezer {
    /// The freezer of a cgroup made of `dirs` (one per v1 hierarchy, or one on v2), when
    /// it has one.
    pub fn of(dirs: &[PathBuf], v2: bool) -> Option<Freezer> {
        if v2 {
            let dir = dirs.first()?;
            return dir
                .join("cgroup.freeze")
                .exists()
                .then(|| Freezer::V2(dir.clone()));
        }
        dirs.iter()
            .find(|d| d.join("freezer.state").exists())
            .map(|d| Freezer::V1(d.clone()))
    }

    /// Whether the cgroup is frozen (by itself, not through a frozen parent on v1, which
    /// `freezer.self_freezing` tells apart).
    pub fn is_frozen(&self) -> bool {
        let read = |dir: &Path, file: &str| {
            std::fs::read_to_string(dir.join(file)).unwrap_or_default()
        };
        match self {
            Freezer::V1(dir) => {
                read(dir, "freezer.state").trim() != "THAWED"
                    && read(dir, "freezer.self_freezing").trim() != "0"
            }
            Freezer::V2(dir) => read(dir, "cgroup.freeze").trim() == "1",
        }
    }

    /// Freezes the cgroup and returns once every task in it has stopped.
    pub fn freeze(&self) -> Result<()> {
        let start = Instant::now();
        let result = match self {
            Freezer::V1(dir) => loop {
                // Each write asks again: a task forked after the last one is frozen only
                // by a new request, and until then the state stays FREEZING.
                write_control(&dir.join("freezer.state"), "FROZEN", true)?;
                match read_word(&dir.join("freezer.state"))?.as_str() {
                    "FROZEN" => break Ok(()),
                    _ if start.elapsed() > FREEZE_TIMEOUT => break Err(stuck(dir)),
                    _ => std::thread::sleep(Duration::from_millis(1)),
                }
            },
            Freezer::V2(dir) => {
                write_control(&dir.join("cgroup.freeze"), "1", true)?;
                loop {
                    let events = read_word(&dir.join("cgroup.events"))?;
                    if events.lines().any(|l| l == "frozen 1") {
                        break Ok(());
                    }
                    if start.elapsed() > FREEZE_TIMEOUT {
                        break Err(stuck(dir));
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        };
        if result.is_err() {
            // A cgroup left half frozen would stop the tasks that did freeze for good.
            let _ = self.thaw();
        }
        result
    }

    /// Lets the tasks run again.
    pub fn thaw(&self) -> Result<()> {
        match self {
            Freezer::V1(dir) => write_control(&dir.join("freezer.state"), "THAWED", true),
            Freezer::V2(dir) => write_control(&dir.join("cgroup.freeze"), "0", true),
        }
        .map(|_| ())
    }
}

fn read_word(file: &Path) -> Result<String> {
    std::fs::read_to_string(file)
        .map(|t| t.trim().to_string())
        .map_err(|e| Error::io("reading the freezer", file, e))
}

fn stuck(dir: &Path) -> Error {
    Error::Invalid(format!(
        "the cgroup {} did not freeze within {} s (a task kept forking, or sleeps in the kernel): it was thawed again",
        dir.display(),
        FREEZE_TIMEOUT.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_is_frozen_only_by_itself_and_v2_by_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let v1 = Freezer::V1(d.to_path_buf());
        std::fs::write(d.join("freezer.state"), "FROZEN\n").unwrap();
        std::fs::write(d.join("freezer.self_freezing"), "1\n").unwrap();
        assert!(v1.is_frozen());
        // Frozen through a frozen parent: not paused itself (runc says the same).
        std::fs::write(d.join("freezer.self_freezing"), "0\n").unwrap();
        assert!(!v1.is_frozen());
        std::fs::write(d.join("freezer.state"), "THAWED\n").unwrap();
        assert!(!v1.is_frozen());
        let v2 = Freezer::V2(d.to_path_buf());
        std::fs::write(d.join("cgroup.freeze"), "1\n").unwrap();
        assert!(v2.is_frozen());
        std::fs::write(d.join("cgroup.freeze"), "0\n").unwrap();
        assert!(!v2.is_frozen());
    }

    #[test]
    fn v2_freeze_writes_1_and_waits_for_frozen_1() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("cgroup.freeze"), "0\n").unwrap();
        std::fs::write(d.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        Freezer::V2(d.to_path_buf()).freeze().unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("cgroup.freeze"))
                .unwrap()
                .trim(),
            "1"
        );
        Freezer::V2(d.to_path_buf()).thaw().unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("cgroup.freeze"))
                .unwrap()
                .trim(),
            "0"
        );
    }
}
