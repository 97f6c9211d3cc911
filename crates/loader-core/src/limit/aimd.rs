//! AIMD: additive increase, multiplicative decrease (Netflix `AIMDLimit`).

use std::time::Duration;

use super::{Outcome, Sample, ScalingStrategy, StrategyConfig};

/// Netflix's `AIMDLimit`: +1 per saturated success, `x backoff_ratio` per drop.
///
/// A loss-based limit, like TCP Reno: every successful call made while the limit was actually
/// in use adds one; every dropped call (an error, a timeout, or a call slower than
/// the timeout, 5 s by default) multiplies the limit by the backoff ratio.
///
/// ```text
/// on drop or rtt > timeout:         limit = max(1, min(limit - 1, floor(limit * backoff)))
/// on success with 2*in_flight >= limit: limit = limit + 1
/// otherwise (app-limited):          unchanged
/// ```
///
/// It reacts to failures only: it never sees queueing until calls time out, so against a
/// database that slows down without failing it climbs to `max_concurrency`.
///
/// Errors and timeouts both count as drops (the engine cannot tell an overload error from
/// another one, and a failing downstream is usually an overloaded one).
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::{Aimd, Outcome, Sample, ScalingStrategy, StrategyConfig};
///
/// let mut aimd = Aimd::new(StrategyConfig { initial_concurrency: 10, ..Default::default() });
/// let mut sample = Sample {
///     now: Duration::from_millis(1), rtt: Duration::from_millis(5), batch_size: 10,
///     loads: 10,
///     in_flight: 10, limit: 10, queued: 3, local_load: 0.1, outcome: Outcome::Success,
///     seq: 0, granted: 0, done_below: 0, requests_ended: 0, group: 0,
/// };
/// assert_eq!(aimd.on_sample(&sample), 11);
/// sample.outcome = Outcome::Timeout;
/// assert_eq!(aimd.on_sample(&sample), 9); // floor(11 * 0.9)
/// ```
#[derive(Debug, Clone)]
pub struct Aimd {
    config: StrategyConfig,
    limit: usize,
    backoff_ratio: f64,
    timeout: Duration,
    reason: &'static str,
}

impl Aimd {
    /// Multiplier applied on a drop. Netflix's default, `0.9`.
    const DEFAULT_BACKOFF_RATIO: f64 = 0.9;
    /// A successful call slower than this counts as a drop. Netflix's default, 5 s.
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Starts at `config.initial_concurrency` with the default backoff ratio (`0.9`) and
    /// timeout (5 s).
    pub fn new(config: StrategyConfig) -> Self {
        Self {
            config,
            limit: config.clamp(config.initial_concurrency),
            backoff_ratio: Self::DEFAULT_BACKOFF_RATIO,
            timeout: Self::DEFAULT_TIMEOUT,
            reason: "initial limit",
        }
    }

    /// Sets the multiplier applied on a drop, clamped to `[0.5, 0.99]`.
    /// By default, this is `0.9`.
    #[must_use]
    pub fn with_backoff_ratio(mut self, ratio: f64) -> Self {
        self.backoff_ratio = if ratio.is_finite() {
            ratio.clamp(0.5, 0.99)
        } else {
            0.9
        };
        self
    }

    /// Sets the latency above which a successful call counts as a drop.
    /// By default, this is 5 s.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl ScalingStrategy for Aimd {
    fn name(&self) -> &'static str {
        "aimd"
    }

    fn limit(&self) -> usize {
        self.limit
    }

    fn on_sample(&mut self, sample: &Sample) -> usize {
        let limit = self.limit;
        let dropped = match sample.outcome {
            Outcome::Error => Some("error: backoff"),
            Outcome::Timeout => Some("timeout: backoff"),
            Outcome::Success if sample.rtt > self.timeout => {
                Some("call slower than timeout: backoff")
            }
            Outcome::Success => None,
        };
        let next = if let Some(reason) = dropped {
            self.reason = reason;
            let backed_off = (limit as f64 * self.backoff_ratio).floor() as usize;
            backed_off.min(limit.saturating_sub(1)).max(1)
        } else if sample.in_flight * 2 >= limit {
            self.reason = "saturated success: +1";
            limit + 1
        } else {
            // App-limited: the limit is not in use, so a success says nothing about it.
            return limit;
        };
        self.limit = self.config.clamp(next);
        self.limit
    }

    fn reason(&self) -> &str {
        self.reason
    }

    fn warm_start(&mut self, limit: usize) {
        self.limit = self.config.clamp(limit);
        self.reason = "warm start";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(in_flight: usize, outcome: Outcome, rtt_ms: u64) -> Sample {
        Sample {
            now: Duration::from_secs(1),
            rtt: Duration::from_millis(rtt_ms),
            batch_size: 10,
            loads: 10,
            in_flight,
            limit: in_flight,
            queued: 0,
            local_load: 0.0,
            outcome,
            seq: 0,
            granted: 0,
            done_below: 0,
            requests_ended: 0,
            group: 0,
        }
    }

    fn aimd(initial: usize) -> Aimd {
        Aimd::new(StrategyConfig {
            initial_concurrency: initial,
            ..StrategyConfig::default()
        })
    }

    #[test]
    fn increases_by_one_per_saturated_success() {
        let mut aimd = aimd(10);
        for expected in 11..=20 {
            let in_flight = aimd.limit();
            assert_eq!(
                aimd.on_sample(&sample(in_flight, Outcome::Success, 5)),
                expected
            );
        }
        assert_eq!(aimd.reason(), "saturated success: +1");
    }

    #[test]
    fn holds_when_the_limit_is_not_in_use() {
        let mut aimd = aimd(20);
        for _ in 0..100 {
            assert_eq!(aimd.on_sample(&sample(9, Outcome::Success, 5)), 20);
        }
        // Half the limit in flight counts as in use.
        assert_eq!(aimd.on_sample(&sample(10, Outcome::Success, 5)), 21);
    }

    #[test]
    fn backs_off_on_timeout() {
        let mut aimd = aimd(100);
        assert_eq!(aimd.on_sample(&sample(100, Outcome::Timeout, 5)), 90);
        assert_eq!(aimd.on_sample(&sample(90, Outcome::Timeout, 5)), 81);
        assert_eq!(aimd.reason(), "timeout: backoff");
    }

    #[test]
    fn backs_off_on_error_and_on_a_call_slower_than_the_timeout() {
        let mut aimd = aimd(50).with_timeout(Duration::from_millis(100));
        assert_eq!(aimd.on_sample(&sample(50, Outcome::Error, 5)), 45);
        assert_eq!(aimd.on_sample(&sample(45, Outcome::Success, 101)), 40);
        assert_eq!(aimd.on_sample(&sample(40, Outcome::Success, 100)), 41);
    }

    #[test]
    fn small_limits_still_shrink_by_at_least_one_and_never_reach_zero() {
        let mut aimd = aimd(5);
        let seen: Vec<usize> = (0..6)
            .map(|_| aimd.on_sample(&sample(5, Outcome::Error, 5)))
            .collect();
        assert_eq!(seen, vec![4, 3, 2, 1, 1, 1]);
    }

    #[test]
    fn stays_within_the_configured_bounds() {
        let mut aimd = Aimd::new(StrategyConfig {
            min_concurrency: 3,
            initial_concurrency: 4,
            max_concurrency: 6,
        });
        for _ in 0..20 {
            aimd.on_sample(&sample(10, Outcome::Success, 5));
        }
        assert_eq!(aimd.limit(), 6);
        for _ in 0..20 {
            aimd.on_sample(&sample(10, Outcome::Error, 5));
        }
        assert_eq!(aimd.limit(), 3);
    }
}
