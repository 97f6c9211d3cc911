//! A detached shell that stops a cluster and removes its directory once the test process is
//! gone.
//!
//! Rust never runs `Drop` for statics, and a test binary can die from a panic in another
//! thread, `abort`, a signal or a timeout kill. Rather than rely on exit hooks, each cluster
//! gets a tiny `sh` loop, started in its own process group (so a terminal Ctrl-C does not
//! kill it), that polls `kill -0 <test pid>` once a second and then runs
//! `pg_ctl stop -m immediate` and `rm -rf` on the cluster directory. When the cluster is
//! dropped normally, `Drop` stops the cluster itself and ends the watchdog.

use std::{
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, Stdio},
};

use super::PgError;

const SCRIPT: &str = r#"
pid="$1"; dir="$2"; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$dir"
"#;

/// Spawns the watchdog. `stop` is the full argv that stops the cluster.
pub(crate) fn spawn(dir: &Path, stop: &[String]) -> Result<Child, PgError> {
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(stop)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| PgError::io("spawning the cluster watchdog", e))
}
