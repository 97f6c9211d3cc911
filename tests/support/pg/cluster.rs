use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Output},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use super::{PgError, binaries::PgBinaries};
use crate::watchdog;

/// How many free ports to try when another process grabs the one we picked.
const START_ATTEMPTS: usize = 3;

/// A private PostgreSQL cluster in a temporary directory, listening on `127.0.0.1` on a free
/// port with `trust` authentication for the `postgres` role.
///
/// Made with the distribution's `initdb`/`pg_ctl` (see [`PgCluster::start`] for where they are
/// looked up). When the tests run as root, the cluster directory is given to the `postgres`
/// OS user and the server tools run through `runuser -u postgres --` (PostgreSQL refuses to
/// run as root). Durability against an OS crash is traded for speed (`fsync=off`); commits
/// still reach the WAL before returning, so data survives [`stop_immediate`](Self::stop_immediate).
///
/// Dropping the cluster stops it (`pg_ctl stop -m fast`) and removes the directory. A
/// watchdog process does the same if the test process dies first, which is what cleans up
/// the never-dropped [`PgCluster::shared`] cluster.
///
/// ```no_run
/// use test_support::PgCluster;
///
/// let cluster = PgCluster::start().expect("PostgreSQL installed");
/// let url = cluster.create_database("orders").unwrap();
/// assert_eq!(url, format!("postgres://postgres@127.0.0.1:{}/orders", cluster.port()));
/// cluster.stop_immediate().unwrap();   // simulate a crash
/// cluster.restart().unwrap();          // same port, same data
/// ```
#[derive(Debug)]
pub struct PgCluster {
    bin: PgBinaries,
    run_as_postgres: bool,
    port: u16,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    next_database: AtomicU64,
    watchdog: Mutex<Option<Child>>,
    // Last field: removed after `Drop::drop` has stopped the server.
    dir: tempfile::TempDir,
}

impl PgCluster {
    /// Creates and starts a new cluster with a database named `test`.
    ///
    /// The server binaries are looked up in `$PG_BIN_DIR`, then next to `initdb` on `PATH`,
    /// then in the highest `/usr/lib/postgresql/<version>/bin`. Returns
    /// [`PgError::NotInstalled`] when none has them.
    pub fn start() -> Result<Self, PgError> {
        let bin = PgBinaries::locate()?;
        let run_as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("pg-test-")
            .tempdir()
            .map_err(|e| PgError::io("creating the cluster directory", e))?;
        if run_as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()))?;
        }

        let mut cluster = Self {
            data_dir: dir.path().join("data"),
            socket_dir: dir.path().to_path_buf(),
            log_file: dir.path().join("server.log"),
            bin,
            run_as_postgres,
            port: 0,
            next_database: AtomicU64::new(0),
            watchdog: Mutex::new(None),
            dir,
        };
        cluster.initdb()?;
        *cluster.watchdog.lock().expect("watchdog lock") = Some(
            watchdog::spawn(
                "pg-watchdog",
                cluster.dir.path(),
                &cluster.pg_ctl_argv(&["stop", "-m", "immediate"]),
            )
            .map_err(|e| PgError::io("spawning the cluster watchdog", e))?,
        );

        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            cluster.port = free_port()?;
            match cluster.restart() {
                Ok(()) => {
                    cluster.create_database("test")?;
                    return Ok(cluster);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("at least one start attempt"))
    }

    /// The cluster shared by every test of this test binary, started on first use.
    ///
    /// Give each test its own database ([`fresh_database`](Self::fresh_database)); tests that
    /// stop or restart the server must start their own cluster instead. The shared cluster is
    /// stopped and removed by its watchdog after the test process exits.
    pub fn shared() -> Result<&'static PgCluster, PgError> {
        static SHARED: OnceLock<Result<PgCluster, PgError>> = OnceLock::new();
        SHARED
            .get_or_init(PgCluster::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The TCP port the server listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory holding the data directory, sockets and server log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The process id of the running server (the postmaster), from `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Result<u32, PgError> {
        let path = self.data_dir.join("postmaster.pid");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PgError::io(format!("reading {}", path.display()), e))?;
        text.lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .ok_or_else(|| PgError::Io {
                what: format!("reading {}", path.display()),
                message: "no process id on its first line".into(),
            })
    }

    /// The connection URL of database `name` (which need not exist).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    ///
    /// `name` must match `[a-z_][a-z0-9_]*` (at most 63 bytes).
    pub fn create_database(&self, name: &str) -> Result<String, PgError> {
        if !valid_database_name(name) {
            return Err(PgError::InvalidName(name.to_owned()));
        }
        run(Command::new(self.bin.tool("createdb"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(name))?;
        Ok(self.url(name))
    }

    /// Creates a database with a name unique within this cluster and returns its URL.
    pub fn fresh_database(&self) -> Result<String, PgError> {
        let n = self.next_database.fetch_add(1, Ordering::Relaxed);
        self.create_database(&format!("test_{n}"))
    }

    /// Kills the server without a clean shutdown (`pg_ctl stop -m immediate`), as a crash
    /// would. Open connections break; [`restart`](Self::restart) brings it back.
    pub fn stop_immediate(&self) -> Result<(), PgError> {
        self.pg_ctl(&["stop", "-w", "-m", "immediate"])
    }

    /// Starts the (stopped) server again on the same port with the same data, waiting until
    /// it accepts connections.
    pub fn restart(&self) -> Result<(), PgError> {
        let options = format!(
            // Log lines name their database: a test that turns on `log_statement` for its own
            // database counts the statements the server ran there (`database_statements`).
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c log_line_prefix='%m [%p] db=%d ' \
             -c fsync=off -c full_page_writes=off",
            self.port,
            self.socket_dir.display()
        );
        let log = self.log_file.display().to_string();
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &options])
            .map_err(|e| match e {
                PgError::Command { command, output } => PgError::Command {
                    command,
                    output: format!("{output}\n--- server log ---\n{}", self.server_log()),
                },
                other => other,
            })
    }

    /// The server's log so far (for failure messages).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Statements the server logged for database `name` so far: after
    /// `ALTER DATABASE name SET log_statement = 'all'`, every statement of the sessions opened
    /// afterwards (an `execute` of a prepared statement, or a simple query), counted from
    /// PostgreSQL's own log.
    pub fn database_statements(&self, name: &str) -> u64 {
        let tag = format!(" db={name} LOG:  ");
        self.server_log()
            .lines()
            .filter_map(|line| line.split_once(&tag).map(|(_, rest)| rest))
            .filter(|rest| rest.starts_with("execute ") || rest.starts_with("statement: "))
            .count() as u64
    }

    fn initdb(&self) -> Result<(), PgError> {
        let argv = self.server_argv(
            "initdb",
            &[
                "-D",
                &self.data_dir.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        run(command(&argv).current_dir(self.dir.path()))
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), PgError> {
        run(command(&self.pg_ctl_argv(args)).current_dir(self.dir.path()))
    }

    fn pg_ctl_argv(&self, args: &[&str]) -> Vec<String> {
        let data = self.data_dir.display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.server_argv("pg_ctl", &all)
    }

    /// The argv of a server tool, through `runuser -u postgres --` when running as root.
    fn server_argv(&self, tool: &str, args: &[&str]) -> Vec<String> {
        let mut argv = Vec::new();
        if self.run_as_postgres {
            argv.extend(["runuser", "-u", "postgres", "--"].map(String::from));
        }
        argv.push(self.bin.tool(tool).display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Best effort: a cluster already stopped by a test makes this fail harmlessly.
        let _ = self.pg_ctl(&["stop", "-w", "-m", "fast"]);
        if let Some(mut child) = self.watchdog.lock().ok().and_then(|mut w| w.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn command(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// Runs a command to completion; a non-zero exit becomes [`PgError::Command`].
fn run(cmd: &mut Command) -> Result<(), PgError> {
    let line = format!("{cmd:?}");
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .map_err(|e| PgError::io(format!("running {line}"), e))?;
    if status.success() {
        return Ok(());
    }
    Err(PgError::Command {
        command: line,
        output: format!(
            "{status}\nstderr: {}\nstdout: {}",
            String::from_utf8_lossy(&stderr).trim(),
            String::from_utf8_lossy(&stdout).trim()
        ),
    })
}

fn free_port() -> Result<u16, PgError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| PgError::io("finding a free port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| PgError::io("finding a free port", e))
}

/// Effective uid 0, read from `/proc/self/status` (no `unsafe` libc call needed).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            // Uid: real effective saved fs
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

fn valid_database_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_restricted_to_safe_identifiers() {
        assert!(valid_database_name("test_12"));
        assert!(valid_database_name("_x"));
        assert!(!valid_database_name("1abc"));
        assert!(!valid_database_name("a-b"));
        assert!(!valid_database_name("a; drop"));
        assert!(!valid_database_name(""));
        assert!(!valid_database_name(&"a".repeat(64)));
    }

    #[test]
    fn cluster_is_send_and_sync() {
        fn bounds<T: Send + Sync>() {}
        bounds::<PgCluster>();
    }
}
