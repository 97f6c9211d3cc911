//! A detached shell that stops a test's external process (a PostgreSQL cluster, a Jaeger)
//! and removes its directory once the test process is gone.
//!
//! Rust never runs `Drop` for statics, and a test binary can die from a panic in another
//! thread, `abort`, a signal or a timeout kill. Rather than rely on exit hooks, each external
//! process gets a tiny `sh` loop, started in its own process group (so a terminal Ctrl-C does
//! not kill it), that polls `kill -0 <test pid>` once a second and then runs the stop command
//! (`pg_ctl stop -m immediate`, `kill -KILL <pid>`) and `rm -rf` on the directory. When the
//! owner is dropped normally, its `Drop` stops the process itself and ends the watchdog.

use std::{
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, Stdio},
};

const SCRIPT: &str = r#"
pid="$1"; dir="$2"; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$dir"
"#;

/// Spawns the watchdog of this test process. `stop` is the full argv that stops the external
/// process; `dir` is removed after it. `name` shows as the shell's `$0` in `ps`.
pub(crate) fn spawn(name: &str, dir: &Path, stop: &[String]) -> std::io::Result<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg(name)
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(stop)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
}
