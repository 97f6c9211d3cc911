//! One measurement window of the adaptive controller: the samples completed since the last
//! decision, summarised as goodput, latency, error rate, local load and how much of the limit
//! was in use.

use std::time::Duration;

use crate::limit::{Outcome, Sample};

/// How long a window must run before it is judged.
///
/// A window closes when it has at least `min_samples` samples *and* lasted `min_duration`,
/// and either its goodput is known to `target_se` (relative standard error) or it reached
/// `max_samples` / `max_duration`. Noisy latencies therefore get longer windows, steady ones
/// shorter: the controller decides as soon as the evidence is good enough, no sooner.
#[derive(Debug, Clone, Copy)]
pub(super) struct WindowPolicy {
    pub(super) min_samples: u32,
    pub(super) min_duration: Duration,
    pub(super) target_se: f64,
    pub(super) max_samples: u32,
    pub(super) max_duration: Duration,
}

/// The running sums of the current window.
#[derive(Debug, Clone, Default)]
pub(super) struct Window {
    start: Option<Duration>,
    last: Duration,
    samples: u32,
    failures: u32,
    /// Keys of successful calls.
    good_keys: f64,
    rtt_sum: f64,
    rtt_sq_sum: f64,
    /// Sum of squared good keys per call, and of good keys × rtt: the spread of the ratio
    /// `Σ good keys / Σ rtt`.
    keys_sq_sum: f64,
    keys_rtt_sum: f64,
    in_flight_sum: f64,
    used: u32,
    load_sum: f64,
    requests: RequestCount,
}

/// The requests that ended during a window, from the running count each sample carries
/// ([`Sample::requests_ended`]), summed in blocks of [`RequestCount::BLOCK`] so that the
/// rate's spread is known too.
///
/// Requests end in clumps (the last batches of several requests finish together), so the
/// increments between consecutive samples vary far more than the count over a window does:
/// a spread taken over them overstated the rate's error several times (steps of +20% were
/// "within the noise"). Blocks of 100 ms smooth the clumps and keep the slower swings.
#[derive(Debug, Clone, Default)]
struct RequestCount {
    /// The latest sample's time and count.
    last: Option<(Duration, u64)>,
    /// The block being filled: requests and seconds.
    block: (f64, f64),
    blocks: u32,
    ended: f64,
    seconds: f64,
    ended_sq_sum: f64,
    ended_seconds_sum: f64,
    seconds_sq_sum: f64,
}

impl RequestCount {
    /// The length of one block.
    const BLOCK: f64 = 0.1;

    fn add(&mut self, now: Duration, count: u64) {
        let Some((at, before)) = self.last else {
            self.last = Some((now, count));
            return;
        };
        // Samples may arrive slightly out of order (calls finishing together): the
        // increments stay non-negative and the latest time and count are kept.
        self.block.0 += count.saturating_sub(before) as f64;
        self.block.1 += now.saturating_sub(at).as_secs_f64();
        self.last = Some((now.max(at), count.max(before)));
        if self.block.1 >= Self::BLOCK {
            self.close_block();
        }
    }

    fn close_block(&mut self) {
        let (ended, seconds) = std::mem::take(&mut self.block);
        if seconds <= 0.0 {
            return;
        }
        self.blocks += 1;
        self.ended += ended;
        self.seconds += seconds;
        self.ended_sq_sum += ended * ended;
        self.ended_seconds_sum += ended * seconds;
        self.seconds_sq_sum += seconds * seconds;
    }

    /// Requests ended per second, with its relative standard error (the ratio estimator's
    /// over the blocks, as for the keys; with fewer than four blocks, a Poisson count's),
    /// once at least [`RequestRate::MIN_REQUESTS`] ended.
    fn rate(&self) -> Option<RequestRate> {
        let mut all = self.clone();
        all.close_block();
        if all.ended < RequestRate::MIN_REQUESTS || all.seconds <= 0.0 {
            return None;
        }
        let per_s = all.ended / all.seconds;
        let se = if all.blocks >= 4 {
            let residual = all.ended_sq_sum - 2.0 * per_s * all.ended_seconds_sum
                + per_s * per_s * all.seconds_sq_sum;
            residual.max(0.0).sqrt() / all.ended
        } else {
            1.0 / all.ended.sqrt()
        };
        Some(RequestRate {
            per_s,
            se: se.max(0.005),
        })
    }
}

/// Requests served per second over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RequestRate {
    pub(super) per_s: f64,
    /// Relative standard error of `per_s`.
    pub(super) se: f64,
}

impl RequestRate {
    /// Fewer ended requests than this in a window say too little: it is judged by keys.
    pub(super) const MIN_REQUESTS: f64 = 16.0;
}

/// What a closed window measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct WindowStats {
    /// Seconds between the first and the last sample.
    pub(super) duration_s: f64,
    pub(super) samples: u32,
    /// Errors and timeouts over all samples.
    pub(super) error_rate: f64,
    /// Keys of successful calls per second, by Little's law:
    /// `mean(in_flight) × Σ good keys / Σ rtt`.
    pub(super) goodput: f64,
    /// Relative standard error of `goodput` (from the spread of keys per unit of RTT).
    pub(super) se: f64,
    /// Mean RTT in seconds.
    pub(super) rtt: f64,
    /// Relative standard error of `rtt`.
    pub(super) rtt_se: f64,
    /// Mean in-flight calls at dispatch.
    pub(super) in_flight: f64,
    /// Fraction of samples dispatched with the limit (nearly) full or with work queued.
    pub(super) used: f64,
    /// Mean local load.
    pub(super) local_load: f64,
    /// Requests admitted at the engine's door that ended per second, when enough did.
    pub(super) requests: Option<RequestRate>,
}

impl Window {
    pub(super) fn add(&mut self, sample: &Sample) {
        let now = sample.now;
        self.start.get_or_insert(now);
        let good = if sample.outcome == Outcome::Success {
            sample.batch_size as f64
        } else {
            0.0
        };
        self.good_keys += good;
        self.last = self.last.max(now);
        self.samples += 1;
        if sample.outcome != Outcome::Success {
            self.failures += 1;
        }
        let rtt = sample.rtt.as_secs_f64();
        self.rtt_sum += rtt;
        self.rtt_sq_sum += rtt * rtt;
        self.keys_sq_sum += good * good;
        self.keys_rtt_sum += good * rtt;
        self.in_flight_sum += sample.in_flight as f64;
        // "In use": dispatched with at most 10% of the limit free (none below 10), or with work
        // waiting for a permit. Only then does the goodput say anything about the limit.
        let slack = sample.limit / 10;
        if sample.queued > 0 || sample.in_flight + slack >= sample.limit.max(1) {
            self.used += 1;
        }
        self.load_sum += sample.local_load.clamp(0.0, 1.0);
        self.requests.add(now, sample.requests_ended);
    }

    pub(super) fn samples(&self) -> u32 {
        self.samples
    }

    /// Fraction of the samples so far dispatched with the limit in use.
    pub(super) fn used_fraction(&self) -> f64 {
        f64::from(self.used) / f64::from(self.samples.max(1))
    }

    fn duration(&self) -> Duration {
        self.start
            .map_or(Duration::ZERO, |start| self.last.saturating_sub(start))
    }

    /// Relative standard error of the goodput measured so far.
    ///
    /// Goodput is a ratio estimator, `R = Σ keys / Σ rtt` (times the mean in-flight); by the
    /// delta method its relative variance is `mean((keys - R·rtt)²) / (n · mean(keys)²)`. Calls
    /// whose RTT is proportional to their size thus add no noise, unlike independent spreads.
    fn se(&self) -> f64 {
        if self.samples < 2 || self.good_keys <= 0.0 || self.rtt_sum <= 0.0 {
            return 1.0;
        }
        let n = f64::from(self.samples);
        let ratio = self.good_keys / self.rtt_sum;
        let residual = (self.keys_sq_sum - 2.0 * ratio * self.keys_rtt_sum
            + ratio * ratio * self.rtt_sq_sum)
            / n;
        let mean_keys = self.good_keys / n;
        (residual.max(0.0) / (n * mean_keys * mean_keys))
            .sqrt()
            .max(0.005)
    }

    /// Relative standard error of what the window will be judged by: requests per second
    /// when enough ended (see `objective.rs`), keys per second otherwise.
    fn objective_se(&self) -> f64 {
        let keys = self.se();
        self.requests.rate().map_or(keys, |rate| rate.se.max(keys))
    }

    pub(super) fn is_ready(&self, policy: &WindowPolicy) -> bool {
        let duration = self.duration();
        if duration >= policy.max_duration && self.samples >= 4 {
            return true;
        }
        self.samples >= policy.min_samples
            && duration >= policy.min_duration
            && (self.objective_se() <= policy.target_se || self.samples >= policy.max_samples)
    }

    /// Summarises the window and starts a new one.
    pub(super) fn finish(&mut self) -> WindowStats {
        let n = f64::from(self.samples.max(1));
        let duration_s = self.duration().as_secs_f64();
        let stats = WindowStats {
            duration_s,
            samples: self.samples,
            error_rate: f64::from(self.failures) / n,
            // Little's law per call: `in_flight / rtt` calls per second, times the good keys
            // per call. Unlike completions per second it needs no clean time boundary: calls
            // still finishing from before a limit change do not inflate it.
            goodput: if self.rtt_sum > 0.0 {
                (self.in_flight_sum / n) * self.good_keys / self.rtt_sum
            } else {
                0.0
            },
            se: self.se(),
            rtt: self.rtt_sum / n,
            rtt_se: {
                let mean = self.rtt_sum / n;
                if mean > 0.0 {
                    ((self.rtt_sq_sum / n - mean * mean).max(0.0) / n).sqrt() / mean
                } else {
                    1.0
                }
            },
            in_flight: self.in_flight_sum / n,
            used: f64::from(self.used) / n,
            local_load: self.load_sum / n,
            requests: self.requests.rate(),
        };
        *self = Window::default();
        stats
    }

    /// Forgets the samples collected so far (they were measured under another limit).
    pub(super) fn reset(&mut self) {
        *self = Window::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64, rtt_ms: u64, keys: usize, outcome: Outcome) -> Sample {
        Sample {
            now: Duration::from_millis(ms),
            rtt: Duration::from_millis(rtt_ms),
            batch_size: keys,
            in_flight: 8,
            limit: 8,
            queued: 0,
            local_load: 0.5,
            outcome,
            requests_ended: 0,
        }
    }

    #[test]
    fn measures_goodput_error_rate_and_use() {
        let mut window = Window::default();
        for i in 0..=10 {
            let outcome = if i == 5 {
                Outcome::Error
            } else {
                Outcome::Success
            };
            window.add(&sample(100 + i * 10, 5, 10, outcome));
        }
        let stats = window.finish();
        assert_eq!(stats.samples, 11);
        // 8 calls in flight of 5 ms each: 1600 calls/s, 10 of 11 successful, 10 keys each.
        let expected = 1600.0 * 10.0 * 10.0 / 11.0;
        assert!((stats.goodput - expected).abs() < 1e-6, "{}", stats.goodput);
        assert!((stats.error_rate - 1.0 / 11.0).abs() < 1e-9);
        assert_eq!(stats.used, 1.0);
        assert!((stats.rtt - 0.005).abs() < 1e-12);
        assert_eq!(window.samples(), 0);
    }

    #[test]
    fn counts_the_requests_that_ended_during_the_window() {
        // One request ends every 10 ms: 100 per second, as steady as it gets.
        let mut window = Window::default();
        for i in 0..=40u64 {
            let mut s = sample(i * 10, 5, 10, Outcome::Success);
            s.requests_ended = 1000 + i;
            window.add(&s);
        }
        let rate = window.finish().requests.expect("40 requests ended");
        assert!((rate.per_s - 100.0).abs() < 1e-9, "{}", rate.per_s);
        assert_eq!(rate.se, 0.005);

        // In clumps (four at once every 40 ms) for 2 s: the blocks of 100 ms smooth them out
        // (the increments between samples would give 0.12).
        for i in 0..=200u64 {
            let mut s = sample(i * 10, 5, 10, Outcome::Success);
            s.requests_ended = 1000 + i / 4 * 4;
            window.add(&s);
        }
        let clumped = window.finish().requests.expect("200 requests ended");
        assert!((clumped.per_s - 100.0).abs() < 1e-9, "{}", clumped.per_s);
        assert!(clumped.se < 0.06, "{}", clumped.se);

        // Swings over longer times (200 ms at 150/s, 200 ms at 50/s): a larger error.
        let mut count = 0;
        for i in 0..=80u64 {
            let mut s = sample(i * 10, 5, 10, Outcome::Success);
            count += if (i / 20) % 2 == 0 { 3 } else { 1 };
            s.requests_ended = count / 2;
            window.add(&s);
        }
        let swinging = window.finish().requests.expect("80 requests ended");
        assert!((swinging.per_s - 100.0).abs() < 2.0, "{}", swinging.per_s);
        assert!(swinging.se > 0.1, "{}", swinging.se);

        // Too few requests (or an engine that admits none): judged by keys alone.
        for i in 0..=40u64 {
            let mut s = sample(i * 10, 5, 10, Outcome::Success);
            s.requests_ended = i / 4;
            window.add(&s);
        }
        assert_eq!(window.finish().requests, None);
    }

    #[test]
    fn noisy_windows_need_more_samples_than_steady_ones() {
        let policy = WindowPolicy {
            min_samples: 8,
            min_duration: Duration::ZERO,
            target_se: 0.05,
            max_samples: 10_000,
            max_duration: Duration::from_secs(10),
        };
        let mut steady = Window::default();
        let mut noisy = Window::default();
        let mut steady_ready = None;
        let mut noisy_ready = None;
        for i in 0..2000u64 {
            steady.add(&sample(i, 5, 10, Outcome::Success));
            noisy.add(&sample(
                i,
                if i % 2 == 0 { 1 } else { 20 },
                10,
                Outcome::Success,
            ));
            if steady_ready.is_none() && steady.is_ready(&policy) {
                steady_ready = Some(i);
            }
            if noisy_ready.is_none() && noisy.is_ready(&policy) {
                noisy_ready = Some(i);
            }
        }
        assert_eq!(steady_ready, Some(7));
        assert!(noisy_ready.unwrap() > 100, "{noisy_ready:?}");
    }
}
