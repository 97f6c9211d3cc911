//! [`BenchPostgres`]: a throwaway PostgreSQL cluster (test-support's [`PgCluster`]) with
//! `pg_stat_statements` loaded, the `bench` database, and the client tools (`psql`,
//! `pgbench`) that count statements and make the competing load.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context as _, bail};
use test_support::PgCluster;
use tokio::process::Command;

/// The database the server uses.
const BENCH_DB: &str = "bench";
/// The database `pgbench` works in (so its statements never count as the server's).
const PGBENCH_DB: &str = "pgbench";

/// The cluster and its client tools.
#[derive(Debug)]
pub struct BenchPostgres {
    cluster: PgCluster,
    bin: PathBuf,
    /// Whether `pg_stat_statements` could be loaded.
    statements_available: bool,
}

impl BenchPostgres {
    /// Starts a cluster, loads `pg_stat_statements` (a restart), creates `bench` and
    /// `pgbench`. `shared_buffers` is set to `shared_buffers` (e.g. `512MB`).
    pub async fn start(shared_buffers: &str) -> anyhow::Result<Self> {
        let bin = client_bin_dir()?;
        let cluster = tokio::task::spawn_blocking(PgCluster::start)
            .await?
            .context(
                "cannot start a throwaway PostgreSQL (is the `postgresql` package installed?)",
            )?;
        let mut pg = Self {
            cluster,
            bin,
            statements_available: false,
        };
        // One statement per call: ALTER SYSTEM refuses to run in psql's implicit transaction.
        pg.psql(
            "test",
            "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
        )
        .await?;
        pg.psql(
            "test",
            &format!("ALTER SYSTEM SET shared_buffers = '{shared_buffers}'"),
        )
        .await?;
        pg.restart().await?;
        // Batches with different IN-list lengths are different statements to
        // pg_stat_statements: keep room for many, so none is evicted before it is counted.
        // Known only once the library is loaded; takes effect at the next start.
        match pg
            .psql("test", "ALTER SYSTEM SET pg_stat_statements.max = 50000")
            .await
        {
            Ok(_) => pg.restart().await?,
            Err(e) => eprintln!("cannot raise pg_stat_statements.max: {e}"),
        }
        pg.cluster.create_database(BENCH_DB)?;
        pg.cluster.create_database(PGBENCH_DB)?;
        pg.statements_available = pg
            .psql(
                BENCH_DB,
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
            )
            .await
            .inspect_err(|e| {
                eprintln!("pg_stat_statements unavailable, statements/request will be n/a: {e}")
            })
            .is_ok();
        Ok(pg)
    }

    async fn restart(&self) -> anyhow::Result<()> {
        self.cluster.stop_immediate()?;
        self.cluster
            .restart()
            .context("PostgreSQL did not restart with the new settings")
    }

    /// The server's database URL.
    pub fn url(&self) -> String {
        self.cluster.url(BENCH_DB)
    }

    /// The cluster's port.
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// The postmaster's process id (its backends are its children), if known.
    pub fn postmaster_pid(&self) -> Option<u32> {
        self.cluster.postmaster_pid().ok()
    }

    /// Whether statements can be counted.
    pub fn statements_available(&self) -> bool {
        self.statements_available
    }

    /// Forgets the statements counted so far.
    pub async fn reset_statements(&self) -> anyhow::Result<()> {
        if self.statements_available {
            self.psql(BENCH_DB, "SELECT pg_stat_statements_reset();")
                .await?;
        }
        Ok(())
    }

    /// Statements executed in `bench` since the last reset (not counting the counting), or
    /// `None` without `pg_stat_statements`. The flag is `false` when entries were evicted
    /// since the reset (`pg_stat_statements_info.dealloc`): the count is then a lower bound.
    pub async fn statements(&self) -> anyhow::Result<Option<(u64, bool)>> {
        if !self.statements_available {
            return Ok(None);
        }
        let dealloc = self
            .psql(BENCH_DB, "SELECT dealloc FROM pg_stat_statements_info;")
            .await?;
        let exact = dealloc.trim() == "0";
        let out = self
            .psql(
                BENCH_DB,
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements \
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND query NOT ILIKE '%pg_stat_statements%';",
            )
            .await?;
        let count = out
            .trim()
            .parse()
            .with_context(|| format!("unexpected statement count `{out}`"))?;
        Ok(Some((count, exact)))
    }

    /// `pgbench -i -s SCALE` in the `pgbench` database.
    pub async fn pgbench_init(&self, scale: u32) -> anyhow::Result<()> {
        let output = self
            .tool("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string(), PGBENCH_DB])
            .stdin(Stdio::null())
            .output()
            .await?;
        if !output.status.success() {
            bail!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Runs `pgbench -c CLIENTS -j 2 -T SECONDS` (TPC-B-like writes) to completion and
    /// returns its summary lines (tps, latency).
    pub async fn pgbench_run(&self, clients: u32, duration: Duration) -> anyhow::Result<String> {
        let output = self
            .tool("pgbench")
            .args([
                "-c",
                &clients.to_string(),
                "-j",
                "2",
                "-T",
                &duration.as_secs().max(1).to_string(),
                PGBENCH_DB,
            ])
            .stdin(Stdio::null())
            .output()
            .await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "pgbench failed: {}\n{stdout}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(stdout
            .lines()
            .filter(|l| l.starts_with("tps") || l.starts_with("latency average"))
            .collect::<Vec<_>>()
            .join("; "))
    }

    /// Runs SQL through `psql` and returns its unaligned output.
    pub async fn psql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let output = self
            .tool("psql")
            .args([
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database,
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .await?;
        if !output.status.success() {
            bail!(
                "psql failed on `{sql}`: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn tool(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        command
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.cluster.port().to_string())
            .kill_on_drop(true);
        command
    }
}

/// The directory with `psql` and `pgbench`: `$PG_BIN_DIR`, else the highest
/// `/usr/lib/postgresql/<version>/bin` that has both.
fn client_bin_dir() -> anyhow::Result<PathBuf> {
    let has_tools = |dir: &Path| dir.join("psql").is_file() && dir.join("pgbench").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from)
        && has_tools(&dir)
    {
        return Ok(dir);
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (no /usr/lib/postgresql); install `postgresql`")?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: Option<Vec<u32>> = e
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|p| p.parse().ok())
                .collect();
            let bin = e.path().join("bin");
            version.filter(|_| has_tools(&bin)).map(|v| (v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/*/bin has psql and pgbench; install `postgresql` and `postgresql-contrib`")
}
