//! [`PostGraphileLaunch`]: PostGraphile 4 as a peer, on the same throwaway database as this
//! server: one Node.js process (`NODE_ENV=production`, no query log, no GraphiQL) on a
//! free port of 127.0.0.1, ready when it answers a query. It compiles each GraphQL query
//! into one SQL statement, the design a user choosing a GraphQL server for PostgreSQL would
//! weigh against a dataloader.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context as _;
use tokio::process::Command;

use super::{ServerProcess, node_tools::NodeTools, server_process::tail};

/// The npm package.
pub const PACKAGE: &str = "postgraphile";

/// How PostGraphile is started.
#[derive(Debug, Clone)]
pub struct PostGraphileLaunch {
    /// `node_modules/postgraphile/cli.js`.
    pub cli: PathBuf,
    /// The installed version.
    pub version: String,
    /// `--connection`.
    pub database_url: String,
    /// Where its log goes.
    pub log_dir: PathBuf,
}

impl PostGraphileLaunch {
    /// PostGraphile from `tools` for `database_url`.
    pub fn new(tools: &NodeTools, version: &str, database_url: String, log_dir: PathBuf) -> Self {
        Self {
            cli: tools.module_file(PACKAGE, "cli.js"),
            version: version.to_string(),
            database_url,
            log_dir,
        }
    }

    /// The command line, for the report.
    pub fn command_line(&self, port: u16, pool: u32) -> String {
        format!(
            "NODE_ENV=production node {} {}",
            self.cli.display(),
            self.args(port, pool).join(" ")
        )
    }

    fn args(&self, port: u16, pool: u32) -> Vec<String> {
        [
            "--connection",
            &self.database_url,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--max-pool-size",
            &pool.to_string(),
            "--disable-query-log",
            "--disable-graphiql",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Starts PostGraphile with `--max-pool-size pool` and waits until it answers (at most
    /// 120 s: it introspects the database first).
    pub async fn start(&self, pool: u32) -> anyhow::Result<ServerProcess> {
        std::fs::create_dir_all(&self.log_dir)?;
        let log_path = self.log_dir.join("postgraphile.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let port = free_port()?;
        let child = Command::new("node")
            .arg(&self.cli)
            .args(self.args(port, pool))
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start node {}", self.cli.display()))?;
        let mut server = ServerProcess::adopt(child, format!("http://127.0.0.1:{port}"))?;
        server
            .wait_graphql(Duration::from_secs(120))
            .await
            .with_context(|| {
                format!(
                    "PostGraphile; log {}:\n{}",
                    log_path.display(),
                    tail(&log_path)
                )
            })?;
        Ok(server)
    }
}

/// A port of 127.0.0.1 free right now (the OS picks it; PostGraphile binds it a moment
/// later).
fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}
