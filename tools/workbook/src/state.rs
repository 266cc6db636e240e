//! The tool's memory, in `.workbook/` at the repository root (git ignores it, `cargo clean`
//! leaves it): the reference text of every hole cut, and the last check of each exercise.

use std::path::{Path, PathBuf};

use crate::Fail;

/// Where an exercise stands, as `list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Untouched,
    Working,
    Green,
}

pub struct State {
    dir: PathBuf,
}

impl State {
    pub fn new(root: &Path) -> State {
        State {
            dir: root.join(".workbook"),
        }
    }

    fn reference_path(&self, id: &str) -> PathBuf {
        self.dir.join("reference").join(format!("{id}.txt"))
    }

    fn result_path(&self, id: &str) -> PathBuf {
        self.dir.join("last-check").join(id)
    }

    /// The reference saved when the hole was cut.
    pub fn reference(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.reference_path(id)).ok()
    }

    pub fn save_reference(&self, id: &str, text: &str) -> Result<(), Fail> {
        write(&self.reference_path(id), text)
    }

    pub fn started(&self, id: &str) -> bool {
        self.reference_path(id).exists()
    }

    /// Records the outcome of a check (only for exercises that were started).
    pub fn record(&self, id: &str, passed: bool) -> Result<(), Fail> {
        if !self.started(id) {
            return Ok(());
        }
        write(
            &self.result_path(id),
            if passed { "passing\n" } else { "failing\n" },
        )
    }

    pub fn progress(&self, id: &str, cut_now: bool) -> Progress {
        if !self.started(id) {
            return if cut_now {
                Progress::Working
            } else {
                Progress::Untouched
            };
        }
        match std::fs::read_to_string(self.result_path(id)) {
            Ok(s) if s.trim() == "passing" && !cut_now => Progress::Green,
            _ => Progress::Working,
        }
    }

    /// Forgets the exercise: its reference went back into the file.
    pub fn forget(&self, id: &str) -> Result<(), Fail> {
        for path in [self.reference_path(id), self.result_path(id)] {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Fail::tool(format!(
                        "cannot remove {}: {e}",
                        path.display()
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn write(path: &Path, text: &str) -> Result<(), Fail> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(path, text))
        .map_err(|e| Fail::tool(format!("cannot write {}: {e}", path.display())))
}
