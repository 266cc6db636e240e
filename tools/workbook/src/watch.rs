//! `check --watch`: check again whenever a source changes, found by polling the mtimes of
//! the learner's sources twice a second.
//!
//! Why polling and not inotify (the `notify` crate): in a workshop the learner edits on the
//! host and checks in the VM, where `/vagrant` is a shared folder (vboxsf, or virtiofs with
//! libvirt), and inotify in the guest never hears of a change made on the host; `notify`
//! would have to fall back to its own poller there. Events would also come in bursts (an
//! editor's save is a write, a rename and a chmod; `cargo fmt` rewrites many files at once)
//! and need a debouncer on top. A poll of the few hundred files under src/, chapters/ and
//! tests/ is cheap, answers within half a second, well inside the check's own time, and
//! behaves the same on every filesystem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Fail;

const WATCHED: &[&str] = &["src", "chapters", "tests", "exercises.toml"];

/// Runs `check` now and after every change, until interrupted.
pub fn watch(
    root: &Path,
    mut check: impl FnMut() -> Result<bool, Fail>,
) -> Result<(), Fail> {
    loop {
        let before = snapshot(root);
        let passed = check()?;
        println!();
        println!(
            "{} Watching src/, chapters/ and tests/: save a file to check again (Ctrl-C stops).",
            if passed { "All green." } else { "Not yet." }
        );
        let mut now = snapshot(root);
        // Files saved while the check ran count too.
        while now == before {
            std::thread::sleep(Duration::from_millis(500));
            let next = snapshot(root);
            if next != now {
                now = next;
                break;
            }
        }
        println!("\n--- a file changed: checking again ---");
    }
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut seen = BTreeMap::new();
    for name in WATCHED {
        walk(&root.join(name), &mut seen);
    }
    seen
}

fn walk(path: &Path, seen: &mut BTreeMap<PathBuf, SystemTime>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            // Snapshots the tests write (insta's .snap.new) are not the learner's edits.
            let name = entry.file_name();
            if !name.to_string_lossy().ends_with(".snap.new") {
                walk(&entry.path(), seen);
            }
        }
    } else if let Ok(modified) = meta.modified() {
        seen.insert(path.to_path_buf(), modified);
    }
}
