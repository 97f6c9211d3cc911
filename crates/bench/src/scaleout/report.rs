//! [`ScaleoutReport`]: every figure of the experiment, printed as tables and saved as JSON.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{JoinResult, RunResult};

/// The whole experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleoutReport {
    /// PostgreSQL's CPU cap in cores (`--db-cpu`), if any.
    #[serde(default)]
    pub db_cpu: Option<f64>,
    /// How long the capped database was throttled over the whole experiment (s).
    #[serde(default)]
    pub db_throttled_s: Option<f64>,
    /// Replicas sharing the database.
    pub replicas: usize,
    /// Clients in total.
    pub clients: usize,
    /// Measured seconds per run.
    pub duration_s: f64,
    /// Rows of the data set (users, posts, comments).
    pub data_set: (u64, u64, u64),
    /// An adaptive run before the sweep (every replica adaptive, saving learned state).
    pub adaptive_first: RunResult,
    /// The adaptive run after the sweep (its replicas stay up for the joins).
    pub adaptive: RunResult,
    /// Adaptive replicas that do not exchange their limits (each judges by its own
    /// goodput), measured last.
    #[serde(default)]
    pub without_fleet_sync: Option<RunResult>,
    /// How often the adaptive runs above exchanged limits (s), if they did.
    #[serde(default)]
    pub fleet_sync_s: Option<f64>,
    /// The fixed-limit sweep, by total.
    pub fixed: Vec<RunResult>,
    /// The best fixed run's total (highest ok/s).
    pub best_fixed_total: Option<usize>,
    /// A replica joining cold, then one joining warm.
    pub joins: Vec<JoinResult>,
}

/// The fixed run with the highest ok/s.
///
/// ```
/// # use bench::scaleout::{RunResult, best_fixed};
/// let run = |total, ok| RunResult { label: String::new(), fixed_total: Some(total), ok_per_s: ok,
///     p99_ms: 0.0, p50_ms: 0.0, error_rate: 0.0, limit_sum: None, fairness: 1.0, replicas: vec![] };
/// let runs = [run(6, 100.0), run(12, 180.0), run(24, 170.0)];
/// assert_eq!(best_fixed(&runs).and_then(|r| r.fixed_total), Some(12));
/// ```
pub fn best_fixed(runs: &[RunResult]) -> Option<&RunResult> {
    runs.iter().max_by(|a, b| a.ok_per_s.total_cmp(&b.ok_per_s))
}

fn run_row(f: &mut fmt::Formatter<'_>, run: &RunResult) -> fmt::Result {
    let limits: Vec<String> = run
        .replicas
        .iter()
        .map(|r| r.converged_limit.map_or("-".into(), |l| l.to_string()))
        .collect();
    writeln!(
        f,
        "| {:<22} | {:>8.1} | {:>7.1} | {:>7.1} | {:>6.2}% | {:>9} | {:>9} | {:>8.2} |",
        run.label,
        run.ok_per_s,
        run.p50_ms,
        run.p99_ms,
        run.error_rate * 100.0,
        limits.join("/"),
        run.limit_sum.map_or("-".into(), |s| s.to_string()),
        run.fairness
    )
}

impl fmt::Display for ScaleoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} replicas, {} clients in total, {:.0} s measured per run; data: {} users, {} posts, {} comments",
            self.replicas,
            self.clients,
            self.duration_s,
            self.data_set.0,
            self.data_set.1,
            self.data_set.2
        )?;
        if let Some(cores) = self.db_cpu {
            writeln!(
                f,
                "PostgreSQL capped at {cores} CPU (throttled {} s in all)",
                self.db_throttled_s
                    .map_or("?".into(), |s| format!("{s:.1}"))
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "| run                    |     ok/s | p50 ms  | p99 ms  | errors  | limits    | limit sum | fairness |"
        )?;
        writeln!(
            f,
            "|------------------------|----------|---------|---------|---------|-----------|-----------|----------|"
        )?;
        run_row(f, &self.adaptive_first)?;
        run_row(f, &self.adaptive)?;
        if let Some(run) = &self.without_fleet_sync {
            run_row(f, run)?;
        }
        for run in &self.fixed {
            run_row(f, run)?;
        }
        if let Some(best) = self.best_fixed_total {
            writeln!(f)?;
            writeln!(
                f,
                "best fixed total: {best}; adaptive replicas' converged limits sum to {}",
                self.adaptive
                    .limit_sum
                    .map_or("-".into(), |s| s.to_string())
            )?;
        }
        if !self.joins.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "| joining replica | start limit | limit at 0.5/1/2/3/5 s | reaches {:>3} at | ok/s per second | p99 ms | startup ms |",
                self.joins[0].target
            )?;
            writeln!(
                f,
                "|-----------------|-------------|------------------------|----------------|-----------------|--------|------------|"
            )?;
            for join in &self.joins {
                let at: Vec<String> = [0.5, 1.0, 2.0, 3.0, 5.0]
                    .iter()
                    .map(|t| join.limits.at(*t).map_or("-".into(), |l| l.to_string()))
                    .collect();
                let ok: Vec<String> = join.ok_per_second.iter().map(u64::to_string).collect();
                writeln!(
                    f,
                    "| {:<15} | {:>11} | {:>22} | {:>14} | {:<15} | {:>6.1} | {:>10.0} |",
                    join.label,
                    join.start_limit,
                    at.join("/"),
                    join.time_to_target_s
                        .map_or("never".into(), |t| format!("{t:.1} s")),
                    ok.join(" "),
                    join.p99_ms,
                    join.startup_ms
                )?;
            }
        }
        Ok(())
    }
}
