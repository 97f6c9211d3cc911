//! [`run_replicas`]: one measured run with the load spread evenly across replicas.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{LimitSeries, Replica, converged_limit};
use crate::load::{LoadConfig, LoadReport, QueryMix, run};

/// One replica's part of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaFigures {
    /// The replica.
    pub name: String,
    /// Responses without errors per second.
    pub ok_per_s: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Failed requests over finished ones.
    pub error_rate: f64,
    /// `OVERLOADED` responses.
    pub overloaded: u64,
    /// The median limit over the second half of the measured time.
    pub converged_limit: Option<usize>,
    /// The limit over the run.
    pub limits: LimitSeries,
    /// The engine's limit changes at the end of the run, with the strategy's reasons
    /// (periodic "steady" points left out), and the other replicas' permits it was told of.
    #[serde(default)]
    pub changes: Vec<(f64, usize, String)>,
    #[serde(default)]
    pub fleet_others: usize,
    /// Keys loaded per second over the engine's metrics window at the end of the run: over
    /// `ok_per_s`, the keys each request cost (more when smaller batches load a key twice).
    #[serde(default)]
    pub keys_per_s: f64,
}

/// The figures of one run over all replicas.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// What ran (`adaptive`, `fixed 24 (8 x 3)`).
    pub label: String,
    /// The total of the per-replica fixed limits, for fixed runs.
    pub fixed_total: Option<usize>,
    /// Sum of the replicas' ok/s.
    pub ok_per_s: f64,
    /// The worst replica's p99 latency, ms (a bound on the aggregate p99).
    pub p99_ms: f64,
    /// Mean of the replicas' median latency, ms.
    pub p50_ms: f64,
    /// Failed requests over finished ones, all replicas.
    pub error_rate: f64,
    /// Sum of the replicas' converged limits.
    pub limit_sum: Option<usize>,
    /// The slowest replica's ok/s over the fastest's (1.0 = perfectly even).
    pub fairness: f64,
    /// Per replica.
    pub replicas: Vec<ReplicaFigures>,
}

/// Runs `clients` closed-loop clients split evenly over `replicas` for `warmup + duration`,
/// sampling each replica's limit every 200 ms.
pub async fn run_replicas(
    label: impl Into<String>,
    fixed_total: Option<usize>,
    replicas: &[Replica],
    mix: &QueryMix,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<RunResult> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let samplers: Vec<_> = replicas
        .iter()
        .map(|r| {
            LimitSeries::sample(
                r.engine.clone(),
                Duration::from_millis(200),
                stop_rx.clone(),
            )
        })
        .collect();
    let per_replica = (clients / replicas.len()).max(1);
    let loads: Vec<_> = replicas
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut config = LoadConfig::new(r.graphql_url(), mix.clone());
            config.clients = per_replica;
            config.warmup = warmup;
            config.duration = duration;
            config.timeout = Duration::from_secs(15);
            config.seed = 1 + i as u64;
            tokio::spawn(run(config))
        })
        .collect();
    let mut reports: Vec<LoadReport> = Vec::new();
    for load in loads {
        reports.push(load.await??);
    }
    let _ = stop_tx.send(true);
    let mut figures = Vec::new();
    let settle_from = warmup.as_secs_f64() + duration.as_secs_f64() / 2.0;
    for ((replica, report), sampler) in replicas.iter().zip(&reports).zip(samplers) {
        let limits = sampler.await?;
        // One snapshot for all the engine's figures: they describe the same moment.
        let snapshot = replica.engine.snapshot();
        figures.push(ReplicaFigures {
            name: replica.name.clone(),
            ok_per_s: report.ok_per_s,
            p99_ms: report.latency.p99_ms,
            error_rate: report.error_rate,
            overloaded: report.overloaded,
            converged_limit: converged_limit(&limits, settle_from),
            limits,
            changes: snapshot
                .limit_history
                .into_iter()
                .filter(|p| p.reason != "steady")
                .map(|p| (p.t_s, p.limit, p.reason))
                .collect(),
            fleet_others: snapshot.fleet_others,
            keys_per_s: snapshot.total.keys_per_s,
        });
    }
    let ok_per_s = figures.iter().map(|f| f.ok_per_s).sum();
    let finished: u64 = reports
        .iter()
        .map(|r| r.answered + r.transport_errors + r.timeouts)
        .sum();
    let failed: u64 = reports
        .iter()
        .map(|r| r.error_requests + r.transport_errors + r.timeouts)
        .sum();
    let (min_ok, max_ok) = figures.iter().fold((f64::MAX, 0.0_f64), |(lo, hi), f| {
        (lo.min(f.ok_per_s), hi.max(f.ok_per_s))
    });
    Ok(RunResult {
        label: label.into(),
        fixed_total,
        ok_per_s,
        p99_ms: reports.iter().map(|r| r.latency.p99_ms).fold(0.0, f64::max),
        p50_ms: reports.iter().map(|r| r.latency.p50_ms).sum::<f64>() / reports.len() as f64,
        error_rate: if finished == 0 {
            0.0
        } else {
            failed as f64 / finished as f64
        },
        limit_sum: figures.iter().map(|f| f.converged_limit).sum(),
        fairness: if max_ok > 0.0 { min_ok / max_ok } else { 0.0 },
        replicas: figures,
    })
}
