//! `GroupState`: what the engine knows about one query group, whatever its key type.
//!
//! Shared by every `Loader` of the group: the learned cost model and the target batch size it
//! implies, queue and in-flight counts, and the windowed statistics. Recording happens once
//! per batch call (one short lock), never per key; the queue counters are atomics.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use parking_lot::Mutex;

use crate::{
    LearnedGroup, QueryGroup,
    batch::CostModel,
    batch::Spread,
    metrics::{BatchRecord, GroupSnapshot, ThroughputTicker, WindowSummary, WindowedStats},
};

pub(crate) struct GroupState {
    pub(crate) name: QueryGroup,
    /// Index of the group in the fair scheduler.
    pub(crate) id: usize,
    queued: AtomicUsize,
    engine_queued: Arc<AtomicUsize>,
    /// Engine-wide figures that cap a batch's size while permits are free.
    pub(crate) spread: Arc<Spread>,
    in_flight: AtomicUsize,
    target_batch_size: AtomicUsize,
    max_batch_size: usize,
    target_response_time: Duration,
    cost: Mutex<CostModel>,
    stats: Mutex<Stats>,
    shed_total: AtomicU64,
}

struct Stats {
    window: WindowedStats,
    ticker: ThroughputTicker,
}

/// Settings a group takes from the engine configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupSettings {
    pub(crate) max_batch_size: usize,
    pub(crate) target_response_time: Duration,
    pub(crate) metrics_window: Duration,
}

impl GroupState {
    pub(crate) fn new(
        name: QueryGroup,
        id: usize,
        settings: GroupSettings,
        engine_queued: Arc<AtomicUsize>,
        spread: Arc<Spread>,
        now: Duration,
        limit: usize,
    ) -> Self {
        Self {
            name,
            id,
            queued: AtomicUsize::new(0),
            engine_queued,
            spread,
            in_flight: AtomicUsize::new(0),
            target_batch_size: AtomicUsize::new(
                CostModel::default()
                    .target_batch_size(settings.target_response_time, settings.max_batch_size),
            ),
            max_batch_size: settings.max_batch_size,
            target_response_time: settings.target_response_time,
            cost: Mutex::new(CostModel::default()),
            stats: Mutex::new(Stats {
                window: WindowedStats::new(settings.metrics_window),
                ticker: ThroughputTicker::new(settings.metrics_window / 10, now, limit),
            }),
            shed_total: AtomicU64::new(0),
        }
    }

    /// Keys a new batch of this group collects before it is flushed.
    pub(crate) fn target_batch_size(&self) -> usize {
        self.target_batch_size.load(Ordering::Relaxed)
    }

    /// `n` loads of this group started waiting.
    pub(crate) fn enqueue(&self, n: usize) {
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.engine_queued.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` loads stopped waiting (dispatched or gone).
    pub(crate) fn dequeue(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::Relaxed);
        self.engine_queued.fetch_sub(n, Ordering::Relaxed);
    }

    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The size at which an open batch of this group that mixes requests is sealed to spread
    /// the work over the permits (see `batch/spread.rs`), or `None` when no permit is free.
    pub(crate) fn spread_cap(&self) -> Option<usize> {
        self.spread.cap(self.target_batch_size())
    }

    /// A call of `keys` keys started.
    pub(crate) fn call_started(&self, keys: usize) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.spread.call_started(keys);
    }

    /// A call of `keys` keys ended (or was cut).
    pub(crate) fn call_ended(&self, keys: usize) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.spread.call_ended(keys);
    }

    /// A successful call: feeds the cost model and recomputes the target batch size.
    pub(crate) fn observe_cost(&self, keys: usize, rtt: Duration) {
        let mut cost = self.cost.lock();
        cost.observe(keys, rtt);
        let target = cost.target_batch_size(self.target_response_time, self.max_batch_size);
        self.target_batch_size.store(target, Ordering::Relaxed);
    }

    /// Records a finished batch call; `limit` is the engine limit from now on.
    pub(crate) fn record_batch(&self, now: Duration, record: &BatchRecord, limit: usize) {
        let mut stats = self.stats.lock();
        stats.window.record_batch(now, record);
        stats.ticker.observe(now, record.keys, limit);
    }

    pub(crate) fn record_shed(&self, now: Duration) {
        self.shed_total.fetch_add(1, Ordering::Relaxed);
        self.stats.lock().window.record_shed(now);
    }

    /// The window summary (for the engine total) and this group's snapshot.
    pub(crate) fn snapshot(&self, now: Duration) -> (WindowSummary, GroupSnapshot) {
        let summary = self.stats.lock().window.summary(now);
        let mut snap = summary.to_snapshot();
        snap.in_flight = self.in_flight.load(Ordering::Relaxed);
        snap.queued = self.queued();
        snap.target_batch_size = self.target_batch_size();
        snap.cost = self.cost.lock().estimate();
        (summary, snap)
    }

    pub(crate) fn learned(&self) -> LearnedGroup {
        LearnedGroup {
            cost: self.cost.lock().estimate(),
            best_limit: self.stats.lock().ticker.best_limit(),
        }
    }

    /// Adopts learned costs (the batch size follows at once) and the best limit.
    pub(crate) fn restore(&self, learned: &LearnedGroup) {
        let model = CostModel::from_estimate(&learned.cost);
        let target = model.target_batch_size(self.target_response_time, self.max_batch_size);
        *self.cost.lock() = model;
        self.target_batch_size.store(target, Ordering::Relaxed);
        if let Some(limit) = learned.best_limit {
            self.stats.lock().ticker.seed_best(limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{BatchEnd, CostEstimate};

    fn group() -> (GroupState, Arc<AtomicUsize>) {
        let queued = Arc::new(AtomicUsize::new(0));
        let g = GroupState::new(
            QueryGroup::new("g"),
            3,
            GroupSettings {
                max_batch_size: 500,
                target_response_time: Duration::from_millis(20),
                metrics_window: Duration::from_secs(1),
            },
            queued.clone(),
            Arc::new(Spread::new(
                Arc::new(crate::dispatch::ConcurrencyLimit::new(4)),
                queued.clone(),
            )),
            Duration::ZERO,
            4,
        );
        (g, queued)
    }

    #[test]
    fn queue_counts_are_kept_per_group_and_for_the_engine() {
        let (g, engine) = group();
        g.enqueue(5);
        g.dequeue(2);
        assert_eq!(g.queued(), 3);
        assert_eq!(engine.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn observed_costs_set_the_target_batch_size() {
        let (g, _) = group();
        assert_eq!(g.target_batch_size(), 500);
        for n in [1usize, 10, 50, 100] {
            g.observe_cost(n, Duration::from_micros(4_000 + 200 * n as u64));
        }
        // (20 - 4) / 0.2 = 80
        assert_eq!(g.target_batch_size(), 80);
    }

    #[test]
    fn restored_costs_apply_at_once_and_are_learned_back() {
        let (g, _) = group();
        let learned = LearnedGroup {
            cost: CostEstimate {
                fixed_ms: 10.0,
                per_key_ms: 1.0,
                samples: 20,
            },
            best_limit: Some(9),
        };
        g.restore(&learned);
        assert_eq!(g.target_batch_size(), 10);
        let back = g.learned();
        assert_eq!(back.best_limit, Some(9));
        assert!((back.cost.per_key_ms - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_snapshot_combines_window_figures_and_live_counts() {
        let (g, _) = group();
        g.enqueue(2);
        g.call_started(1);
        g.record_batch(
            Duration::from_millis(100),
            &BatchRecord {
                keys: 4,
                loads: 6,
                latency: Duration::from_millis(3),
                queue_wait: Duration::from_micros(50),
                end: BatchEnd::Success,
            },
            4,
        );
        g.record_shed(Duration::from_millis(120));
        let (_, snap) = g.snapshot(Duration::from_millis(200));
        assert_eq!(
            (snap.batches, snap.shed, snap.queued, snap.in_flight),
            (1, 1, 2, 1)
        );
        assert_eq!(snap.batch_size.max, 4.0);
    }
}
