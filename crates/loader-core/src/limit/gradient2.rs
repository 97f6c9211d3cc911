//! Gradient2: the ratio of a long-term to the current RTT drives the limit (Netflix
//! `Gradient2Limit`).

use super::{Outcome, Sample, ScalingStrategy, StrategyConfig, ewma::ExpAvg};

/// Netflix's `Gradient2Limit`.
///
/// A long-term EWMA of the RTT (over ~600 samples) stands for the latency the downstream has
/// when it is not queueing; the current RTT is compared with it. When calls get slower than
/// `tolerance` times the long-term average, the limit shrinks in proportion; otherwise it grows
/// by a small allowance for queueing:
///
/// ```text
/// long      = ewma_600(rtt)                 (if long / rtt > 2: long *= 0.95, to recover fast)
/// gradient  = clamp(tolerance * long / rtt, 0.5, 1.0)
/// new_limit = limit * gradient + queue_size(limit)         queue_size = max(4, sqrt(limit))
/// limit     = limit * (1 - smoothing) + new_limit * smoothing        smoothing = 0.2
/// ```
///
/// The limit is not moved while fewer than half of it are in flight (app-limited). Failed calls
/// (`Outcome::Error`) are ignored, as Netflix's limiters ignore them: a call that failed fast
/// says nothing about latency. Timed-out calls are fed with their (long) RTT.
///
/// Its known weakness: the long-term average follows any sustained latency, so a downstream
/// that queues for long enough becomes the new normal, and a pure latency shift lowers the
/// limit until the average catches up.
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::{Gradient2, Outcome, Sample, ScalingStrategy, StrategyConfig};
///
/// let mut g2 = Gradient2::new(StrategyConfig { initial_concurrency: 20, ..Default::default() });
/// let mut sample = Sample {
///     now: Duration::from_millis(1), rtt: Duration::from_millis(10), batch_size: 10,
///     loads: 10,
///     in_flight: 20, limit: 20, queued: 5, local_load: 0.1, outcome: Outcome::Success,
///     seq: 0, granted: 0, done_below: 0, requests_ended: 0, group: 0,
/// };
/// // Steady latency: gradient 1.0, the limit grows by smoothing * queue_size = 0.8.
/// g2.on_sample(&sample);
/// g2.on_sample(&sample);
/// assert_eq!(g2.limit(), 21);
/// ```
#[derive(Debug, Clone)]
pub struct Gradient2 {
    config: StrategyConfig,
    estimated: f64,
    long_rtt: ExpAvg,
    tolerance: f64,
    smoothing: f64,
    last_gradient: f64,
    reason: String,
}

impl Gradient2 {
    /// Netflix's default: the long-term RTT averages over ~600 samples.
    const DEFAULT_LONG_WINDOW: u32 = 600;
    /// Netflix's default: calls may be 1.5x slower than the long-term RTT before the limit shrinks.
    const DEFAULT_TOLERANCE: f64 = 1.5;
    /// Netflix's default: each new estimate moves the limit 20% of the way.
    const DEFAULT_SMOOTHING: f64 = 0.2;

    /// Starts at `config.initial_concurrency`, with tolerance `1.5`, smoothing `0.2` and a
    /// long window of 600 samples (warmed up as a plain mean over the first 10).
    pub fn new(config: StrategyConfig) -> Self {
        Self {
            config,
            estimated: config.clamp(config.initial_concurrency) as f64,
            long_rtt: ExpAvg::new(Self::DEFAULT_LONG_WINDOW, 10),
            tolerance: Self::DEFAULT_TOLERANCE,
            smoothing: Self::DEFAULT_SMOOTHING,
            last_gradient: 1.0,
            reason: "initial limit".to_string(),
        }
    }

    /// Sets how much slower than the long-term RTT calls may get before the limit shrinks
    /// (at least `1.0`). By default, this is `1.5`.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = if tolerance.is_finite() {
            tolerance.max(1.0)
        } else {
            1.5
        };
        self
    }

    /// Sets how far each new estimate moves the limit, in `(0, 1]`. By default, this is `0.2`.
    #[must_use]
    pub fn with_smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = if smoothing.is_finite() {
            smoothing.clamp(0.01, 1.0)
        } else {
            0.2
        };
        self
    }

    /// The last computed gradient, in `[0.5, 1.0]`.
    pub fn gradient(&self) -> f64 {
        self.last_gradient
    }

    /// The allowance for queueing added to each new estimate: `max(4, sqrt(limit))`.
    fn queue_size(limit: f64) -> f64 {
        limit.sqrt().max(4.0)
    }
}

impl ScalingStrategy for Gradient2 {
    fn name(&self) -> &'static str {
        "gradient2"
    }

    fn limit(&self) -> usize {
        self.config.clamp(self.estimated as usize)
    }

    fn on_sample(&mut self, sample: &Sample) -> usize {
        if sample.outcome == Outcome::Error {
            return self.limit();
        }
        let short = sample.rtt.as_secs_f64().max(1e-9);
        let long = self.long_rtt.add(short);
        // After a long overload the average is far above the current RTT: pull it down faster
        // than the EWMA would, so the limit can grow again.
        if long / short > 2.0 {
            self.long_rtt.set(long * 0.95);
        }
        // App-limited: half the limit unused says nothing about the downstream.
        if (sample.in_flight as f64) < self.estimated / 2.0 {
            return self.limit();
        }
        let gradient = (self.tolerance * long / short).clamp(0.5, 1.0);
        self.last_gradient = gradient;
        let estimated = self.estimated;
        let target = estimated * gradient + Self::queue_size(estimated);
        let smoothed = estimated * (1.0 - self.smoothing) + target * self.smoothing;
        self.estimated = smoothed.clamp(
            self.config.min_concurrency.max(1) as f64,
            self.config.max_concurrency.max(1) as f64,
        );
        if self.limit() != self.config.clamp(estimated as usize) {
            self.reason = if gradient < 1.0 {
                format!(
                    "rtt {:.1}x the long-term average: gradient {gradient:.2}",
                    short / long
                )
            } else {
                "rtt within tolerance: +queue allowance".to_string()
            };
        }
        self.limit()
    }

    fn reason(&self) -> &str {
        &self.reason
    }

    fn warm_start(&mut self, limit: usize) {
        self.estimated = self.config.clamp(limit) as f64;
        self.reason = "warm start".to_string();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample(i: u64, rtt_ms: f64, in_flight: usize) -> Sample {
        Sample {
            now: Duration::from_millis(i),
            rtt: Duration::from_secs_f64(rtt_ms / 1000.0),
            batch_size: 10,
            loads: 10,
            in_flight,
            limit: in_flight,
            queued: 10,
            local_load: 0.0,
            outcome: Outcome::Success,
            seq: 0,
            granted: 0,
            done_below: 0,
            requests_ended: 0,
            group: 0,
        }
    }

    fn gradient2(initial: usize) -> Gradient2 {
        Gradient2::new(StrategyConfig {
            initial_concurrency: initial,
            max_concurrency: 1000,
            ..StrategyConfig::default()
        })
    }

    #[test]
    fn grows_by_the_queue_allowance_while_latency_is_steady() {
        let mut g2 = gradient2(100);
        // sqrt(100) = 10 > 4: each sample adds 0.2 * 10 = 2.
        g2.on_sample(&sample(0, 10.0, 100));
        assert_eq!(g2.limit(), 102);
        assert_eq!(g2.gradient(), 1.0);
    }

    #[test]
    fn reduces_limit_when_short_rtt_exceeds_long() {
        let mut g2 = gradient2(100);
        for i in 0..600 {
            g2.on_sample(&sample(i, 10.0, g2.limit()));
        }
        let before = g2.limit();
        // 3x slower calls: gradient = 1.5 * ~11 / 30, near the floor of 0.5.
        let mut last = before;
        for i in 600..620 {
            let now = g2.on_sample(&sample(i, 30.0, last));
            assert!(now <= last);
            last = now;
        }
        assert!(last < before * 2 / 3, "{before} -> {last}");
        assert!(g2.gradient() < 0.6, "gradient {}", g2.gradient());
        assert!(g2.reason().starts_with("rtt"), "{}", g2.reason());
    }

    #[test]
    fn tolerates_latency_up_to_the_tolerance() {
        let mut g2 = gradient2(50);
        for i in 0..100 {
            g2.on_sample(&sample(i, 10.0, g2.limit()));
        }
        // 1.4x slower is within tolerance 1.5: no shrinking.
        let before = g2.limit();
        g2.on_sample(&sample(100, 14.0, before));
        assert!(g2.limit() >= before);
    }

    #[test]
    fn ignores_errors_and_app_limited_samples() {
        let mut g2 = gradient2(40);
        let mut failed = sample(0, 1.0, 40);
        failed.outcome = Outcome::Error;
        for _ in 0..50 {
            g2.on_sample(&failed);
        }
        assert_eq!(g2.limit(), 40);
        for i in 0..50 {
            g2.on_sample(&sample(i, 10.0, 10));
        }
        assert_eq!(g2.limit(), 40);
    }
}
