//! [`ServerProcess`]: a server under test as a child process: the `server` binary started
//! on a free port in one [`Mode`] and pool ([`ServerLaunch`]), ready when `/readyz` says
//! so, or a peer (PostGraphile) ready when it answers a query; stopped with SIGTERM when
//! [`stop`](ServerProcess::stop)ped, killed when dropped.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context as _, bail};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
    time::Instant,
};

use super::Mode;

/// How the server binary is started.
#[derive(Debug, Clone)]
pub struct ServerLaunch {
    /// The `server` binary.
    pub binary: PathBuf,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub max_connections: u32,
    /// Whether the binary has the `--loader` switch.
    pub has_loader_switch: bool,
    /// Where the server's log goes.
    pub log_dir: PathBuf,
    /// Extra environment (`LOADER_*` overrides).
    pub extra_env: Vec<(String, String)>,
}

/// A running server.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pid: u32,
    base_url: String,
}

impl ServerLaunch {
    /// Starts the server in `mode` on `max_connections` and waits until `/readyz` answers
    /// 200 (at most 60 s).
    pub async fn start(&self, mode: Mode) -> anyhow::Result<ServerProcess> {
        self.start_pooled(mode, self.max_connections).await
    }

    /// Starts the server in `mode` with `DATABASE_MAX_CONNECTIONS=pool`.
    pub async fn start_pooled(&self, mode: Mode, pool: u32) -> anyhow::Result<ServerProcess> {
        std::fs::create_dir_all(&self.log_dir)?;
        let label = if pool == self.max_connections {
            mode.slug()
        } else {
            format!("{}-pool-{pool}", mode.slug())
        };
        let log_path = self.log_dir.join(format!("server-{label}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut command = Command::new(&self.binary);
        command
            .arg("serve")
            .env("DATABASE_URL", &self.database_url)
            .env("DATABASE_MAX_CONNECTIONS", pool.to_string())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("NO_DEMO_DATA", "true")
            // The server's development secret (it sends reads only) stays with the run's
            // files instead of the working directory.
            .env("JWT_DEV_SECRET_FILE", self.log_dir.join("jwt-dev-secret"))
            // `BENCH_SERVER_RUST_LOG` traces a benchmarked server (for example
            // `warn,loader_core::limit=info,loader_core::door=debug`: every limit and door
            // change, into its log under the run's `logs/`); quiet by default, since logging
            // costs the server CPU that the figures measure.
            .env("RUST_LOG", server_log_filter())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (key, value) in mode.server_env(self.has_loader_switch) {
            command.env(key, value);
        }
        for (key, value) in &self.extra_env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;

        // The server prints `GraphiQL: http://ADDR/graphql` once it listens.
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(addr) = listening_addr(&line) {
                    return Ok::<_, std::io::Error>(Some(addr));
                }
            }
            Ok(None)
        })
        .await;
        let addr = match addr {
            Ok(Ok(Some(addr))) => addr,
            _ => bail!(
                "the server ({mode}) did not report its address; log: {}\n{}",
                log_path.display(),
                tail(&log_path)
            ),
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let server = ServerProcess {
            child,
            pid,
            base_url: format!("http://{addr}"),
        };
        server
            .wait_ready(Duration::from_secs(60))
            .await
            .with_context(|| format!("log {}:\n{}", log_path.display(), tail(&log_path)))?;
        Ok(server)
    }
}

impl ServerProcess {
    /// A server started elsewhere as `child`, listening on `base_url` (`http://ADDR`),
    /// GraphQL at `/graphql`.
    pub(super) fn adopt(child: Child, base_url: String) -> anyhow::Result<Self> {
        let pid = child.id().context("the server exited at once")?;
        Ok(Self {
            child,
            pid,
            base_url,
        })
    }

    /// Waits until `POST /graphql` answers `{ __typename }` with `200` (a server without
    /// `/readyz`), at most `patience`; fails at once if the process exited.
    pub(super) async fn wait_graphql(&mut self, patience: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + patience;
        let url = self.graphql_url();
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited before it was ready: {status}");
            }
            let status = client
                .post(&url)
                .json(&serde_json::json!({ "query": "{ __typename }" }))
                .send()
                .await
                .map(|r| r.status());
            if matches!(status, Ok(s) if s.is_success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{url} not ready after {patience:?} (last: {status:?})");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `http://ADDR/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base_url)
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Resident memory in KiB (`VmRSS` of `/proc/PID/status`), if readable.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid)
    }

    /// Fetches `path` (`/loader/stats`) as JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = reqwest::get(format!("{}{path}", self.base_url)).await?;
        Ok(response.error_for_status()?.json().await?)
    }

    async fn wait_ready(&self, patience: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + patience;
        let url = format!("{}/readyz", self.base_url);
        let client = reqwest::Client::new();
        loop {
            let status = client.get(&url).send().await.map(|r| r.status());
            if matches!(status, Ok(s) if s.is_success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{url} not ready after {patience:?} (last: {status:?})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM and waits (at most 15 s, then kills).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

/// The address in a `GraphiQL: http://ADDR/graphql` line.
fn listening_addr(line: &str) -> Option<String> {
    let rest = line.split("http://").nth(1)?;
    let addr = rest.split('/').next()?;
    (!addr.is_empty()).then(|| addr.to_string())
}

/// `VmRSS` of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The last lines of a log file, for error messages.
pub(super) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Whether the server binary has the `--loader` switch (from its `--help`).
pub fn has_loader_switch(binary: &Path) -> anyhow::Result<bool> {
    let output = std::process::Command::new(binary)
        .arg("--help")
        .output()
        .with_context(|| format!("cannot run {} --help", binary.display()))?;
    let help = String::from_utf8_lossy(&output.stdout);
    Ok(help.contains("--loader <"))
}

/// The benchmarked server's `RUST_LOG`: `BENCH_SERVER_RUST_LOG` if set, else `warn`.
fn server_log_filter() -> String {
    std::env::var("BENCH_SERVER_RUST_LOG").unwrap_or_else(|_| "warn".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_read_from_the_graphiql_line() {
        assert_eq!(
            listening_addr("GraphiQL: http://127.0.0.1:40123/graphql").as_deref(),
            Some("127.0.0.1:40123")
        );
        assert_eq!(listening_addr("starting"), None);
    }

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tserver\nVmPeak:\t  9000 kB\nVmRSS:\t   51234 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(51234));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn own_rss_is_readable() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
