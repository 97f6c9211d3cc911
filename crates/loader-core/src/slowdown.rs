//! `SlowdownGuard`: sheds new requests at the door while the downstream is much slower than
//! normal, so that the requests still admitted keep a bounded latency.
//!
//! The engine's queue bound (`max_queue_wait`) limits how long a load waits for a permit. It
//! does not see a slowdown that makes every statement (and the process's own work) several
//! times slower: the queue does not grow much, yet each request takes 4–5 times longer, and a
//! closed-loop server keeps every client's request in flight. The guard watches the requests
//! admitted through [`Engine::admit_request`](crate::Engine::admit_request), per interval of
//! [`INTERVAL`]: their latency and their completions per second. The latency of an interval is
//! the larger of the completed requests' mean and the requests in flight over the throughput
//! (Little's law): completions show a slowdown only a request's latency later, the requests
//! in flight at once.
//!
//! - **Slowdown**: latency above [`LATENCY_FACTOR`] × its normal level *and* throughput under
//!   [`THROUGHPUT_FACTOR`] × its normal level, in the last interval or in the recent (blended)
//!   level. Both are needed: more clients raise latency
//!   but not throughput's fall (a load step is not a slowdown); fewer clients lower throughput
//!   but not latency's rise.
//! - **While it lasts**, at most `throughput × CAP_LATENCY × normal latency` requests are
//!   in flight (Little's law: the count that gives 1.5 times the normal mean latency at the
//!   throughput the downstream delivers now); new requests beyond it are refused as
//!   `Overloaded`.
//!   Because the cap follows throughput, not latency, it neither oscillates nor starves: when
//!   the downstream recovers, completions rise, the cap rises with them, and the guard lets go
//!   once throughput is back over [`RECOVERED`] of normal or latency under [`CALM`] × normal.
//! - **Also while it lasts**, a request admitted at the door has a latency budget of
//!   [`BUDGET_LATENCY`] × the normal mean latency from its admission: a later load of it that
//!   would start (expected wait included) or still be waiting after the budget is answered
//!   `Overloaded` (reason `"slowdown"`) instead of being served late. The cap only holds back
//!   new requests; the requests already in flight when the downstream slows down (the first
//!   half-second, before the slowdown is seen) would otherwise finish at several times the
//!   normal latency and set the tail of everything served. Outside a slowdown an admitted
//!   request is never failed halfway (`request.rs`).
//! - **Normal** is a slow average ([`BASELINE_ALPHA`] per interval, ~30 s) of the intervals
//!   outside slowdowns, after [`WARMUP_INTERVALS`]. A slowdown that lasts [`MAX_SHEDDING`]
//!   becomes the new normal: the guard is for transients, not a second capacity planner.
//!
//! Pure: time is passed in; the engine feeds it from request scopes.

use std::time::Duration;

/// Length of one measurement interval.
pub(crate) const INTERVAL: Duration = Duration::from_millis(500);
/// Weight of a new interval in the recent level (≈ the last second).
const RECENT_ALPHA: f64 = 0.5;
/// Weight of a new interval in the normal level (≈ the last 30 s).
pub(crate) const BASELINE_ALPHA: f64 = 1.0 / 60.0;
/// Intervals before the normal level is trusted.
pub(crate) const WARMUP_INTERVALS: u32 = 10;
/// A slowdown: latency above this multiple of normal...
pub(crate) const LATENCY_FACTOR: f64 = 2.0;
/// ...and throughput below this fraction of normal.
pub(crate) const THROUGHPUT_FACTOR: f64 = 0.7;
/// While shedding, requests in flight are capped to hold the mean latency at this multiple of
/// normal: the tail of a slowed downstream is longer than its mean, so the cap aims under
/// the 2x that detects the slowdown.
pub(crate) const CAP_LATENCY: f64 = 1.5;
/// While shedding, a request admitted at the door gets this multiple of the normal mean
/// latency to run its loads (about twice the normal p99: a request's latency is skewed, its
/// p99 near twice its mean); past it, its later loads are answered `Overloaded`.
pub(crate) const BUDGET_LATENCY: f64 = 4.0;
/// The slowdown is over once throughput is back above this fraction of normal...
pub(crate) const RECOVERED: f64 = 0.85;
/// ...or latency under this multiple of normal.
pub(crate) const CALM: f64 = 1.3;
/// A slowdown this long is the new normal.
pub(crate) const MAX_SHEDDING: Duration = Duration::from_secs(60);

/// Latency and throughput of a stretch of requests.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Level {
    /// Mean latency, seconds.
    latency: f64,
    /// Completions per second.
    throughput: f64,
}

impl Level {
    fn blend(&mut self, other: Level, alpha: f64) {
        self.latency += alpha * (other.latency - self.latency);
        self.throughput += alpha * (other.throughput - self.throughput);
    }
}

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlowdownGuard {
    interval_start: Duration,
    completed: u32,
    latency_sum: f64,
    recent: Option<Level>,
    normal: Option<Level>,
    intervals: u32,
    shedding_since: Option<Duration>,
}

impl SlowdownGuard {
    /// A request admitted at the door ended at `now` after `latency`, leaving `in_flight`
    /// admitted requests still running.
    pub(crate) fn record(&mut self, now: Duration, latency: Duration, in_flight: usize) {
        self.completed += 1;
        self.latency_sum += latency.as_secs_f64();
        let elapsed = now.saturating_sub(self.interval_start);
        if elapsed >= INTERVAL {
            self.close(now, elapsed, in_flight);
        }
    }

    fn close(&mut self, now: Duration, elapsed: Duration, in_flight: usize) {
        let throughput = f64::from(self.completed) / elapsed.as_secs_f64();
        // The requests that completed started before the interval: when the downstream slows,
        // their latency shows it only a request's latency later. The requests in flight show
        // it at once (Little's law: latency = in flight / throughput).
        let completed = self.latency_sum / f64::from(self.completed.max(1));
        let level = Level {
            latency: completed.max(in_flight as f64 / throughput),
            throughput,
        };
        self.interval_start = now;
        self.completed = 0;
        self.latency_sum = 0.0;
        let recent = self.recent.get_or_insert(level);
        recent.blend(level, RECENT_ALPHA);
        let recent = *recent;
        self.intervals = self.intervals.saturating_add(1);
        let Some(normal) = &mut self.normal else {
            self.normal = Some(level);
            return;
        };
        if self.intervals < WARMUP_INTERVALS {
            normal.blend(level, BASELINE_ALPHA * 4.0);
            return;
        }
        match self.shedding_since {
            Some(since) => {
                let over = recent.throughput > RECOVERED * normal.throughput
                    || recent.latency < CALM * normal.latency;
                if over || now.saturating_sub(since) >= MAX_SHEDDING {
                    self.shedding_since = None;
                    if !over {
                        // The new normal.
                        self.normal = Some(recent);
                    }
                }
            }
            None => {
                let is_slow = |l: &Level| {
                    l.latency > LATENCY_FACTOR * normal.latency
                        && l.throughput < THROUGHPUT_FACTOR * normal.throughput
                };
                // The interval alone (half a second of completions) is evidence enough: the
                // blended level would take a second interval to cross the thresholds.
                let slow = is_slow(&level) || is_slow(&recent);
                if slow {
                    self.shedding_since = Some(now);
                } else {
                    normal.blend(level, BASELINE_ALPHA);
                }
            }
        }
    }

    /// Whether a new request may start while `in_flight` admitted requests are running; when
    /// shedding, the cap it was measured against.
    pub(crate) fn admit(&self, in_flight: usize) -> Result<(), usize> {
        let (Some(_), Some(recent), Some(normal)) = (self.shedding_since, self.recent, self.normal)
        else {
            return Ok(());
        };
        let cap = (recent.throughput * CAP_LATENCY * normal.latency).ceil() as usize;
        let cap = cap.max(1);
        if in_flight < cap { Ok(()) } else { Err(cap) }
    }

    /// How long a refused caller should wait: twice the normal latency (at least 10 ms).
    pub(crate) fn retry_after(&self) -> Duration {
        let normal = self.normal.map_or(0.0, |n| n.latency);
        Duration::from_secs_f64(LATENCY_FACTOR * normal).max(Duration::from_millis(10))
    }

    /// While shedding, how long a request admitted at the door may take: [`BUDGET_LATENCY`]
    /// times the normal mean latency. `None` outside a slowdown.
    pub(crate) fn budget(&self) -> Option<Duration> {
        let (Some(_), Some(normal)) = (self.shedding_since, self.normal) else {
            return None;
        };
        Some(Duration::from_secs_f64(BUDGET_LATENCY * normal.latency))
    }

    /// Whether the guard is shedding now.
    pub(crate) fn shedding(&self) -> bool {
        self.shedding_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `seconds` of requests completing at `per_s` with `latency_ms` each.
    fn run(g: &mut SlowdownGuard, now: &mut Duration, seconds: f64, per_s: f64, latency_ms: f64) {
        let step = Duration::from_secs_f64(1.0 / per_s);
        let end = *now + Duration::from_secs_f64(seconds);
        while *now < end {
            *now += step;
            // A closed loop: Little's law gives the requests in flight.
            let in_flight = (per_s * latency_ms / 1000.0).round() as usize;
            g.record(
                *now,
                Duration::from_secs_f64(latency_ms / 1000.0),
                in_flight,
            );
        }
    }

    fn normal_for_ten_seconds() -> (SlowdownGuard, Duration) {
        let mut g = SlowdownGuard::default();
        let mut now = Duration::ZERO;
        // 64 closed-loop clients: 1 600 requests/s of 40 ms.
        run(&mut g, &mut now, 10.0, 1600.0, 40.0);
        assert!(!g.shedding());
        (g, now)
    }

    #[test]
    fn a_slowdown_caps_requests_in_flight_by_littles_law() {
        let (mut g, mut now) = normal_for_ten_seconds();
        // The database slows: a quarter of the throughput, 4.5 times the latency.
        run(&mut g, &mut now, 2.0, 400.0, 180.0);
        assert!(g.shedding());
        // About 400/s x 1.5 x 40 ms = 24 requests in flight.
        let cap = g.admit(usize::MAX).unwrap_err();
        // (The recent throughput is still coming down from 1 600/s: ~475/s.)
        assert!((24..=30).contains(&cap), "cap {cap}");
        assert_eq!(g.admit(cap - 1), Ok(()));
        assert_eq!(g.admit(cap), Err(cap));
        // Throughput back: the guard lets go.
        run(&mut g, &mut now, 2.0, 1500.0, 40.0);
        assert!(!g.shedding());
        assert_eq!(g.admit(1000), Ok(()));
    }

    #[test]
    fn a_request_has_a_latency_budget_only_during_a_slowdown() {
        let (mut g, mut now) = normal_for_ten_seconds();
        assert_eq!(g.budget(), None);
        run(&mut g, &mut now, 2.0, 400.0, 180.0);
        assert!(g.shedding());
        // Four times the normal mean of 40 ms.
        let budget = g.budget().expect("a budget while shedding").as_secs_f64();
        assert!((0.150..=0.170).contains(&budget), "budget {budget} s");
        run(&mut g, &mut now, 2.0, 1500.0, 40.0);
        assert_eq!(g.budget(), None);
    }

    #[test]
    fn a_slowdown_is_seen_within_one_interval_from_the_requests_in_flight() {
        let (mut g, mut now) = normal_for_ten_seconds();
        // The database slows at once: completions fall to a quarter, but the requests that
        // complete in the first interval started before, at the normal latency; the 64
        // requests in flight tell the new latency (64 / 400 per s = 160 ms).
        let step = Duration::from_secs_f64(1.0 / 400.0);
        let end = now + INTERVAL + step;
        while now < end {
            now += step;
            g.record(now, Duration::from_millis(45), 64);
        }
        assert!(g.shedding());
    }

    #[test]
    fn more_clients_are_not_a_slowdown() {
        let (mut g, mut now) = normal_for_ten_seconds();
        // 256 clients: latency x4, throughput up.
        run(&mut g, &mut now, 5.0, 1700.0, 160.0);
        assert!(!g.shedding());
        assert_eq!(g.admit(10_000), Ok(()));
    }

    #[test]
    fn fewer_clients_are_not_a_slowdown() {
        let (mut g, mut now) = normal_for_ten_seconds();
        // 8 clients: throughput down, latency down.
        run(&mut g, &mut now, 5.0, 800.0, 10.0);
        assert!(!g.shedding());
    }

    #[test]
    fn a_slowdown_that_lasts_becomes_the_new_normal() {
        let (mut g, mut now) = normal_for_ten_seconds();
        run(&mut g, &mut now, 2.0, 400.0, 180.0);
        assert!(g.shedding());
        run(&mut g, &mut now, MAX_SHEDDING.as_secs_f64(), 400.0, 180.0);
        assert!(!g.shedding());
        run(&mut g, &mut now, 5.0, 400.0, 180.0);
        assert!(!g.shedding(), "the slow level is normal now");
    }

    #[test]
    fn nothing_is_judged_during_warm_up() {
        let mut g = SlowdownGuard::default();
        let mut now = Duration::ZERO;
        run(&mut g, &mut now, 1.0, 1600.0, 40.0);
        run(&mut g, &mut now, 2.0, 400.0, 180.0);
        assert!(!g.shedding());
    }
}
