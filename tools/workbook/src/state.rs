//! The tool's memory, in `.workbook/` at the repository root (git ignores it, `cargo clean`
//! leaves it): the reference of every hole cut (compressed: an answer kept out of plain
//! sight, not a secret), the last check of each exercise, how many hints were shown, and
//! the learner's code that `reset` replaced.

use std::io::{Read, Write};
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
        self.dir.join("reference").join(format!("{id}.z"))
    }

    /// Where an earlier version of the tool kept the reference, in plain text.
    fn plain_reference_path(&self, id: &str) -> PathBuf {
        self.dir.join("reference").join(format!("{id}.txt"))
    }

    fn hints_path(&self, id: &str) -> PathBuf {
        self.dir.join("hints-shown").join(id)
    }

    fn result_path(&self, id: &str) -> PathBuf {
        self.dir.join("last-check").join(id)
    }

    /// The reference saved when the hole was cut.
    pub fn reference(&self, id: &str) -> Option<String> {
        let Ok(packed) = std::fs::read(self.reference_path(id)) else {
            return std::fs::read_to_string(self.plain_reference_path(id)).ok();
        };
        let mut text = String::new();
        flate2::read::ZlibDecoder::new(packed.as_slice())
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    }

    pub fn save_reference(&self, id: &str, text: &str) -> Result<(), Fail> {
        let path = self.reference_path(id);
        let mut packer =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let packed = packer
            .write_all(text.as_bytes())
            .and_then(|()| packer.finish())
            .map_err(|e| Fail::tool(format!("cannot compress {}: {e}", path.display())))?;
        write(&path, packed)?;
        let _ = std::fs::remove_file(self.plain_reference_path(id));
        Ok(())
    }

    pub fn started(&self, id: &str) -> bool {
        self.reference_path(id).exists() || self.plain_reference_path(id).exists()
    }

    /// How many of the exercise's hints were shown so far.
    pub fn hints_shown(&self, id: &str) -> usize {
        std::fs::read_to_string(self.hints_path(id))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn set_hints_shown(&self, id: &str, n: usize) -> Result<(), Fail> {
        write(&self.hints_path(id), format!("{n}\n"))
    }

    /// Keeps the learner's code of an exercise before `reset` replaces it; returns the file
    /// (relative to the repository) that holds it.
    pub fn back_up(&self, id: &str, header: &str, code: &str) -> Result<String, Fail> {
        let stamp = utc_stamp(std::time::SystemTime::now());
        let mut name = format!("{id}-{stamp}.rs");
        let mut n = 1;
        while self.dir.join("backup").join(&name).exists() {
            n += 1;
            name = format!("{id}-{stamp}-{n}.rs");
        }
        write(
            &self.dir.join("backup").join(&name),
            format!("{header}\n{code}"),
        )?;
        Ok(format!(".workbook/backup/{name}"))
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
        let paths = [
            self.reference_path(id),
            self.plain_reference_path(id),
            self.result_path(id),
        ];
        for path in paths {
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

/// `20261206T054600Z`: UTC, so that backups sort by time.
pub fn utc_stamp(now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // The civil date of a day count (Howard Hinnant's days_from_civil, inverted).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), Fail> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(path, text))
        .map_err(|e| Fail::tool(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_dates() {
        let at =
            |secs| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_796_535_960), "20261206T054600Z");
    }

    #[test]
    fn the_reference_is_kept_out_of_plain_sight() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = State::new(dir.path());
        let text = "    let secret_answer = 42;\n";
        state.save_reference("01.1", text).expect("saved");
        assert!(state.started("01.1"));
        assert_eq!(state.reference("01.1").as_deref(), Some(text));
        let packed =
            std::fs::read(dir.path().join(".workbook/reference/01.1.z")).expect("read");
        assert!(!String::from_utf8_lossy(&packed).contains("secret_answer"));
        state.forget("01.1").expect("forgotten");
        assert!(!state.started("01.1") && state.reference("01.1").is_none());
    }
}
