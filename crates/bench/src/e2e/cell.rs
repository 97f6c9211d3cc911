//! [`measure`]: one cell of load against a running server, with its cost: the CPU of the
//! server process and of the PostgreSQL cluster, and the SQL statements, all counted from
//! the end of the warm-up to the last response.

use std::time::Duration;

use super::{BenchPostgres, Cost, ServerProcess};
use crate::{
    load::{LoadConfig, LoadReport},
    proc_cpu::{cpu_time, tree_cpu_time},
};

/// CPU of the server and of the cluster at one moment.
#[derive(Debug, Clone, Copy)]
struct CpuReading {
    server: Option<Duration>,
    postgres: Option<Duration>,
}

fn read_cpu(server_pid: u32, postmaster: Option<u32>) -> CpuReading {
    CpuReading {
        // The server's whole tree: a Node.js peer may run workers.
        server: tree_cpu_time(server_pid).or_else(|| cpu_time(server_pid)),
        postgres: postmaster.and_then(tree_cpu_time),
    }
}

fn per_request(start: Option<Duration>, end: Option<Duration>, responses: u64) -> Option<f64> {
    let (start, end) = (start?, end?);
    (responses > 0).then(|| end.saturating_sub(start).as_secs_f64() * 1000.0 / responses as f64)
}

/// Runs `config` against `server` and measures its cost; statements are counted when
/// `count_statements` (they cost a `psql` call each way).
pub async fn measure(
    pg: &BenchPostgres,
    server: &ServerProcess,
    config: LoadConfig,
    count_statements: bool,
) -> anyhow::Result<(LoadReport, Cost)> {
    let warmup = config.warmup;
    let (pid, postmaster) = (server.pid(), pg.postmaster_pid());
    let at_warmup_end = async move {
        tokio::time::sleep(warmup).await;
        let reset = if count_statements {
            pg.reset_statements().await
        } else {
            Ok(())
        };
        (read_cpu(pid, postmaster), reset)
    };
    let (report, (start, reset)) = tokio::join!(crate::load::run(config), at_warmup_end);
    let end = read_cpu(pid, postmaster);
    let report = report?;
    reset?;
    let counted = if count_statements {
        pg.statements().await?
    } else {
        None
    };
    let statements = counted.map(|(n, _)| n);
    let statements_exact = counted.is_none_or(|(_, exact)| exact);
    let cost = Cost {
        server_cpu_ms_per_request: per_request(start.server, end.server, report.answered),
        pg_cpu_ms_per_request: per_request(start.postgres, end.postgres, report.answered),
        statements,
        statements_exact,
        statements_per_request: statements
            .filter(|_| report.answered > 0)
            .map(|s| s as f64 / report.answered as f64),
    };
    Ok((report, cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_per_request_needs_both_readings_and_some_responses() {
        let s = Duration::from_secs;
        assert_eq!(per_request(Some(s(1)), Some(s(3)), 1000), Some(2.0));
        assert_eq!(per_request(None, Some(s(3)), 1000), None);
        assert_eq!(per_request(Some(s(1)), Some(s(3)), 0), None);
    }
}
