//! `--sweep`: find the best fixed limit (the oracle), then run every strategy and compare.

use std::sync::{
    Mutex,
    atomic::{AtomicUsize, Ordering},
};

use indicatif::ProgressBar;
use loader_core::limit::StrategyKind;
use serde::{Deserialize, Serialize};

use crate::{
    RunOptions, RunReport, Scenario, SimError, run,
    targets::{self, TargetCheck},
};

/// How to sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Runs executed at once, each on its own thread and runtime.
    pub jobs: usize,
    /// Advanced by one unit per simulated millisecond of every run.
    pub progress: ProgressBar,
}

/// One point of the fixed-limit sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixedPoint {
    /// The fixed limit.
    pub limit: usize,
    /// Steady-state keys/s.
    pub keys_per_s: f64,
    /// Steady-state p99, ms.
    pub p99_ms: f64,
}

/// One strategy's figures next to the oracle's (the fields other tools read).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StrategyRow {
    /// `adaptive`, `aimd`, `vegas`, `gradient2`, `fixed:N`.
    pub strategy: String,
    /// `oracle` (best fixed limit), `initial` (fixed at `initial_concurrency`), `max` (fixed at
    /// `max_concurrency`), or empty.
    pub role: String,
    /// Steady-state keys/s.
    pub keys_per_s: f64,
    /// `keys_per_s` over the oracle's.
    pub oracle_ratio: f64,
    /// Steady-state median request latency, ms.
    pub p50_ms: f64,
    /// Steady-state 99th percentile request latency, ms.
    pub p99_ms: f64,
    /// `p99_ms` over the oracle's.
    pub oracle_p99_ratio: f64,
    /// Requests issued.
    pub issued: u64,
    /// Requests that got a response (values or error).
    pub answered: u64,
    /// Requests refused with `Overloaded`.
    pub refused: u64,
    /// Requests not answered in time.
    pub timed_out: u64,
    /// Requests answered with an error.
    pub errors: u64,
    /// `issued == answered + refused + timed_out` and no key missing from an answer.
    pub nothing_lost: bool,
    /// Mean limit in steady state.
    pub limit_mean: f64,
    /// Limit std-dev over mean in steady state.
    pub limit_cv: f64,
    /// Seconds after the last capacity change until the limit stays within 20% of the new
    /// capacity; `null` when the capacity never changes.
    pub reconverge_s: Option<f64>,
    /// Whether the limit ended within 20% of the new capacity (`null`: no change).
    pub reconverged: Option<bool>,
    /// Issue 3's targets for this run.
    pub targets: Vec<TargetCheck>,
    /// Every figure of the run, samples included.
    pub run: RunReport,
}

/// The result of `--sweep`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    /// Scenario name.
    pub scenario: String,
    /// The fixed limit with the best steady-state keys/s.
    pub oracle_limit: usize,
    /// Every fixed limit tried, by limit.
    pub fixed_sweep: Vec<FixedPoint>,
    /// adaptive, aimd, vegas, gradient2, fixed at initial, fixed at max, oracle.
    pub strategies: Vec<StrategyRow>,
    /// Issue 3's targets for `adaptive`.
    pub targets: Vec<TargetCheck>,
}

impl SweepReport {
    /// The row of `strategy` (e.g. `"adaptive"`).
    pub fn row(&self, strategy: &str) -> Option<&StrategyRow> {
        self.strategies.iter().find(|r| r.strategy == strategy)
    }

    /// The oracle's row.
    pub fn oracle(&self) -> &StrategyRow {
        self.strategies
            .iter()
            .find(|r| r.role == "oracle")
            .expect("a sweep always has an oracle row")
    }
}

/// Runs each strategy of `kinds` on `scenario`, `jobs` at a time.
pub fn run_many(
    scenario: &Scenario,
    kinds: &[StrategyKind],
    jobs: usize,
    progress: &ProgressBar,
) -> Result<Vec<RunReport>, SimError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<RunReport, SimError>>>> =
        Mutex::new((0..kinds.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, kinds.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&kind) = kinds.get(i) else { break };
                    let options = RunOptions {
                        strategy: kind,
                        custom: None,
                        initial_limit: None,
                        progress: progress.clone(),
                    };
                    let result = run(scenario, &options);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every run was executed"))
        .collect()
}

/// Limits of the coarse pass: powers of two within the bounds, plus both bounds and the
/// initial limit.
pub fn coarse_limits(min: usize, initial: usize, max: usize) -> Vec<usize> {
    let mut limits: Vec<usize> = std::iter::successors(Some(1usize), |n| n.checked_mul(2))
        .take_while(|n| *n <= max)
        .filter(|n| *n >= min)
        .collect();
    limits.extend([min, initial, max]);
    limits.sort_unstable();
    limits.dedup();
    limits
}

/// Limits of the fine pass around the coarse optimum `best`: steps of `best / 8` from
/// `best - 3 steps` to `best + 4 steps`, within the bounds, minus those already tried.
pub fn fine_limits(best: usize, min: usize, max: usize, tried: &[usize]) -> Vec<usize> {
    let step = (best / 8).max(1) as i64;
    (-3..=4)
        .map(|i| best as i64 + i * step)
        .filter(|n| *n >= min as i64 && *n <= max as i64)
        .map(|n| n as usize)
        .filter(|n| !tried.contains(n))
        .collect()
}

/// Share of the best keys/s within which a smaller limit is preferred as the oracle.
pub const ORACLE_TOLERANCE: f64 = 0.005;

/// The oracle among `(limit, keys/s)` points: the smallest limit whose keys/s is within
/// [`ORACLE_TOLERANCE`] of the best (when the limit does not bind, every large limit ties,
/// and the smallest one that reaches the plateau is the meaningful optimum).
pub fn oracle_of(points: impl IntoIterator<Item = (usize, f64)>) -> usize {
    let mut points: Vec<(usize, f64)> = points.into_iter().collect();
    points.sort_by_key(|(n, _)| *n);
    let best = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    points
        .iter()
        .find(|(_, k)| *k >= best * (1.0 - ORACLE_TOLERANCE))
        .map_or(1, |(n, _)| *n)
}

/// Sweeps fixed limits to find the oracle, runs every other strategy, and compares.
pub fn sweep(scenario: &Scenario, options: &SweepOptions) -> Result<SweepReport, SimError> {
    let cfg = scenario.engine_config();
    let per_run = (scenario.duration_s * 1000.0) as u64;
    let progress = &options.progress;
    let fixed_run = |limits: &[usize]| -> Result<Vec<RunReport>, SimError> {
        progress.inc_length(per_run * limits.len() as u64);
        let kinds: Vec<StrategyKind> = limits
            .iter()
            .map(|&n| StrategyKind::Fixed(Some(n)))
            .collect();
        run_many(scenario, &kinds, options.jobs, progress)
    };

    let coarse = coarse_limits(
        cfg.min_concurrency,
        cfg.initial_concurrency,
        cfg.max_concurrency,
    );
    let mut fixed: Vec<(usize, RunReport)> =
        coarse.iter().copied().zip(fixed_run(&coarse)?).collect();
    let best_of =
        |fixed: &[(usize, RunReport)]| oracle_of(fixed.iter().map(|(n, r)| (*n, r.keys_per_s)));
    let fine = fine_limits(
        best_of(&fixed),
        cfg.min_concurrency,
        cfg.max_concurrency,
        &coarse,
    );
    fixed.extend(fine.iter().copied().zip(fixed_run(&fine)?));
    fixed.sort_by_key(|(n, _)| *n);
    let oracle_limit = best_of(&fixed);

    let adaptive_kinds = [
        StrategyKind::Adaptive,
        StrategyKind::Aimd,
        StrategyKind::Vegas,
        StrategyKind::Gradient2,
    ];
    progress.inc_length(per_run * adaptive_kinds.len() as u64);
    let adaptive_runs = run_many(scenario, &adaptive_kinds, options.jobs, progress)?;

    let find_fixed = |n: usize| {
        fixed
            .iter()
            .find(|(m, _)| *m == n)
            .map(|(_, r)| r.clone())
            .expect("bounds and initial are in the coarse pass")
    };
    let oracle = find_fixed(oracle_limit);
    let mut runs: Vec<(String, RunReport)> = adaptive_runs
        .into_iter()
        .map(|r| (String::new(), r))
        .collect();
    runs.push(("initial".into(), find_fixed(cfg.initial_concurrency)));
    runs.push(("max".into(), find_fixed(cfg.max_concurrency)));
    runs.push(("oracle".into(), oracle.clone()));

    let strategies: Vec<StrategyRow> = runs
        .into_iter()
        .map(|(role, run)| row(scenario, role, run, &oracle))
        .collect();
    let targets = strategies
        .iter()
        .find(|r| r.strategy == "adaptive")
        .map(|r| r.targets.clone())
        .unwrap_or_default();
    Ok(SweepReport {
        scenario: scenario.name.clone(),
        oracle_limit,
        fixed_sweep: fixed
            .iter()
            .map(|(limit, r)| FixedPoint {
                limit: *limit,
                keys_per_s: r.keys_per_s,
                p99_ms: r.latency.p99_ms,
            })
            .collect(),
        strategies,
        targets,
    })
}

/// A strategy's row, compared with the oracle.
pub fn row(scenario: &Scenario, role: String, run: RunReport, oracle: &RunReport) -> StrategyRow {
    StrategyRow {
        strategy: run.strategy.clone(),
        role,
        keys_per_s: run.keys_per_s,
        oracle_ratio: run.keys_per_s / oracle.keys_per_s.max(1e-9),
        p50_ms: run.latency.p50_ms,
        p99_ms: run.latency.p99_ms,
        oracle_p99_ratio: run.latency.p99_ms / oracle.latency.p99_ms.max(1e-9),
        issued: run.counts.issued,
        answered: run.answered,
        refused: run.counts.refused,
        timed_out: run.counts.timed_out,
        errors: run.counts.errors,
        nothing_lost: run.unaccounted == 0 && run.counts.missing_keys == 0,
        limit_mean: run.limit.mean,
        limit_cv: run.limit.cv,
        reconverge_s: run.reconverge_s,
        reconverged: run.reconverged,
        targets: targets::evaluate(scenario, &run, Some(oracle)),
        run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_pass_covers_powers_of_two_and_the_bounds() {
        assert_eq!(
            coarse_limits(1, 4, 256),
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256]
        );
        assert_eq!(coarse_limits(3, 5, 20), vec![3, 4, 5, 8, 16, 20]);
    }

    #[test]
    fn oracle_is_the_smallest_limit_on_the_plateau() {
        assert_eq!(oracle_of([(8, 100.0), (16, 300.0), (32, 250.0)]), 16);
        assert_eq!(
            oracle_of([(256, 400.0), (8, 399.0), (4, 300.0), (16, 400.0)]),
            8
        );
    }

    #[test]
    fn fine_pass_brackets_the_coarse_best() {
        assert_eq!(
            fine_limits(32, 1, 256, &[16, 32, 64]),
            vec![20, 24, 28, 36, 40, 44, 48]
        );
        assert_eq!(fine_limits(2, 1, 256, &[1, 2, 4]), vec![3, 5, 6]);
        assert_eq!(fine_limits(256, 1, 256, &[128, 256]), vec![160, 192, 224]);
    }
}
