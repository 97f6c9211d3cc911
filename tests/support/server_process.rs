//! The workspace's real `server` binary as a child process: built by cargo in the calling
//! test's profile, started on a free port over a fresh SQLite file with an environment the
//! test chooses, stopped with `SIGTERM` as an operator would.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader},
    process::{Child, Command},
};

use crate::watchdog;

/// How long the server may take to migrate, seed its demo data and listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long it may take to drain and flush after `SIGTERM`.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The `server` binary: `$SERVER_BIN` when set, else built with `cargo build -p server --bin
/// server` into the calling test's own target and profile directory (a no-op when it is up to
/// date). Blocking.
///
/// # Panics
///
/// When there is no cargo to build it with (`$CARGO`, set by `cargo test`) and no
/// `$SERVER_BIN`, or when the build fails.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SERVER_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<this test> -> target/<profile>
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let cargo = std::env::var_os("CARGO")
        .expect("no $CARGO to build the server with: run under `cargo test`, or set SERVER_BIN");
    let mut build = std::process::Command::new(cargo);
    build
        .args(["build", "-q", "-p", "server", "--bin", "server"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name() == Some("release".as_ref()) {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "cargo build -p server failed: {status}");
    let binary = profile_dir.join(format!("server{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.is_file(), "{} was not built", binary.display());
    binary
}

/// A running `server` process (`server serve`) on `127.0.0.1`, over a fresh SQLite file that
/// it migrates and fills with its demo data on start.
///
/// Its environment is the test's, less every `OTEL_*` variable, `RUST_LOG`, `DATABASE_URL`
/// and `LISTEN_ADDR` (so a developer's shell cannot redirect it), plus what the test sets.
/// Dropping it kills the process; a watchdog does the same if the test process dies first.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    watchdog: Option<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `binary` with the `env` pairs set and waits until it listens.
    ///
    /// # Panics
    ///
    /// When the server exits or does not listen within two minutes (with its stderr).
    pub async fn start(binary: &Path, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("server-test-")
            .tempdir()
            .expect("a temporary directory");
        let database = format!("sqlite://{}/forum.sqlite?mode=rwc", dir.path().display());
        let mut command = Command::new(binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OTEL_") {
                command.env_remove(&key);
            }
        }
        command
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &database)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the server binary runs");
        let pid = child.id().expect("a running child has a pid");
        let watchdog = watchdog::spawn(
            "server-watchdog",
            dir.path(),
            &["kill".to_owned(), "-KILL".to_owned(), pid.to_string()],
        )
        .expect("the server's watchdog starts");

        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
                sink.lock()
                    .expect("stderr lock")
                    .extend_from_slice(&chunk[..n]);
            }
        });

        let stdout = child.stdout.take().expect("piped stdout");
        let listening = async {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line
                    .strip_prefix("GraphiQL: http://")
                    .and_then(|rest| rest.strip_suffix("/graphql"))
                {
                    // Keep draining stdout so the server never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return addr.parse::<SocketAddr>().ok();
                }
            }
            None
        };
        let addr = tokio::time::timeout(START_TIMEOUT, listening)
            .await
            .ok()
            .flatten();
        let Some(addr) = addr else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            panic!(
                "the server did not start listening within {START_TIMEOUT:?}:\n{}",
                String::from_utf8_lossy(&stderr.lock().expect("stderr lock"))
            );
        };
        Self {
            child,
            addr,
            stderr,
            stderr_reader: Some(stderr_reader),
            watchdog: Some(watchdog),
            _dir: dir,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// What it wrote to stderr so far (its console log).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// Sends `SIGTERM` (graceful shutdown: requests in flight finish, telemetry is flushed)
    /// and waits for the exit; returns the exit status and the whole stderr.
    ///
    /// # Panics
    ///
    /// When it has not exited a minute later.
    pub async fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}: {sent}");
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server ignored SIGTERM for {STOP_TIMEOUT:?}"))
            .expect("waiting for the server");
        // The stderr reader ends at end-of-file, right after the exit.
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        (status, self.stderr())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}
