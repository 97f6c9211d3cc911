//! `WindowedStats`: counters and histograms over a sliding `metrics_window`.
//!
//! The window is a ring of ten buckets, each covering a tenth of the window. A record lands in
//! the bucket of its time; a bucket left over from an older lap of the ring is reset first. A
//! summary merges the buckets still inside the window, so figures fade out smoothly instead of
//! dropping to zero at each window boundary.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::{GroupSnapshot, Percentiles};

const BUCKETS: u64 = 10;
/// Latencies and waits are recorded in microseconds up to an hour.
const MAX_MICROS: u64 = 3_600_000_000;
const MAX_BATCH: u64 = 10_000_000;

/// How a batch call ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchEnd {
    Success,
    Error,
    Panicked,
    Timeout,
}

/// One finished batch call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchRecord {
    pub(crate) keys: usize,
    pub(crate) loads: usize,
    pub(crate) latency: Duration,
    pub(crate) queue_wait: Duration,
    pub(crate) end: BatchEnd,
}

#[derive(Debug, Clone)]
struct Bucket {
    epoch: u64,
    counts: Counts,
    latency_us: Histogram<u32>,
    queue_wait_us: Histogram<u32>,
    batch_size: Histogram<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    batches: u64,
    keys: u64,
    loads: u64,
    errors: u64,
    panics: u64,
    timeouts: u64,
    shed: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.batches += o.batches;
        self.keys += o.keys;
        self.loads += o.loads;
        self.errors += o.errors;
        self.panics += o.panics;
        self.timeouts += o.timeouts;
        self.shed += o.shed;
    }
}

fn histogram(max: u64) -> Histogram<u32> {
    Histogram::new_with_bounds(1, max, 2).expect("static histogram bounds are valid")
}

impl Bucket {
    fn new() -> Self {
        Self {
            epoch: u64::MAX,
            counts: Counts::default(),
            latency_us: histogram(MAX_MICROS),
            queue_wait_us: histogram(MAX_MICROS),
            batch_size: histogram(MAX_BATCH),
        }
    }

    fn reset(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.counts = Counts::default();
        self.latency_us.reset();
        self.queue_wait_us.reset();
        self.batch_size.reset();
    }
}

/// Sliding-window statistics of one query group.
#[derive(Debug, Clone)]
pub(crate) struct WindowedStats {
    bucket_len: Duration,
    buckets: Vec<Bucket>,
}

impl WindowedStats {
    pub(crate) fn new(window: Duration) -> Self {
        let bucket_len = (window / BUCKETS as u32).max(Duration::from_micros(1));
        Self {
            bucket_len,
            buckets: (0..BUCKETS).map(|_| Bucket::new()).collect(),
        }
    }

    fn epoch(&self, now: Duration) -> u64 {
        (now.as_nanos() / self.bucket_len.as_nanos()) as u64
    }

    fn bucket(&mut self, now: Duration) -> &mut Bucket {
        let epoch = self.epoch(now);
        let bucket = &mut self.buckets[(epoch % BUCKETS) as usize];
        if bucket.epoch != epoch {
            bucket.reset(epoch);
        }
        bucket
    }

    /// Records one finished batch call at `now` (time since engine start).
    pub(crate) fn record_batch(&mut self, now: Duration, r: &BatchRecord) {
        let bucket = self.bucket(now);
        let c = &mut bucket.counts;
        c.batches += 1;
        c.keys += r.keys as u64;
        c.loads += r.loads as u64;
        match r.end {
            BatchEnd::Success => {}
            BatchEnd::Error => c.errors += 1,
            BatchEnd::Panicked => c.panics += 1,
            BatchEnd::Timeout => c.timeouts += 1,
        }
        bucket
            .latency_us
            .saturating_record((r.latency.as_micros() as u64).max(1));
        bucket
            .queue_wait_us
            .saturating_record((r.queue_wait.as_micros() as u64).max(1));
        bucket.batch_size.saturating_record((r.keys as u64).max(1));
    }

    /// Records a load refused by back-pressure.
    pub(crate) fn record_shed(&mut self, now: Duration) {
        self.bucket(now).counts.shed += 1;
    }

    /// Merges the buckets still inside the window ending at `now`.
    pub(crate) fn summary(&self, now: Duration) -> WindowSummary {
        let current = self.epoch(now);
        let oldest = (current + 1).saturating_sub(BUCKETS);
        let mut summary = WindowSummary::empty();
        for bucket in &self.buckets {
            if bucket.epoch != u64::MAX && bucket.epoch >= oldest && bucket.epoch <= current {
                summary.counts.add(&bucket.counts);
                // Same bounds everywhere: addition cannot fail.
                let _ = summary.latency_us.add(&bucket.latency_us);
                let _ = summary.queue_wait_us.add(&bucket.queue_wait_us);
                let _ = summary.batch_size.add(&bucket.batch_size);
            }
        }
        let window_start = self.bucket_len * oldest as u32;
        summary.covered = now.saturating_sub(window_start);
        summary
    }
}

/// The merged content of a window (one group, or all groups).
#[derive(Debug, Clone)]
pub(crate) struct WindowSummary {
    counts: Counts,
    latency_us: Histogram<u32>,
    queue_wait_us: Histogram<u32>,
    batch_size: Histogram<u32>,
    covered: Duration,
}

impl WindowSummary {
    pub(crate) fn empty() -> Self {
        Self {
            counts: Counts::default(),
            latency_us: histogram(MAX_MICROS),
            queue_wait_us: histogram(MAX_MICROS),
            batch_size: histogram(MAX_BATCH),
            covered: Duration::ZERO,
        }
    }

    /// Adds another group's summary (for the engine total).
    pub(crate) fn merge(&mut self, o: &WindowSummary) {
        self.counts.add(&o.counts);
        let _ = self.latency_us.add(&o.latency_us);
        let _ = self.queue_wait_us.add(&o.queue_wait_us);
        let _ = self.batch_size.add(&o.batch_size);
        self.covered = self.covered.max(o.covered);
    }

    fn rate(&self, n: u64) -> f64 {
        let secs = self.covered.as_secs_f64();
        if secs <= 0.0 { 0.0 } else { n as f64 / secs }
    }

    /// The window's part of a group snapshot; the caller fills the live fields.
    pub(crate) fn to_snapshot(&self) -> GroupSnapshot {
        let c = &self.counts;
        let failed = c.errors + c.panics + c.timeouts;
        GroupSnapshot {
            batches_per_s: self.rate(c.batches),
            keys_per_s: self.rate(c.keys),
            loads_per_s: self.rate(c.loads),
            error_rate: if c.batches == 0 {
                0.0
            } else {
                failed as f64 / c.batches as f64
            },
            latency_ms: percentiles(&self.latency_us, 1e-3),
            queue_wait_ms: percentiles(&self.queue_wait_us, 1e-3),
            batch_size: percentiles(&self.batch_size, 1.0),
            shed: c.shed,
            timeouts: c.timeouts,
            panics: c.panics,
            errors: c.errors,
            batches: c.batches,
            ..GroupSnapshot::default()
        }
    }
}

fn percentiles(h: &Histogram<u32>, scale: f64) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        p50: h.value_at_quantile(0.50) as f64 * scale,
        p90: h.value_at_quantile(0.90) as f64 * scale,
        p99: h.value_at_quantile(0.99) as f64 * scale,
        max: h.max() as f64 * scale,
        mean: h.mean() * scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(keys: usize, latency_ms: u64, end: BatchEnd) -> BatchRecord {
        BatchRecord {
            keys,
            loads: keys * 2,
            latency: Duration::from_millis(latency_ms),
            queue_wait: Duration::from_micros(100),
            end,
        }
    }

    #[test]
    fn rates_and_percentiles_cover_the_window() {
        let mut stats = WindowedStats::new(Duration::from_secs(10));
        for i in 0..100u64 {
            let end = if i % 10 == 0 {
                BatchEnd::Error
            } else {
                BatchEnd::Success
            };
            stats.record_batch(Duration::from_millis(i * 100), &rec(10, i + 1, end));
        }
        let snap = stats.summary(Duration::from_millis(9950)).to_snapshot();
        assert_eq!(snap.batches, 100);
        assert_eq!(snap.errors, 10);
        assert!((snap.error_rate - 0.1).abs() < 1e-9);
        assert!((snap.keys_per_s - 100.0).abs() < 1.0, "{}", snap.keys_per_s);
        assert!((snap.loads_per_s - 200.0).abs() < 2.0);
        assert!(
            (snap.latency_ms.p50 - 50.0).abs() < 1.0,
            "{:?}",
            snap.latency_ms
        );
        assert!(
            (snap.latency_ms.p99 - 99.0).abs() < 1.5,
            "{:?}",
            snap.latency_ms
        );
        assert_eq!(snap.batch_size.max, 10.0);
    }

    #[test]
    fn old_records_leave_the_window() {
        let mut stats = WindowedStats::new(Duration::from_secs(1));
        stats.record_batch(Duration::from_millis(50), &rec(5, 1, BatchEnd::Timeout));
        stats.record_shed(Duration::from_millis(60));
        let early = stats.summary(Duration::from_millis(500)).to_snapshot();
        assert_eq!((early.batches, early.timeouts, early.shed), (1, 1, 1));
        stats.record_batch(Duration::from_millis(1500), &rec(5, 1, BatchEnd::Panicked));
        let late = stats.summary(Duration::from_millis(1500)).to_snapshot();
        assert_eq!(
            (late.batches, late.timeouts, late.panics, late.shed),
            (1, 0, 1, 0)
        );
    }

    #[test]
    fn merged_summaries_add_up() {
        let mut a = WindowedStats::new(Duration::from_secs(1));
        let mut b = WindowedStats::new(Duration::from_secs(1));
        a.record_batch(Duration::from_millis(100), &rec(3, 1, BatchEnd::Success));
        b.record_batch(Duration::from_millis(200), &rec(7, 2, BatchEnd::Success));
        let mut total = a.summary(Duration::from_millis(900));
        total.merge(&b.summary(Duration::from_millis(900)));
        let snap = total.to_snapshot();
        assert_eq!(snap.batches, 2);
        assert_eq!(snap.batch_size.max, 7.0);
    }
}
