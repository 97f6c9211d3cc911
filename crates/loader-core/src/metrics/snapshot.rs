//! The serialisable view of the engine returned by [`Engine::snapshot`](crate::Engine::snapshot),
//! and how the engine assembles it.

use std::{collections::BTreeMap, sync::atomic::Ordering};

use serde::{Deserialize, Serialize};

use super::WindowSummary;

/// Everything the engine knows right now, over the last `metrics_window`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let engine = loader_core::Engine::builder().build().unwrap();
/// let snapshot = engine.snapshot();
/// assert_eq!(snapshot.limit, 4);
/// assert_eq!(snapshot.strategy, "adaptive");
/// println!("{}", serde_json::to_string_pretty(&snapshot).unwrap());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Name of the scaling strategy.
    pub strategy: String,
    /// Current concurrency limit.
    pub limit: usize,
    /// Batch calls executing now.
    pub in_flight: usize,
    /// Loads (key registrations) waiting to be dispatched.
    pub queued: usize,
    /// Last measured local runtime load, `0.0..=1.0`.
    pub local_load: f64,
    /// The window the rates and percentiles cover, in seconds.
    pub window_s: f64,
    /// All groups together.
    pub total: GroupSnapshot,
    /// Per query group, by name.
    pub groups: BTreeMap<String, GroupSnapshot>,
    /// Recent limit changes and periodic (limit, throughput) points, oldest first.
    pub limit_history: Vec<LimitPoint>,
    /// Requests refused at the door by [`Engine::admit_request`](crate::Engine::admit_request)
    /// since the engine started (standalone loads refused are each group's `shed`).
    #[serde(default)]
    pub requests_refused: u64,
    /// Requests admitted at the door and not ended yet.
    #[serde(default)]
    pub requests_in_flight: usize,
    /// Requests waiting at the door for a place.
    #[serde(default)]
    pub requests_waiting: usize,
    /// How many requests the door admits at once now (its law's cap).
    #[serde(default)]
    pub request_cap: usize,
    /// Whether an overload is on: the wait queue kept growing (more new work arrived than the
    /// downstream completed), so new work is admitted only when it can start at once and the
    /// rest is refused as `Overloaded` with [`OverloadReason::Overload`](crate::OverloadReason::Overload).
    #[serde(default)]
    pub overloaded: bool,
    /// Overloads seen since the engine started.
    #[serde(default)]
    pub overloads: u64,
    /// Permits held by the other replicas of the fleet on the same downstream, as last told
    /// by [`Engine::set_fleet`](crate::Engine::set_fleet) (0: alone).
    #[serde(default)]
    pub fleet_others: usize,
}

/// Figures of one query group (or of all of them) over the metrics window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupSnapshot {
    /// Batch calls per second.
    pub batches_per_s: f64,
    /// Keys (deduplicated, sent to the batch function) per second.
    pub keys_per_s: f64,
    /// Loads (key requests by callers, before deduplication) per second.
    pub loads_per_s: f64,
    /// Fraction of batch calls that failed (error, panic or timeout).
    pub error_rate: f64,
    /// Batch call duration, milliseconds.
    pub latency_ms: Percentiles,
    /// Time from a batch's first key to its dispatch (window + wait for a permit), ms.
    pub queue_wait_ms: Percentiles,
    /// Keys per batch call.
    pub batch_size: Percentiles,
    /// Batch calls of this group executing now.
    pub in_flight: usize,
    /// Loads of this group waiting to be dispatched.
    pub queued: usize,
    /// Loads refused with `Overloaded` in the window.
    pub shed: u64,
    /// Batch calls cut by the timeout in the window.
    pub timeouts: u64,
    /// Batch calls that panicked in the window.
    pub panics: u64,
    /// Batch calls that returned an error in the window.
    pub errors: u64,
    /// Batch calls in the window.
    pub batches: u64,
    /// The batch size the cost model currently aims for.
    pub target_batch_size: usize,
    /// The learned cost of one batch call.
    pub cost: CostEstimate,
}

/// Summary of a distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One point of the limit history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitPoint {
    /// Seconds since the engine started.
    pub t_s: f64,
    /// The limit: after the change for a change point, the time-weighted mean limit of the
    /// interval for a periodic (`"steady"`) point.
    pub limit: usize,
    /// Keys per second completed over the last interval.
    pub throughput: f64,
    /// Why the limit changed, or `"steady"` for a periodic point.
    pub reason: String,
}

/// The learned cost of one batch call of a group: `fixed_ms + per_key_ms * keys`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Cost of a call regardless of its size (round trip, planning), ms.
    pub fixed_ms: f64,
    /// Added cost of each key, ms.
    pub per_key_ms: f64,
    /// Successful calls the estimate is based on.
    pub samples: u64,
}

// Assembled on demand from the groups' intervals, the limit's history and the door.
impl crate::Engine {
    /// Everything the engine measured over the metrics window.
    pub fn snapshot(&self) -> Snapshot {
        let inner = &self.inner;
        let now = inner.now();
        let mut total = WindowSummary::empty();
        let mut groups = BTreeMap::new();
        let mut target = 0;
        for entry in inner.groups.iter() {
            let (summary, snap) = entry.value().snapshot(now);
            total.merge(&summary);
            target = target.max(snap.target_batch_size);
            groups.insert(entry.key().as_str().to_string(), snap);
        }
        let mut total = total.to_snapshot();
        total.in_flight = self.in_flight();
        total.queued = self.queued();
        total.target_batch_size = target;
        let door = inner.shed.figures();
        let (strategy, limit_history, fleet_others) = {
            let c = inner.controller.lock();
            (c.name().to_string(), c.history(), c.fleet_others())
        };
        Snapshot {
            strategy,
            limit: self.limit(),
            in_flight: self.in_flight(),
            queued: self.queued(),
            local_load: f64::from_bits(inner.local_load.load(Ordering::Relaxed)),
            window_s: inner.config.metrics_window.as_secs_f64(),
            total,
            groups,
            limit_history,
            requests_refused: door.refused,
            requests_in_flight: door.in_flight,
            requests_waiting: door.waiting,
            request_cap: door.cap,
            overloaded: door.overloaded,
            fleet_others,
            overloads: door.overloads,
        }
    }
}
