//! The (limit, throughput) history: what the limit was, what it achieved, and why it moved.
//!
//! A `ThroughputTicker` integrates completed keys and the limit over fixed ticks (a tenth of
//! `metrics_window`): at the end of each tick it knows the keys per second and the
//! time-weighted mean limit that produced them, and remembers the best tick. That best limit
//! is what the learned state saves, so a restarted engine starts near it. The best tick's
//! throughput fades by [`BEST_DECAY`] per tick, so the best of *recent* conditions wins: a
//! lucky tick at start-up (or under a load that is gone) does not outlive a minute.

use std::{collections::VecDeque, time::Duration};

use super::LimitPoint;

/// Factor applied to the remembered best throughput at every tick: ≈ 35 ticks (35 s with the
/// default 10 s metrics window) halve it, so a tick of today's converged limit replaces a
/// lucky one from the start of a run.
pub(crate) const BEST_DECAY: f64 = 0.98;

/// Points kept in the history (oldest dropped first).
const HISTORY_LEN: usize = 512;

/// One closed tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tick {
    pub(crate) mean_limit: usize,
    pub(crate) throughput: f64,
}

/// Keys per second per tick, and the limit that was in force.
#[derive(Debug, Clone)]
pub(crate) struct ThroughputTicker {
    tick: Duration,
    start: Duration,
    keys: u64,
    limit_secs: f64,
    last_t: Duration,
    last_limit: usize,
    last_throughput: f64,
    best: Option<Tick>,
}

impl ThroughputTicker {
    pub(crate) fn new(tick: Duration, now: Duration, limit: usize) -> Self {
        Self {
            tick: tick.max(Duration::from_millis(1)),
            start: now,
            keys: 0,
            limit_secs: 0.0,
            last_t: now,
            last_limit: limit,
            last_throughput: 0.0,
            best: None,
        }
    }

    /// Counts `keys` completed at `now`; `limit` is the limit in force from now on. Returns the
    /// tick that closed, if one did.
    pub(crate) fn observe(&mut self, now: Duration, keys: usize, limit: usize) -> Option<Tick> {
        let dt = now.saturating_sub(self.last_t);
        self.limit_secs += self.last_limit as f64 * dt.as_secs_f64();
        self.last_t = now;
        self.last_limit = limit;
        self.keys += keys as u64;
        let elapsed = now.saturating_sub(self.start);
        if elapsed < self.tick {
            return None;
        }
        let secs = elapsed.as_secs_f64();
        let tick = Tick {
            mean_limit: ((self.limit_secs / secs).round() as usize).max(1),
            throughput: self.keys as f64 / secs,
        };
        if let Some(best) = &mut self.best {
            best.throughput *= BEST_DECAY;
        }
        if self.best.is_none_or(|b| tick.throughput > b.throughput) {
            self.best = Some(tick);
        }
        self.last_throughput = tick.throughput;
        self.start = now;
        self.keys = 0;
        self.limit_secs = 0.0;
        Some(tick)
    }

    /// Keys per second of the last closed tick.
    pub(crate) fn last_throughput(&self) -> f64 {
        self.last_throughput
    }

    /// The mean limit of the tick with the highest throughput so far.
    pub(crate) fn best_limit(&self) -> Option<usize> {
        self.best.map(|b| b.mean_limit)
    }

    /// Starts from a limit learned in an earlier run (kept until a real tick beats it).
    pub(crate) fn seed_best(&mut self, limit: usize) {
        if self.best.is_none() {
            self.best = Some(Tick {
                mean_limit: limit,
                throughput: 0.0,
            });
        }
    }
}

/// The engine-wide history of limit changes and periodic throughput points.
#[derive(Debug, Clone)]
pub(crate) struct LimitHistory {
    ticker: ThroughputTicker,
    points: VecDeque<LimitPoint>,
}

impl LimitHistory {
    pub(crate) fn new(tick: Duration, limit: usize) -> Self {
        Self {
            ticker: ThroughputTicker::new(tick, Duration::ZERO, limit),
            points: VecDeque::with_capacity(64),
        }
    }

    fn push(&mut self, point: LimitPoint) {
        if self.points.len() == HISTORY_LEN {
            self.points.pop_front();
        }
        self.points.push_back(point);
    }

    /// Records a finished batch of `keys` keys; `limit` is the limit from now on and `change`
    /// the reason when this batch moved it.
    pub(crate) fn on_batch(
        &mut self,
        now: Duration,
        keys: usize,
        limit: usize,
        change: Option<&str>,
    ) {
        if let Some(tick) = self.ticker.observe(now, keys, limit) {
            self.push(LimitPoint {
                t_s: now.as_secs_f64(),
                limit: tick.mean_limit,
                throughput: tick.throughput,
                reason: "steady".into(),
            });
        }
        if let Some(reason) = change {
            let throughput = self.ticker.last_throughput();
            self.push(LimitPoint {
                t_s: now.as_secs_f64(),
                limit,
                throughput,
                reason: reason.to_string(),
            });
        }
    }

    /// Records a limit set from outside the strategy (warm start).
    pub(crate) fn on_restore(&mut self, now: Duration, limit: usize) {
        self.ticker.seed_best(limit);
        self.ticker.last_limit = limit;
        let throughput = self.ticker.last_throughput();
        self.push(LimitPoint {
            t_s: now.as_secs_f64(),
            limit,
            throughput,
            reason: "restored from learned state".into(),
        });
    }

    pub(crate) fn best_limit(&self) -> Option<usize> {
        self.ticker.best_limit()
    }

    pub(crate) fn points(&self) -> Vec<LimitPoint> {
        self.points.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn a_tick_reports_throughput_and_the_time_weighted_limit() {
        let mut t = ThroughputTicker::new(ms(100), ms(0), 4);
        assert_eq!(t.observe(ms(50), 10, 8), None);
        let tick = t.observe(ms(100), 10, 8).expect("tick closed");
        // 50 ms at 4, 50 ms at 8
        assert_eq!(tick.mean_limit, 6);
        assert!((tick.throughput - 200.0).abs() < 1e-9);
    }

    #[test]
    fn the_best_limit_is_the_one_of_the_best_tick() {
        let mut t = ThroughputTicker::new(ms(100), ms(0), 4);
        t.observe(ms(100), 100, 16); // 1000/s at 4
        t.observe(ms(200), 300, 32); // 3000/s at 16
        t.observe(ms(300), 200, 32); // 2000/s at 32
        assert_eq!(t.best_limit(), Some(16));
    }

    #[test]
    fn the_best_tick_fades_so_recent_conditions_win() {
        let mut t = ThroughputTicker::new(ms(100), ms(0), 4);
        t.observe(ms(100), 110, 2); // 1100/s at 4: a lucky tick at start-up
        // Then the limit settles at 2 with 1000/s: for 4 ticks the old one stays the best...
        for i in 2..=5 {
            t.observe(ms(100 * i), 100, 2);
        }
        assert_eq!(t.best_limit(), Some(4));
        // ...and once the old tick faded below 1000/s (0.98^5 x 1100 = 994), the limit held
        // now is what a restarted engine would start from.
        t.observe(ms(600), 100, 2);
        assert_eq!(t.best_limit(), Some(2));
    }

    #[test]
    fn history_keeps_changes_with_reasons_and_periodic_points() {
        let mut h = LimitHistory::new(ms(100), 4);
        h.on_batch(ms(10), 5, 5, Some("probing up"));
        h.on_batch(ms(120), 5, 5, None);
        let points = h.points();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].reason, "probing up");
        assert_eq!(points[0].limit, 5);
        assert_eq!(points[1].reason, "steady");
        assert!(points[1].throughput > 0.0);
    }

    #[test]
    fn history_is_bounded() {
        let mut h = LimitHistory::new(ms(100), 4);
        for i in 0..2000 {
            h.on_batch(ms(i), 1, 4 + (i as usize % 2), Some("flip"));
        }
        assert_eq!(h.points().len(), HISTORY_LEN);
    }

    #[test]
    fn a_restored_best_limit_stands_until_a_real_tick_beats_it() {
        let mut h = LimitHistory::new(ms(100), 4);
        h.on_restore(ms(0), 24);
        assert_eq!(h.best_limit(), Some(24));
        h.on_batch(ms(50), 0, 6, Some("latency rising"));
        h.on_batch(ms(100), 50, 6, None);
        // 50 ms at 24, 50 ms at 6
        assert_eq!(h.best_limit(), Some(15));
    }
}
