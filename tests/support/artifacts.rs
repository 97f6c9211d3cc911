//! Files tests leave for people to look at (screenshots): [`artifacts_dir`], and
//! [`announce_artifact`] to say where one is.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

/// `target/test-artifacts/` (under `CARGO_TARGET_DIR` when set), created if missing.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // The workspace's target directory, next to this crate's directory.
            let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(tests).join("target")
        });
    let dir = target.join("test-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Prints `<what>: <path>` straight to the process's stderr, past the test harness's
/// capture, so the line shows for a passing test too.
pub fn announce_artifact(what: &str, path: &Path) {
    let _ = writeln!(std::io::stderr(), "{what}: {}", path.display());
}
