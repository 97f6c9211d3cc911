//! `RuntimeBusyProbe`: how busy the local tokio runtime is, as a fraction in `0.0..=1.0`.
//!
//! The busy ratio over an interval is the growth of the workers' total busy time divided by
//! the wall time elapsed times the number of workers (`RuntimeMetrics::num_workers` and
//! `worker_total_busy_duration`, stable since tokio 1.39 on 64-bit targets). The probe measures
//! against the real clock (`std::time::Instant`), not tokio's: busy durations are real time
//! even when a test pauses tokio's clock. It re-measures at most every 50 ms and returns the
//! cached ratio in between, so calling it after every batch stays cheap.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A source of the local runtime's load in `0.0..=1.0`.
pub(crate) type LocalLoadProbe = std::sync::Arc<dyn Fn() -> f64 + Send + Sync>;

const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// The default probe: the current tokio runtime's worker busy ratio (`0.0` outside a runtime).
#[derive(Debug, Default)]
pub(crate) struct RuntimeBusyProbe {
    state: Mutex<Option<Measure>>,
}

#[derive(Debug, Clone, Copy)]
struct Measure {
    at: Instant,
    busy: Duration,
    ratio: f64,
}

impl RuntimeBusyProbe {
    /// The busy ratio since the previous measurement (cached for 50 ms).
    pub(crate) fn sample(&self) -> f64 {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return 0.0;
        };
        let now = Instant::now();
        let mut state = self.state.lock();
        if let Some(m) = *state
            && now.duration_since(m.at) < MIN_INTERVAL
        {
            return m.ratio;
        }
        let metrics = handle.metrics();
        let workers = metrics.num_workers();
        let busy: Duration = (0..workers)
            .map(|w| metrics.worker_total_busy_duration(w))
            .sum();
        let ratio = match *state {
            Some(prev) => busy_ratio(
                busy.saturating_sub(prev.busy),
                now.duration_since(prev.at),
                workers,
            ),
            None => 0.0,
        };
        *state = Some(Measure {
            at: now,
            busy,
            ratio,
        });
        ratio
    }
}

/// Busy time over available worker time, clamped to `0.0..=1.0`.
pub(crate) fn busy_ratio(busy: Duration, elapsed: Duration, workers: usize) -> f64 {
    let available = elapsed.as_secs_f64() * workers as f64;
    if available <= 0.0 {
        return 0.0;
    }
    (busy.as_secs_f64() / available).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ratio_divides_busy_time_by_worker_time() {
        let r = busy_ratio(Duration::from_millis(150), Duration::from_millis(100), 2);
        assert!((r - 0.75).abs() < 1e-9);
        assert_eq!(
            busy_ratio(Duration::from_secs(9), Duration::from_secs(1), 2),
            1.0
        );
        assert_eq!(busy_ratio(Duration::from_secs(1), Duration::ZERO, 2), 0.0);
    }

    #[test]
    fn outside_a_runtime_the_load_is_zero() {
        assert_eq!(RuntimeBusyProbe::default().sample(), 0.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spinning_runtime_reads_as_busy() {
        let probe = RuntimeBusyProbe::default();
        assert_eq!(probe.sample(), 0.0, "first call only sets the baseline");
        // Workers publish their busy time when they park or run maintenance, so one interval
        // may not show the spin yet: spin and sample a few rounds and keep the highest ratio.
        let mut highest: f64 = 0.0;
        for _ in 0..20 {
            let spin = tokio::spawn(async {
                let end = Instant::now() + Duration::from_millis(60);
                while Instant::now() < end {
                    std::hint::spin_loop();
                }
            });
            spin.await.unwrap();
            tokio::task::yield_now().await;
            highest = highest.max(probe.sample());
            if highest > 0.2 {
                break;
            }
        }
        assert!(
            highest > 0.2,
            "one of two workers spun for whole intervals, yet the ratio stayed at {highest}"
        );
    }
}
