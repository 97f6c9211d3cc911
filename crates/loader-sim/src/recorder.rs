//! Counts every request's fate and latency, in totals, per sampling interval and in steady
//! state.

use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Answered with values; `missing` keys were absent from the answer (should be 0).
    Ok {
        /// Keys served.
        keys: usize,
        /// Keys requested but absent from the answer.
        missing: usize,
    },
    /// Answered with an error other than a refusal or a timeout.
    Error,
    /// Refused by the engine (`LoadError::Overloaded`).
    Refused,
    /// Not answered within the request timeout (or answered with `DeadlineExceeded` or a
    /// batch `Timeout`).
    TimedOut,
}

/// Request counts; `issued == ok + errors + refused + timed_out` once every request ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests started.
    pub issued: u64,
    /// Requests answered with their values.
    pub ok: u64,
    /// Requests answered with an error (counted in `answered`).
    pub errors: u64,
    /// Requests refused with `Overloaded`.
    pub refused: u64,
    /// Requests not answered in time.
    pub timed_out: u64,
    /// Keys served in `ok` requests.
    pub keys_ok: u64,
    /// Keys asked for in `ok` requests but absent from the answer.
    pub missing_keys: u64,
}

impl Counts {
    /// Requests that got a response, values or error: `ok + errors`.
    pub fn answered(&self) -> u64 {
        self.ok + self.errors
    }

    /// Requests not accounted for: `issued - answered - refused - timed_out` (0 when nothing
    /// was lost).
    pub fn unaccounted(&self) -> i64 {
        self.issued as i64 - (self.answered() + self.refused + self.timed_out) as i64
    }

    fn add(&mut self, fate: Fate) {
        match fate {
            Fate::Ok { keys, missing } => {
                self.ok += 1;
                self.keys_ok += keys as u64;
                self.missing_keys += missing as u64;
            }
            Fate::Error => self.errors += 1,
            Fate::Refused => self.refused += 1,
            Fate::TimedOut => self.timed_out += 1,
        }
    }
}

/// Counts and latency percentiles of one sampling interval.
#[derive(Debug, Clone, Default)]
pub struct IntervalStats {
    /// Requests issued and ended during the interval.
    pub counts: Counts,
    /// Median latency of `ok` requests ended in the interval, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of `ok` requests ended in the interval, ms.
    pub p99_ms: Option<f64>,
}

/// Latency percentiles, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Requests measured.
    pub count: u64,
}

struct State {
    total: Counts,
    interval: Counts,
    interval_latency: Histogram<u64>,
    /// Latency of requests ending at or after each start time.
    after: Vec<(f64, Histogram<u64>)>,
}

/// Shared by every request task; the sampler drains the interval part every 100 ms.
pub struct Recorder {
    warmup_s: f64,
    state: Mutex<State>,
}

fn summarize(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        p50_ms: ms(h.value_at_quantile(0.5)),
        p90_ms: ms(h.value_at_quantile(0.9)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
        mean_ms: h.mean() / 1000.0,
        count: h.len(),
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl Recorder {
    /// A recorder whose steady-state latency excludes requests ending before `warmup_s`;
    /// it also keeps the latency of requests ending after each of `marks` (e.g. the times
    /// at which the scenario changes).
    pub fn new(warmup_s: f64, marks: &[f64]) -> Self {
        let mut starts = vec![warmup_s];
        starts.extend_from_slice(marks);
        Self {
            warmup_s,
            state: Mutex::new(State {
                total: Counts::default(),
                interval: Counts::default(),
                interval_latency: histogram(),
                after: starts.into_iter().map(|t| (t, histogram())).collect(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request started.
    pub fn issued(&self) {
        let mut s = self.state();
        s.total.issued += 1;
        s.interval.issued += 1;
    }

    /// A request ended at model time `now_s` after `latency_s`.
    pub fn ended(&self, now_s: f64, latency_s: f64, fate: Fate) {
        let mut s = self.state();
        s.total.add(fate);
        s.interval.add(fate);
        if let Fate::Ok { .. } = fate {
            let us = ((latency_s * 1e6).round() as u64).max(1);
            s.interval_latency.saturating_record(us);
            for (start, h) in s.after.iter_mut() {
                if now_s >= *start {
                    h.saturating_record(us);
                }
            }
        }
    }

    /// Takes (and resets) the current interval's figures.
    pub fn take_interval(&self) -> IntervalStats {
        let mut s = self.state();
        let counts = std::mem::take(&mut s.interval);
        let (p50_ms, p99_ms) = if s.interval_latency.is_empty() {
            (None, None)
        } else {
            (
                Some(s.interval_latency.value_at_quantile(0.5) as f64 / 1000.0),
                Some(s.interval_latency.value_at_quantile(0.99) as f64 / 1000.0),
            )
        };
        s.interval_latency.reset();
        IntervalStats {
            counts,
            p50_ms,
            p99_ms,
        }
    }

    /// Totals since the start.
    pub fn totals(&self) -> Counts {
        self.state().total
    }

    /// Latency of `ok` requests that ended after the warm-up.
    pub fn steady_latency(&self) -> Latency {
        self.latency_after(self.warmup_s)
    }

    /// Latency of `ok` requests that ended in `[from_s, to_s)`, both of which must be the
    /// warm-up or marks given to [`new`](Self::new); `to_s = None` means until the end.
    pub fn latency_between(&self, from_s: f64, to_s: Option<f64>) -> Latency {
        let s = self.state();
        let find = |t: f64| {
            s.after
                .iter()
                .find(|(start, _)| *start == t)
                .map(|(_, h)| h)
        };
        let Some(from) = find(from_s) else {
            return Latency::default();
        };
        match to_s.map(find) {
            None => summarize(from),
            Some(None) => Latency::default(),
            Some(Some(later)) => {
                let mut between = from.clone();
                // Every request counted after `to_s` was counted after `from_s` too.
                if between.subtract(later).is_err() {
                    return Latency::default();
                }
                summarize(&between)
            }
        }
    }

    /// Latency of `ok` requests that ended at or after `start_s`, which must be the warm-up
    /// or one of the marks given to [`new`](Self::new) (otherwise: empty).
    pub fn latency_after(&self, start_s: f64) -> Latency {
        let s = self.state();
        s.after
            .iter()
            .find(|(t, _)| *t == start_s)
            .map_or_else(Latency::default, |(_, h)| summarize(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fate_is_counted_once_and_intervals_reset() {
        let r = Recorder::new(1.0, &[1.55]);
        for _ in 0..4 {
            r.issued();
        }
        r.ended(
            0.5,
            0.010,
            Fate::Ok {
                keys: 5,
                missing: 0,
            },
        );
        r.ended(
            1.5,
            0.020,
            Fate::Ok {
                keys: 5,
                missing: 1,
            },
        );
        r.ended(1.5, 0.0, Fate::Refused);
        r.ended(1.6, 2.0, Fate::TimedOut);
        let t = r.totals();
        assert_eq!(
            (t.issued, t.ok, t.refused, t.timed_out, t.errors),
            (4, 2, 1, 1, 0)
        );
        assert_eq!(t.keys_ok, 10);
        assert_eq!(t.missing_keys, 1);
        assert_eq!(t.unaccounted(), 0);
        let i = r.take_interval();
        assert_eq!(i.counts.issued, 4);
        assert!(i.p99_ms.unwrap() >= 19.9);
        assert_eq!(r.take_interval().counts, Counts::default());
        // only the request that ended after warm-up is in the steady histogram
        let steady = r.steady_latency();
        assert_eq!(steady.count, 1);
        assert!((steady.p50_ms - 20.0).abs() < 0.1);
        assert_eq!(r.latency_after(1.55).count, 0);
    }

    #[test]
    fn latency_between_two_marks_counts_only_the_requests_ending_between_them() {
        let r = Recorder::new(1.0, &[10.0, 20.0]);
        let ok = Fate::Ok {
            keys: 1,
            missing: 0,
        };
        r.ended(5.0, 0.100, ok);
        r.ended(6.0, 0.100, ok);
        r.ended(15.0, 0.010, ok);
        r.ended(25.0, 0.001, ok);
        let first = r.latency_between(1.0, Some(10.0));
        assert_eq!(first.count, 2);
        assert!((first.p99_ms - 100.0).abs() < 0.5, "{first:?}");
        let second = r.latency_between(10.0, Some(20.0));
        assert_eq!(second.count, 1);
        assert!((second.p50_ms - 10.0).abs() < 0.1, "{second:?}");
        assert_eq!(r.latency_between(20.0, None).count, 1);
        // Not a mark: nothing, rather than a wrong figure.
        assert_eq!(r.latency_between(3.0, None).count, 0);
    }
}
