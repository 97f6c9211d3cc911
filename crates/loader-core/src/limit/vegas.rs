//! Vegas: queue estimation from the no-load latency (Netflix `VegasLimit`, after TCP Vegas).

use super::{Outcome, Sample, ScalingStrategy, StrategyConfig};

/// Netflix's `VegasLimit`.
///
/// The downstream's queue is estimated from how much slower calls are than without load:
///
/// ```text
/// queue = ceil(limit * (1 - rtt_noload / rtt))
/// alpha = 3 * log10(limit)   beta = 6 * log10(limit)   threshold = log10(limit)
///
/// drop (error/timeout):      limit = limit - log10(limit)
/// 2 * in_flight < limit:     unchanged (app-limited: no evidence either way)
/// queue <= threshold:        limit = limit + beta        (no queueing: grow fast)
/// queue <  alpha:            limit = limit + log10(limit)
/// queue >  beta:             limit = limit - log10(limit)
/// otherwise:                 unchanged (the sweet spot)
/// limit = (1 - smoothing) * limit + smoothing * new_limit
/// ```
///
/// `log10(x)` is Netflix's `Log10RootFunction`: `max(1, floor(log10(x)))` below 1000,
/// `floor(sqrt(x))` above. `rtt_noload` is the smallest RTT seen; every
/// `probe_multiplier * limit * jitter` samples (jitter uniform in `[0.5, 1)`), the next RTT
/// replaces it, so a baseline that grew (a slower backend) is re-learned.
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::{Outcome, Sample, ScalingStrategy, StrategyConfig, Vegas};
///
/// let mut vegas = Vegas::new(StrategyConfig { initial_concurrency: 20, ..Default::default() });
/// let mut sample = Sample {
///     now: Duration::from_millis(1), rtt: Duration::from_millis(10), batch_size: 10,
///     loads: 10,
///     in_flight: 20, limit: 20, queued: 5, local_load: 0.1, outcome: Outcome::Success,
///     seq: 0, granted: 0, done_below: 0, requests_ended: 0, group: 0,
/// };
/// vegas.on_sample(&sample); // learns rtt_noload = 10 ms
/// sample.rtt = Duration::from_millis(40); // queue = ceil(20 * (1 - 10/40)) = 15 > beta = 6
/// assert_eq!(vegas.on_sample(&sample), 19);
/// ```
#[derive(Debug, Clone)]
pub struct Vegas {
    config: StrategyConfig,
    estimated: f64,
    rtt_noload: Option<f64>,
    smoothing: f64,
    probe_multiplier: f64,
    probe_count: u64,
    probe_jitter: f64,
    rng: u64,
    reason: &'static str,
}

/// `max(1, floor(log10(x)))` below 1000, `floor(sqrt(x))` above: Netflix's `Log10RootFunction`.
fn log10_root(x: f64) -> f64 {
    let x = x.max(0.0).floor();
    if x < 1000.0 {
        x.log10().floor().max(1.0)
    } else {
        x.sqrt().floor()
    }
}

impl Vegas {
    /// Netflix's default: probe the no-load RTT every `30 * limit * jitter` samples.
    const DEFAULT_PROBE_MULTIPLIER: f64 = 30.0;
    /// Netflix's default: `1.0`, the new limit replaces the old one outright.
    const DEFAULT_SMOOTHING: f64 = 1.0;

    /// Starts at `config.initial_concurrency`, with smoothing `1.0` and probe multiplier `30`.
    pub fn new(config: StrategyConfig) -> Self {
        let mut vegas = Self {
            config,
            estimated: config.clamp(config.initial_concurrency) as f64,
            rtt_noload: None,
            smoothing: Self::DEFAULT_SMOOTHING,
            probe_multiplier: Self::DEFAULT_PROBE_MULTIPLIER,
            probe_count: 0,
            probe_jitter: 1.0,
            // Fixed seed: the strategy stays deterministic (tests, simulator runs).
            rng: 0x9E37_79B9_7F4A_7C15,
            reason: "initial limit",
        };
        vegas.reset_probe_jitter();
        vegas
    }

    /// Sets how much of each new estimate replaces the limit, in `(0, 1]`.
    /// By default, this is `1.0`.
    #[must_use]
    pub fn with_smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = if smoothing.is_finite() {
            smoothing.clamp(0.01, 1.0)
        } else {
            1.0
        };
        self
    }

    /// Sets how often (in multiples of the limit, in samples) `rtt_noload` is re-probed.
    /// By default, this is `30`.
    #[must_use]
    pub fn with_probe_multiplier(mut self, multiplier: f64) -> Self {
        self.probe_multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            30.0
        };
        self
    }

    /// The no-load RTT currently assumed, in seconds (`None` before the first sample).
    pub fn rtt_noload_s(&self) -> Option<f64> {
        self.rtt_noload
    }

    fn reset_probe_jitter(&mut self) {
        // xorshift64*: a uniform draw in [0.5, 1).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        self.probe_jitter = 0.5 + 0.5 * (bits as f64 / (1u64 << 53) as f64);
    }

    fn should_probe(&self) -> bool {
        self.probe_jitter * self.probe_multiplier * self.estimated <= self.probe_count as f64
    }
}

impl ScalingStrategy for Vegas {
    fn name(&self) -> &'static str {
        "vegas"
    }

    fn limit(&self) -> usize {
        self.config.clamp(self.estimated as usize)
    }

    fn on_sample(&mut self, sample: &Sample) -> usize {
        let rtt = sample.rtt.as_secs_f64().max(1e-9);
        self.probe_count += 1;
        if self.should_probe() {
            self.reset_probe_jitter();
            self.probe_count = 0;
            self.rtt_noload = Some(rtt);
            return self.limit();
        }
        let noload = match self.rtt_noload {
            Some(noload) if rtt >= noload => noload,
            _ => {
                self.rtt_noload = Some(rtt);
                return self.limit();
            }
        };

        let estimated = self.estimated;
        let log = log10_root(estimated);
        let queue = (estimated * (1.0 - noload / rtt)).ceil();
        let dropped = sample.outcome != Outcome::Success;
        let new_limit = if dropped {
            self.reason = "drop: -log10(limit)";
            estimated - log
        } else if (sample.in_flight as f64) * 2.0 < estimated {
            // App-limited: do not drift upwards while the limit is not used.
            return self.limit();
        } else if queue <= log {
            self.reason = "no queueing: +beta";
            estimated + 6.0 * log
        } else if queue < 3.0 * log {
            self.reason = "queue < alpha: +log10(limit)";
            estimated + log
        } else if queue > 6.0 * log {
            self.reason = "queue > beta: -log10(limit)";
            estimated - log
        } else {
            return self.limit();
        };
        let bounded = new_limit.clamp(
            self.config.min_concurrency.max(1) as f64,
            self.config.max_concurrency.max(1) as f64,
        );
        self.estimated = (1.0 - self.smoothing) * estimated + self.smoothing * bounded;
        self.limit()
    }

    fn reason(&self) -> &str {
        self.reason
    }

    fn warm_start(&mut self, limit: usize) {
        self.estimated = self.config.clamp(limit) as f64;
        self.reason = "warm start";
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample(i: u64, rtt_ms: f64, in_flight: usize, outcome: Outcome) -> Sample {
        Sample {
            now: Duration::from_millis(i),
            rtt: Duration::from_secs_f64(rtt_ms / 1000.0),
            batch_size: 10,
            loads: 10,
            in_flight,
            limit: in_flight,
            queued: 10,
            local_load: 0.0,
            outcome,
            seq: 0,
            granted: 0,
            done_below: 0,
            requests_ended: 0,
            group: 0,
        }
    }

    fn vegas(initial: usize) -> Vegas {
        Vegas::new(StrategyConfig {
            initial_concurrency: initial,
            max_concurrency: 1000,
            ..StrategyConfig::default()
        })
    }

    #[test]
    fn log10_root_matches_netflix_lookup() {
        assert_eq!(log10_root(1.0), 1.0);
        assert_eq!(log10_root(9.0), 1.0);
        assert_eq!(log10_root(99.0), 1.0);
        assert_eq!(log10_root(100.0), 2.0);
        assert_eq!(log10_root(999.0), 2.0);
        assert_eq!(log10_root(1600.0), 40.0);
    }

    #[test]
    fn grows_by_beta_while_there_is_no_queueing() {
        let mut vegas = vegas(20);
        vegas.on_sample(&sample(0, 10.0, 20, Outcome::Success));
        // rtt == rtt_noload: queue 0 <= threshold 1 -> +6.
        assert_eq!(vegas.on_sample(&sample(1, 10.0, 20, Outcome::Success)), 26);
        assert_eq!(vegas.reason(), "no queueing: +beta");
    }

    #[test]
    fn shrinks_when_queue_builds() {
        let mut vegas = vegas(50);
        vegas.on_sample(&sample(0, 10.0, 50, Outcome::Success));
        let mut last = vegas.limit();
        // rtt 2x the no-load rtt: queue = limit / 2, well above beta = 6.
        for i in 1..20 {
            let now = vegas.on_sample(&sample(i, 20.0, last, Outcome::Success));
            assert!(now < last, "limit {now} did not shrink from {last}");
            last = now;
        }
        assert_eq!(vegas.reason(), "queue > beta: -log10(limit)");
    }

    #[test]
    fn holds_in_the_sweet_spot_between_alpha_and_beta() {
        let mut vegas = vegas(20);
        vegas.on_sample(&sample(0, 10.0, 20, Outcome::Success));
        // queue = ceil(20 * (1 - 10/12.5)) = 4: alpha 3 <= 4 <= beta 6.
        for i in 1..50 {
            assert_eq!(vegas.on_sample(&sample(i, 12.5, 20, Outcome::Success)), 20);
        }
    }

    #[test]
    fn does_not_grow_when_app_limited() {
        let mut vegas = vegas(40);
        vegas.on_sample(&sample(0, 10.0, 5, Outcome::Success));
        for i in 1..100 {
            assert_eq!(vegas.on_sample(&sample(i, 10.0, 5, Outcome::Success)), 40);
        }
    }

    #[test]
    fn drops_shrink_by_log10_of_the_limit() {
        let mut vegas = vegas(200);
        vegas.on_sample(&sample(0, 10.0, 200, Outcome::Success));
        assert_eq!(
            vegas.on_sample(&sample(1, 10.0, 200, Outcome::Timeout)),
            198
        );
        assert_eq!(vegas.on_sample(&sample(2, 10.0, 200, Outcome::Error)), 196);
    }

    #[test]
    fn re_probes_the_no_load_rtt_so_a_slower_backend_is_relearned() {
        let mut vegas = vegas(10).with_probe_multiplier(2.0);
        vegas.on_sample(&sample(0, 10.0, 10, Outcome::Success));
        assert_eq!(vegas.rtt_noload_s(), Some(0.010));
        // The backend becomes 3x slower for good; within a few probe periods the baseline follows.
        for i in 1..2000 {
            vegas.on_sample(&sample(i, 30.0, vegas.limit(), Outcome::Success));
        }
        assert_eq!(vegas.rtt_noload_s(), Some(0.030));
    }
}
