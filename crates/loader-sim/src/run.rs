//! One simulation run: the real engine, the simulated backend and the load, on tokio's
//! paused clock, sampled every 100 ms.

use std::{sync::Arc, time::Duration};

use indicatif::ProgressBar;
use loader_core::{
    Engine,
    limit::{FleetView, ScalingStrategy, StrategyConfig, StrategyKind},
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::{
    Scenario, SimError,
    analysis::{self, LimitStats, Sample},
    backend::SimBackend,
    load::{self, Traffic},
    recorder::{Counts, Latency, Recorder},
};

/// Simulated time between two samples.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// How often each replica of a fleet learns how many others there are and the permits they
/// hold: the server's default `LOADER_FLEET_SYNC_MS`.
pub const FLEET_SYNC: Duration = Duration::from_millis(250);

/// Simulated time allowed, after the load stopped and every request ended, for the engine
/// to finish its in-flight batch calls.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The engine's scaling strategy (`Fixed(Some(n))` for a fixed limit).
    pub strategy: StrategyKind,
    /// A strategy built by the caller instead of `strategy` (a tuned or scheduled one). By
    /// default, this is `None`.
    pub custom: Option<CustomStrategy>,
    /// Overrides the engine's `initial_concurrency` (clamped to its bounds).
    pub initial_limit: Option<usize>,
    /// Advanced by 100 per simulated 100 ms (one unit per simulated millisecond).
    pub progress: ProgressBar,
}

impl RunOptions {
    /// Runs `strategy` with the scenario's engine settings and no progress bar.
    pub fn new(strategy: StrategyKind) -> Self {
        Self {
            strategy,
            custom: None,
            initial_limit: None,
            progress: ProgressBar::hidden(),
        }
    }

    /// Runs the strategy `custom` builds, with the scenario's engine settings and no
    /// progress bar.
    pub fn custom(custom: CustomStrategy) -> Self {
        Self {
            custom: Some(custom),
            ..Self::new(StrategyKind::Adaptive)
        }
    }
}

/// Builds a strategy instance for each run, from the engine's bounds.
pub type BuildStrategy = dyn Fn(StrategyConfig) -> Box<dyn ScalingStrategy> + Send + Sync;

/// A strategy built by the caller, and its name in reports.
#[derive(Clone)]
pub struct CustomStrategy {
    /// The name reports show (`adaptive[probe=false]`, `oracle`, ...).
    pub label: String,
    /// Builds one instance per run.
    pub build: Arc<BuildStrategy>,
}

impl std::fmt::Debug for CustomStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomStrategy")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Every figure of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Strategy as configured (`adaptive`, `fixed:32`, ...).
    pub strategy: String,
    /// Simulated seconds of offered load.
    pub duration_s: f64,
    /// Seconds excluded from steady-state figures.
    pub warmup_s: f64,
    /// Request counts over the whole run.
    pub counts: Counts,
    /// `ok + errors`: requests that got a response.
    pub answered: u64,
    /// `issued - answered - refused - timed_out`; 0 when nothing was lost.
    pub unaccounted: i64,
    /// Keys served per second in steady state (after warm-up).
    pub keys_per_s: f64,
    /// Requests answered with values per second in steady state.
    pub ok_per_s: f64,
    /// Latency of requests answered with values in steady state.
    pub latency: Latency,
    /// The limit in steady state (summed over the replicas of a fleet).
    pub limit: LimitStats,
    /// Engine bounds `[min_concurrency, max_concurrency]` (of each replica).
    pub limit_bounds: (usize, usize),
    /// Replicas sharing the backend, each with its own engine (1 without a fleet).
    #[serde(default = "crate::scenario::one_replica")]
    pub replicas: usize,
    /// Every sampled limit lay within the bounds (times the replicas).
    pub limit_in_bounds: bool,
    /// Seconds after the last capacity change until the limit stays within 20% of the new
    /// capacity; `None` when the capacity never changes.
    pub reconverge_s: Option<f64>,
    /// Whether the limit was within 20% of the capacity at the end (`None`: no change).
    pub reconverged: Option<bool>,
    /// Seconds after the last capacity change until the limit is first within 20% of the new
    /// capacity (it may leave the band again later); `None`: no change, or never.
    pub first_in_band_s: Option<f64>,
    /// Share of the samples after the last capacity change with the limit within 20% of the
    /// new capacity; `None`: no change.
    pub in_band_share: Option<f64>,
    /// The engine had no batch in flight and no load queued after the drain.
    pub engine_idle_at_end: bool,
    /// Batch calls the backend received.
    pub backend_calls: u64,
    /// Wall-clock seconds the run took.
    pub real_time_s: f64,
    /// One sample per 100 ms.
    pub samples: Vec<Sample>,
    /// The engine's own snapshot at the end of the run (the first replica's).
    pub engine_snapshot: Option<serde_json::Value>,
    /// In a fleet, the other replicas' snapshots at the end of the run, in replica order
    /// (each with its `limit_history`: every change of its limit and why); empty for one
    /// engine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_snapshots: Vec<serde_json::Value>,
    /// Latency of requests answered at or after each scenario change time.
    pub latency_after_changes: Vec<(f64, Latency)>,
    /// Latency of requests answered in each steady capacity segment: from the warm-up (or
    /// [`analysis::SETTLE_S`] after a capacity change, the transient being judged by the
    /// reconvergence target) to the next capacity change (or the end). Empty when the
    /// capacity never changes after the warm-up.
    #[serde(default)]
    pub capacity_segments: Vec<Segment>,
    /// Latency of requests answered in the steady part of each phase (see
    /// [`Phase`](crate::Phase)), one entry per phase, empty for a phase without a steady
    /// part.
    #[serde(default)]
    pub phase_latency: Vec<Segment>,
}

/// The latency of the requests answered between two times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start (seconds).
    pub from_s: f64,
    /// End (seconds).
    pub to_s: f64,
    /// Latency of the requests answered with values in `[from_s, to_s)`.
    pub latency: Latency,
}

impl RunReport {
    /// The request accounting, printed by every report:
    /// `issued 100 = answered 90 + refused 6 + timed out 4 (ok)`.
    pub fn accounting(&self) -> String {
        let c = &self.counts;
        format!(
            "issued {} = answered {} (ok {}, errors {}) + refused {} + timed out {}: {}",
            c.issued,
            self.answered,
            c.ok,
            c.errors,
            c.refused,
            c.timed_out,
            if self.unaccounted == 0 && c.missing_keys == 0 {
                "nothing lost".to_string()
            } else {
                format!(
                    "LOST {} requests, {} keys missing from answers",
                    self.unaccounted, c.missing_keys
                )
            }
        )
    }

    /// Latency of requests answered after change time `t_s`, if it is a change time.
    pub fn latency_after(&self, t_s: f64) -> Option<Latency> {
        self.latency_after_changes
            .iter()
            .find(|(t, _)| *t == t_s)
            .map(|(_, l)| *l)
    }
}

/// Runs one simulation on its own single-threaded runtime with paused time (a 40 s
/// scenario takes a few seconds of real time).
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, SimError> {
    scenario.validate()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(SimError::Runtime)?;
    let real_start = std::time::Instant::now();
    let mut report = runtime.block_on(simulate(scenario, options))?;
    report.real_time_s = real_start.elapsed().as_secs_f64();
    Ok(report)
}

async fn simulate(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, SimError> {
    let mut config = scenario.engine_config();
    config.scaling_strategy = options.strategy;
    if let Some(n) = options.initial_limit {
        config.initial_concurrency = n.clamp(config.min_concurrency, config.max_concurrency);
    }
    let bounds = (config.min_concurrency, config.max_concurrency);
    let replicas = scenario.replicas.max(1);
    let mut engines = Vec::with_capacity(replicas);
    for _ in 0..replicas {
        let mut builder = Engine::builder().local_load_probe(Arc::new(|| 0.0));
        if let Some(custom) = &options.custom {
            builder = builder.strategy((custom.build)(config.strategy_config()));
        }
        engines.push(builder.config(config.clone()).build()?);
    }
    let engines = Arc::new(engines);
    // A fleet: every replica hears of the others before the load starts (a cold start takes
    // its share of the initial limit), then every `FLEET_SYNC`.
    let sync_task = (replicas > 1).then(|| {
        tell_fleet(&engines);
        let engines = engines.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLEET_SYNC);
            tick.tick().await;
            loop {
                tick.tick().await;
                tell_fleet(&engines);
            }
        })
    });
    let limit = || engines.iter().map(Engine::limit).sum::<usize>();
    let in_flight = || engines.iter().map(Engine::in_flight).sum::<usize>();
    let queued = || engines.iter().map(Engine::queued).sum::<usize>();

    let start = Instant::now();
    let changes = scenario.change_times();
    let costs: Vec<_> = scenario.groups.iter().map(|g| g.cost.clone()).collect();
    let backend = SimBackend::spawn(
        &scenario.backend,
        &costs,
        scenario.seed,
        scenario.duration_s + 1.0,
        start,
    );
    let batch = Arc::new(backend.batch_fn());
    let batches = if scenario.groups.is_empty() {
        vec![batch.clone()]
    } else {
        (0..scenario.groups.len())
            .map(|i| Arc::new(backend.group_batch_fn(i, &scenario.groups[i].name)))
            .collect()
    };
    let phases = crate::phase::phases(scenario);
    // Marks: every change, the end of each change's transient (the steady segments of
    // `capacity_segments` and of the phases start there).
    let mut marks: Vec<f64> = changes
        .iter()
        .copied()
        .chain(changes.iter().map(|t| t + analysis::SETTLE_S))
        .chain(
            phases
                .iter()
                .filter_map(|p| p.steady().map(|(from, _)| from)),
        )
        .collect();
    marks.sort_by(f64::total_cmp);
    marks.dedup();
    let recorder = Arc::new(Recorder::new(scenario.warmup_s, &marks));
    let traffic = Arc::new(Traffic {
        engines: engines.to_vec(),
        batches,
        groups: scenario.groups.clone(),
        recorder: recorder.clone(),
        spec: scenario.load.clone(),
        start,
        duration_s: scenario.duration_s,
    });
    let load_task = tokio::spawn(load::drive(traffic, scenario.seed));

    let n_samples = (scenario.duration_s / SAMPLE_INTERVAL.as_secs_f64()).round() as u32;
    let mut samples = Vec::with_capacity(n_samples as usize);
    let (mut calls_before, mut keys_before) = (0, 0);
    for k in 1..=n_samples {
        tokio::time::sleep_until(start + SAMPLE_INTERVAL * k).await;
        let t_s = (SAMPLE_INTERVAL * k).as_secs_f64();
        let interval = recorder.take_interval();
        let c = interval.counts;
        let (calls, keys) = (batch.calls(), batch.keys());
        let (interval_calls, interval_keys) = (calls - calls_before, keys - keys_before);
        (calls_before, keys_before) = (calls, keys);
        samples.push(Sample {
            t_s,
            capacity: scenario.backend.capacity.at(t_s),
            limit: limit(),
            in_flight: in_flight(),
            backend_in_flight: batch.in_flight(),
            queued: queued(),
            calls: interval_calls,
            mean_batch: if interval_calls == 0 {
                0.0
            } else {
                interval_keys as f64 / interval_calls as f64
            },
            issued: c.issued,
            ok: c.ok,
            refused: c.refused,
            timed_out: c.timed_out,
            errors: c.errors,
            keys_per_s: c.keys_ok as f64 / SAMPLE_INTERVAL.as_secs_f64(),
            p50_ms: interval.p50_ms,
            p99_ms: interval.p99_ms,
            limits: if engines.len() > 1 {
                engines.iter().map(Engine::limit).collect()
            } else {
                Vec::new()
            },
        });
        options.progress.inc(SAMPLE_INTERVAL.as_millis() as u64);
    }
    // The load stops at `duration_s`; every request ends within its timeout.
    let _ = load_task.await;
    let drain_end = Instant::now() + DRAIN_LIMIT;
    while (in_flight() > 0 || queued() > 0) && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    if let Some(task) = sync_task {
        task.abort();
    }
    let engine_idle_at_end = in_flight() == 0 && queued() == 0;
    let engine_snapshot = serde_json::to_value(engines[0].snapshot()).ok();
    let replica_snapshots = engines[1..]
        .iter()
        .filter_map(|e| serde_json::to_value(e.snapshot()).ok())
        .collect();

    let counts = recorder.totals();
    let (warmup, end) = (scenario.warmup_s, scenario.duration_s);
    let steady_s = end - warmup;
    let cap_changes = scenario.backend.capacity.changes();
    let (mut reconverge_s, mut reconverged, mut first_in_band_s, mut in_band_share) =
        (None, None, None, None);
    if let Some(&tc) = cap_changes.last() {
        let target = scenario.backend.capacity.at(tc);
        let in_band = |s: &Sample| (s.limit as f64 - target).abs() <= 0.2 * target;
        let settle = analysis::settle_time(&samples, tc, in_band);
        reconverge_s = Some(settle.seconds);
        reconverged = Some(settle.settled);
        let after: Vec<&Sample> = analysis::window(&samples, tc, end).collect();
        first_in_band_s = after.iter().find(|s| in_band(s)).map(|s| s.t_s - tc);
        in_band_share =
            Some(after.iter().filter(|s| in_band(s)).count() as f64 / after.len().max(1) as f64);
    }
    let ok_in_steady: u64 = analysis::window(&samples, warmup, end).map(|s| s.ok).sum();
    let phase_latency = phases
        .iter()
        .filter_map(|p| p.steady())
        .map(|(from_s, to_s)| Segment {
            from_s,
            to_s,
            latency: recorder.latency_between(from_s, (to_s < end).then_some(to_s)),
        })
        .collect();
    Ok(RunReport {
        scenario: scenario.name.clone(),
        strategy: options
            .custom
            .as_ref()
            .map_or_else(|| options.strategy.to_string(), |c| c.label.clone()),
        duration_s: end,
        warmup_s: warmup,
        counts,
        answered: counts.answered(),
        unaccounted: counts.unaccounted(),
        keys_per_s: analysis::keys_per_s(&samples, warmup, end),
        ok_per_s: ok_in_steady as f64 / steady_s,
        latency: recorder.steady_latency(),
        limit: analysis::limit_stats(&samples, warmup, end, &changes),
        limit_bounds: bounds,
        replicas,
        limit_in_bounds: samples
            .iter()
            .all(|s| (bounds.0 * replicas..=bounds.1 * replicas).contains(&s.limit)),
        reconverge_s,
        reconverged,
        first_in_band_s,
        in_band_share,
        engine_idle_at_end,
        backend_calls: batch.calls(),
        real_time_s: 0.0,
        samples,
        engine_snapshot,
        replica_snapshots,
        latency_after_changes: changes
            .iter()
            .map(|&t| (t, recorder.latency_after(t)))
            .collect(),
        capacity_segments: capacity_segments(&recorder, warmup, end, &cap_changes),
        phase_latency,
    })
}

/// Tells every replica of a fleet how many others share the backend and the permits they
/// hold, as the server's replicas do through the database.
fn tell_fleet(engines: &[Engine]) {
    let limits: Vec<usize> = engines.iter().map(Engine::limit).collect();
    let total: usize = limits.iter().sum();
    for (engine, own) in engines.iter().zip(&limits) {
        engine.set_fleet(FleetView {
            replicas: engines.len() - 1,
            others_permits: total - own,
        });
    }
}

/// The steady state cut at every capacity change (see [`RunReport::capacity_segments`]).
fn capacity_segments(recorder: &Recorder, warmup: f64, end: f64, changes: &[f64]) -> Vec<Segment> {
    let cuts: Vec<f64> = changes
        .iter()
        .copied()
        .filter(|&t| t > warmup && t < end)
        .collect();
    if cuts.is_empty() {
        return Vec::new();
    }
    let starts = std::iter::once(warmup).chain(cuts.iter().map(|&t| t + analysis::SETTLE_S));
    let ends = cuts.iter().copied().map(Some).chain(std::iter::once(None));
    starts
        .zip(ends)
        .map(|(from_s, to_s)| Segment {
            from_s,
            to_s: to_s.unwrap_or(end),
            latency: recorder.latency_between(from_s, to_s),
        })
        .collect()
}
