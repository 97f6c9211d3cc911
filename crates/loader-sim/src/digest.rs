//! The figures of one run that the evaluation compares, small enough to cache on disk.

use serde::{Deserialize, Serialize};

use crate::{Counts, Phase, RunReport, analysis};

/// One 100 ms sample, reduced to what the evaluation reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// End of the interval, s.
    pub t_s: f64,
    /// The limit at `t_s`.
    pub limit: usize,
    /// Goodput over the interval, keys/s.
    pub keys_per_s: f64,
}

/// A phase's steady part as one run saw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseFigures {
    /// The phase's index.
    pub index: usize,
    /// The steady part, s.
    pub from_s: f64,
    /// End of the steady part, s.
    pub to_s: f64,
    /// Goodput over the steady part, keys/s.
    pub keys_per_s: f64,
    /// p99 latency of the requests answered with values in the steady part, ms.
    pub p99_ms: f64,
    /// Requests answered with values in the steady part.
    pub ok: u64,
    /// Mean of the sampled limit over the steady part.
    pub limit_mean: f64,
    /// Standard deviation over mean of the sampled limit over the steady part.
    pub limit_cv: f64,
}

/// What the evaluation keeps of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDigest {
    /// The strategy's label.
    pub strategy: String,
    /// Request counts over the whole run.
    pub counts: Counts,
    /// `issued - answered - refused - timed_out`.
    pub unaccounted: i64,
    /// The engine had nothing in flight or queued after the drain.
    pub engine_idle_at_end: bool,
    /// Every sampled limit lay within the engine's bounds.
    pub limit_in_bounds: bool,
    /// Goodput after the warm-up, keys/s.
    pub keys_per_s: f64,
    /// Every phase's steady part (phases without one are absent).
    pub phases: Vec<PhaseFigures>,
    /// The samples.
    pub points: Vec<Point>,
    /// Wall-clock seconds the run took.
    pub real_time_s: f64,
    /// Replicas of the engine that ran (a fleet's limits in `points` and `phases` are the
    /// sum of theirs).
    #[serde(default = "one")]
    pub replicas: usize,
}

/// Digests written before `replicas` existed: one engine.
fn one() -> usize {
    1
}

impl RunDigest {
    /// Reduces `run`, whose scenario has `phases`.
    pub fn new(run: &RunReport, phases: &[Phase]) -> Self {
        let figures = phases
            .iter()
            .filter_map(|p| {
                let (from_s, to_s) = p.steady()?;
                let seg = run
                    .phase_latency
                    .iter()
                    .find(|s| s.from_s == from_s && s.to_s == to_s);
                let limits: Vec<f64> = analysis::window(&run.samples, from_s, to_s)
                    .map(|s| s.limit as f64)
                    .collect();
                let (limit_mean, limit_cv) = mean_cv(&limits);
                Some(PhaseFigures {
                    index: p.index,
                    from_s,
                    to_s,
                    keys_per_s: analysis::keys_per_s(&run.samples, from_s, to_s),
                    p99_ms: seg.map_or(0.0, |s| s.latency.p99_ms),
                    ok: seg.map_or(0, |s| s.latency.count),
                    limit_mean,
                    limit_cv,
                })
            })
            .collect();
        Self {
            strategy: run.strategy.clone(),
            counts: run.counts,
            unaccounted: run.unaccounted,
            engine_idle_at_end: run.engine_idle_at_end,
            limit_in_bounds: run.limit_in_bounds,
            keys_per_s: run.keys_per_s,
            phases: figures,
            points: run
                .samples
                .iter()
                .map(|s| Point {
                    t_s: s.t_s,
                    limit: s.limit,
                    keys_per_s: s.keys_per_s,
                })
                .collect(),
            real_time_s: run.real_time_s,
            replicas: run.replicas.max(1),
        }
    }

    /// Every request accounted for exactly once, no key missing from an answer, the engine
    /// idle at the end, the limit within its bounds: `Err` says what went wrong.
    pub fn nothing_lost(&self) -> Result<(), String> {
        let c = &self.counts;
        let mut wrong = Vec::new();
        if self.unaccounted != 0 {
            wrong.push(format!(
                "{} requests unaccounted for (issued {} != answered {} + refused {} + timed out {})",
                self.unaccounted,
                c.issued,
                c.answered(),
                c.refused,
                c.timed_out
            ));
        }
        if c.missing_keys != 0 {
            wrong.push(format!("{} keys missing from answers", c.missing_keys));
        }
        if !self.engine_idle_at_end {
            wrong.push("engine not idle after the drain".into());
        }
        if !self.limit_in_bounds {
            wrong.push("limit outside its bounds".into());
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    }

    /// The steady figures of phase `index`, if it has a steady part.
    pub fn phase(&self, index: usize) -> Option<&PhaseFigures> {
        self.phases.iter().find(|p| p.index == index)
    }
}

/// Mean and coefficient of variation (population standard deviation over mean; 0 for an
/// empty series or a zero mean).
pub fn mean_cv(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt() / mean)
}
