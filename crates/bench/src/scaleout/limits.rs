//! Limits over time: [`LimitSeries`] (sampled from running engines) and the pure figures
//! drawn from it.

use std::time::Duration;

use loader_core::Engine;
use serde::{Deserialize, Serialize};
use tokio::{sync::watch, task::JoinHandle, time::Instant};

/// `(seconds since the start, limit)` points of one engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitSeries {
    /// The samples, oldest first.
    pub points: Vec<(f64, usize)>,
}

impl LimitSeries {
    /// Samples `engine.limit()` every `every` until `stop` turns true.
    pub fn sample(
        engine: Engine,
        every: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<LimitSeries> {
        tokio::spawn(async move {
            let start = Instant::now();
            let mut series = LimitSeries::default();
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => series.points.push((start.elapsed().as_secs_f64(), engine.limit())),
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
            series
        })
    }

    /// The limit at `t_s` (the last sample at or before it).
    pub fn at(&self, t_s: f64) -> Option<usize> {
        self.points
            .iter()
            .take_while(|(t, _)| *t <= t_s)
            .last()
            .map(|(_, l)| *l)
    }
}

/// The median limit of the samples from `from_s` on: where the limit settled.
///
/// ```
/// use bench::scaleout::{LimitSeries, converged_limit};
/// let s = LimitSeries { points: vec![(0.0, 4), (1.0, 8), (2.0, 12), (3.0, 11), (4.0, 12)] };
/// assert_eq!(converged_limit(&s, 2.0), Some(12));
/// ```
pub fn converged_limit(series: &LimitSeries, from_s: f64) -> Option<usize> {
    let mut tail: Vec<usize> = series
        .points
        .iter()
        .filter(|(t, _)| *t >= from_s)
        .map(|(_, l)| *l)
        .collect();
    if tail.is_empty() {
        return None;
    }
    tail.sort_unstable();
    Some(tail[tail.len() / 2])
}

/// The first time the limit reached `target`, in seconds.
///
/// ```
/// use bench::scaleout::{LimitSeries, time_to_reach};
/// let s = LimitSeries { points: vec![(0.0, 4), (0.5, 6), (1.0, 9)] };
/// assert_eq!(time_to_reach(&s, 8), Some(1.0));
/// assert_eq!(time_to_reach(&s, 20), None);
/// ```
pub fn time_to_reach(series: &LimitSeries, target: usize) -> Option<f64> {
    series
        .points
        .iter()
        .find(|(_, l)| *l >= target)
        .map(|(t, _)| *t)
}
