//! Figures derived from the 100 ms samples of a run: steady-state means, limit stability,
//! settling times. Pure functions of the sample series.

use serde::{Deserialize, Serialize};

/// Seconds after a change excluded from the limit's steady-state spread (the transient).
pub const SETTLE_S: f64 = 3.0;

/// The state of the simulation at the end of one 100 ms interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// End of the interval, simulated seconds.
    pub t_s: f64,
    /// Backend capacity at `t_s`.
    pub capacity: f64,
    /// Engine concurrency limit at `t_s`.
    pub limit: usize,
    /// Batch calls in flight (engine's count) at `t_s`.
    pub in_flight: usize,
    /// Calls in service in the backend model at `t_s`.
    pub backend_in_flight: usize,
    /// Loads waiting in the engine at `t_s`.
    pub queued: usize,
    /// Batch calls the backend received during the interval.
    pub calls: u64,
    /// Mean keys per batch call received during the interval (0 without calls).
    pub mean_batch: f64,
    /// Requests issued during the interval.
    pub issued: u64,
    /// Requests answered with values during the interval.
    pub ok: u64,
    /// Requests refused (`Overloaded`) during the interval.
    pub refused: u64,
    /// Requests timed out during the interval.
    pub timed_out: u64,
    /// Requests answered with an error during the interval.
    pub errors: u64,
    /// Keys served per second over the interval.
    pub keys_per_s: f64,
    /// Median latency of requests answered in the interval, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of requests answered in the interval, ms.
    pub p99_ms: Option<f64>,
    /// In a fleet, each replica's limit at `t_s` (`limit` is their sum); empty for one
    /// engine. How the fleet splits its total: replicas whose clients share one backend
    /// evenly serve them best at even limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<usize>,
}

/// Samples whose interval ends in `(from_s, to_s]`.
pub fn window(samples: &[Sample], from_s: f64, to_s: f64) -> impl Iterator<Item = &Sample> {
    samples
        .iter()
        .filter(move |s| s.t_s > from_s + 1e-9 && s.t_s <= to_s + 1e-9)
}

/// Mean keys/s over `(from_s, to_s]`.
pub fn keys_per_s(samples: &[Sample], from_s: f64, to_s: f64) -> f64 {
    mean(window(samples, from_s, to_s).map(|s| s.keys_per_s))
}

/// Mean limit over `(from_s, to_s]`.
pub fn limit_mean(samples: &[Sample], from_s: f64, to_s: f64) -> f64 {
    mean(window(samples, from_s, to_s).map(|s| s.limit as f64))
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The limit's level and spread in steady state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitStats {
    /// Mean over the steady-state window.
    pub mean: f64,
    /// `cv * mean`.
    pub std_dev: f64,
    /// Std-dev over mean, within each steady segment, averaged weighted by length.
    pub cv: f64,
    /// Lowest limit in the steady-state window.
    pub min: usize,
    /// Highest limit in the steady-state window.
    pub max: usize,
}

/// Limit statistics after `warmup_s`. The spread is measured within *segments*: the steady
/// window is cut at every change time of the scenario, and the first [`SETTLE_S`] seconds
/// after each change are left out, so a limit that correctly follows a capacity step is not
/// counted as oscillating.
pub fn limit_stats(samples: &[Sample], warmup_s: f64, end_s: f64, changes: &[f64]) -> LimitStats {
    let steady: Vec<f64> = window(samples, warmup_s, end_s)
        .map(|s| s.limit as f64)
        .collect();
    if steady.is_empty() {
        return LimitStats::default();
    }
    let mean_all = mean(steady.iter().copied());
    let mut bounds = vec![warmup_s];
    bounds.extend(
        changes
            .iter()
            .copied()
            .filter(|c| *c > warmup_s && *c < end_s),
    );
    bounds.push(end_s);
    let (mut weighted, mut weight) = (0.0, 0.0);
    for (i, pair) in bounds.windows(2).enumerate() {
        let from = if i == 0 { pair[0] } else { pair[0] + SETTLE_S };
        let seg: Vec<f64> = window(samples, from, pair[1])
            .map(|s| s.limit as f64)
            .collect();
        if seg.len() < 2 {
            continue;
        }
        let m = mean(seg.iter().copied());
        let var = seg.iter().map(|v| (v - m).powi(2)).sum::<f64>() / seg.len() as f64;
        if m > 0.0 {
            weighted += var.sqrt() / m * seg.len() as f64;
            weight += seg.len() as f64;
        }
    }
    let cv = if weight > 0.0 { weighted / weight } else { 0.0 };
    LimitStats {
        mean: mean_all,
        std_dev: cv * mean_all,
        cv,
        min: steady.iter().copied().fold(f64::INFINITY, f64::min) as usize,
        max: steady.iter().copied().fold(0.0, f64::max) as usize,
    }
}

/// How long after `after_s` until every later sample satisfies `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settle {
    /// Seconds from `after_s` to the first sample from which `ok` holds to the end (when
    /// never settled: the time left in the run, a lower bound).
    pub seconds: f64,
    /// Whether `ok` held at the end of the run.
    pub settled: bool,
}

/// Time after `after_s` from which `ok` holds for every sample until the end.
pub fn settle_time(samples: &[Sample], after_s: f64, ok: impl Fn(&Sample) -> bool) -> Settle {
    let after: Vec<&Sample> = window(samples, after_s, f64::INFINITY).collect();
    let Some(last) = after.last() else {
        return Settle {
            seconds: 0.0,
            settled: true,
        };
    };
    match after.iter().rposition(|s| !ok(s)) {
        None => Settle {
            seconds: after[0].t_s - after_s,
            settled: true,
        },
        Some(i) if i + 1 < after.len() => Settle {
            seconds: after[i + 1].t_s - after_s,
            settled: true,
        },
        Some(_) => Settle {
            seconds: last.t_s - after_s,
            settled: false,
        },
    }
}

/// Seconds after `after_s` until the throughput, averaged over `smooth` samples, first
/// reaches `target_keys_per_s`.
pub fn time_to_throughput(
    samples: &[Sample],
    after_s: f64,
    target_keys_per_s: f64,
    smooth: usize,
) -> Option<f64> {
    let after: Vec<&Sample> = window(samples, after_s, f64::INFINITY).collect();
    let smooth = smooth.max(1);
    after.windows(smooth).find_map(|w| {
        let avg = w.iter().map(|s| s.keys_per_s).sum::<f64>() / w.len() as f64;
        (avg >= target_keys_per_s).then(|| w[w.len() - 1].t_s - after_s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(limits: &[usize]) -> Vec<Sample> {
        limits
            .iter()
            .enumerate()
            .map(|(i, &limit)| Sample {
                t_s: (i + 1) as f64 * 0.1,
                capacity: 10.0,
                limit,
                in_flight: limit,
                backend_in_flight: limit,
                queued: 0,
                calls: 1,
                mean_batch: 1.0,
                issued: 1,
                ok: 1,
                refused: 0,
                timed_out: 0,
                errors: 0,
                keys_per_s: limit as f64 * 100.0,
                p50_ms: None,
                p99_ms: None,
                limits: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn settle_time_is_measured_from_the_last_excursion() {
        // change at 0.5 s; in band (>= 8) from the sample at 1.0 s on
        let s = series(&[10, 10, 10, 10, 10, 2, 3, 5, 7, 9, 10, 10]);
        let settle = settle_time(&s, 0.5, |x| x.limit >= 8);
        assert!(settle.settled);
        assert!((settle.seconds - 0.5).abs() < 1e-9, "{settle:?}");
        let never = settle_time(&s, 0.5, |x| x.limit >= 11);
        assert!(!never.settled);
    }

    #[test]
    fn a_limit_following_a_step_is_not_counted_as_spread() {
        // 4 s at 32, then 4 s at 8 (step at 4 s): no spread within segments
        let mut limits = vec![32; 40];
        limits.extend(vec![8; 40]);
        let stats = limit_stats(&series(&limits), 0.0, 8.0, &[4.0]);
        assert_eq!(stats.cv, 0.0);
        assert_eq!((stats.min, stats.max), (8, 32));
        let oscillating: Vec<usize> = (0..80).map(|i| if i % 2 == 0 { 10 } else { 20 }).collect();
        let stats = limit_stats(&series(&oscillating), 0.0, 8.0, &[]);
        assert!((stats.cv - 5.0 / 15.0).abs() < 1e-9, "{stats:?}");
    }

    #[test]
    fn time_to_throughput_uses_the_smoothed_series() {
        let s = series(&[1, 1, 1, 10, 1, 10, 10, 10]);
        // target 900 keys/s with 2-sample smoothing: first at samples 6-7 (t = 0.7)
        let t = time_to_throughput(&s, 0.0, 900.0, 2).unwrap();
        assert!((t - 0.7).abs() < 1e-9, "{t}");
        assert!(time_to_throughput(&s, 0.0, 2000.0, 2).is_none());
    }
}
