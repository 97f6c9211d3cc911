//! [`join_replica`]: a replica joins a cluster under load, cold or warm; its first seconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::{sync::watch, time::Instant};

use super::{LimitSeries, Replica, ReplicaOptions, time_to_reach};
use crate::load::{LoadConfig, QueryMix, run};

/// How a joining replica did in its first seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinResult {
    /// `cold` or `warm`.
    pub label: String,
    /// Its limit right after start.
    pub start_limit: usize,
    /// Its limit every 100 ms from the start of its load.
    pub limits: LimitSeries,
    /// Seconds until its limit first reached `target`.
    pub time_to_target_s: Option<f64>,
    /// The limit aimed at: the running replicas' median converged limit.
    pub target: usize,
    /// Its ok responses per second, second by second.
    pub ok_per_second: Vec<u64>,
    /// 99th percentile latency over the first seconds, ms.
    pub p99_ms: f64,
    /// Time from asking for the replica to it serving (migrations off, restore included), ms.
    pub startup_ms: f64,
}

/// Starts a replica named `label` with `options`, gives it `clients` clients for `watch`
/// while `background` replicas keep their own load, and records its limit.
#[allow(clippy::too_many_arguments)]
pub async fn join_replica(
    label: &str,
    database_url: &str,
    options: &ReplicaOptions,
    background: &[Replica],
    mix: &QueryMix,
    clients: usize,
    watch_for: Duration,
    target: usize,
) -> anyhow::Result<JoinResult> {
    // Keep the running replicas busy for the whole join.
    let background_loads: Vec<_> = background
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut config = LoadConfig::new(r.graphql_url(), mix.clone());
            config.clients = clients;
            config.warmup = Duration::from_secs(1);
            config.duration = watch_for + Duration::from_secs(1);
            config.seed = 100 + i as u64;
            tokio::spawn(run(config))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let asked = Instant::now();
    let replica = Replica::start(label, database_url, options).await?;
    let startup_ms = asked.elapsed().as_secs_f64() * 1e3;
    let (stop_tx, stop_rx) = watch::channel(false);
    let sampler = LimitSeries::sample(replica.engine.clone(), Duration::from_millis(100), stop_rx);
    let mut config = LoadConfig::new(replica.graphql_url(), mix.clone());
    config.clients = clients;
    config.warmup = Duration::ZERO;
    config.duration = watch_for;
    config.seed = 7;
    let report = run(config).await?;
    let _ = stop_tx.send(true);
    let limits = sampler.await?;
    for load in background_loads {
        load.await??;
    }
    let result = JoinResult {
        label: label.to_string(),
        start_limit: replica.start_limit,
        time_to_target_s: time_to_reach(&limits, target),
        limits,
        target,
        ok_per_second: report.seconds.iter().map(|s| s.ok).collect(),
        p99_ms: report.latency.p99_ms,
        startup_ms,
    };
    replica.stop().await;
    Ok(result)
}
