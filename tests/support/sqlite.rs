use std::{
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
};

/// The URL of a fresh SQLite file database inside `dir` (created on first connect).
///
/// Each call names a new file, so one temporary directory can hold several databases.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let a = test_support::sqlite_url(dir.path());
/// let b = test_support::sqlite_url(dir.path());
/// assert!(a.starts_with("sqlite://") && a.ends_with("?mode=rwc"));
/// assert_ne!(a, b);
/// ```
pub fn sqlite_url(dir: &Path) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("sqlite://{}/test-{n}.db?mode=rwc", dir.display())
}
