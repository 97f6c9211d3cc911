use std::collections::{BTreeMap, VecDeque};

use loader_core::Snapshot;
use serde::Serialize;

/// One query group at one instant, as charted by the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupPoint {
    /// Batch calls executing.
    pub in_flight: usize,
    /// Loads waiting for dispatch.
    pub queued: usize,
    /// Loads per second over the engine's metrics window.
    pub loads_per_s: f64,
    /// Distinct keys per second sent downstream.
    pub keys_per_s: f64,
    /// Batch calls per second.
    pub batches_per_s: f64,
    /// p99 batch latency in milliseconds.
    pub p99_ms: f64,
    /// Failed batch fraction (0..1).
    pub error_rate: f64,
    /// Loads shed so far.
    pub shed: u64,
}

/// The engine at one instant, as charted by the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPoint {
    /// Increasing sequence number, for incremental polling.
    pub seq: u64,
    /// Wall-clock time of the sample, milliseconds since the Unix epoch.
    pub t_ms: u64,
    /// The concurrency limit (shared by every group).
    pub limit: usize,
    /// Batch calls executing, all groups.
    pub in_flight: usize,
    /// Loads waiting, all groups.
    pub queued: usize,
    /// Loads per second, all groups.
    pub loads_per_s: f64,
    /// p99 batch latency in milliseconds, all groups.
    pub p99_ms: f64,
    /// Failed batch fraction, all groups.
    pub error_rate: f64,
    /// Per query group.
    pub groups: BTreeMap<String, GroupPoint>,
}

/// A bounded ring of [`HistoryPoint`]s: the newest `capacity` samples.
///
/// ```
/// use observability::dashboard::SnapshotHistory;
///
/// let history = SnapshotHistory::new(300);
/// assert!(history.is_empty());
/// assert_eq!(history.since(None).len(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotHistory {
    capacity: usize,
    next_seq: u64,
    points: VecDeque<HistoryPoint>,
}

impl SnapshotHistory {
    /// An empty history keeping at most `capacity` points (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            next_seq: 1,
            points: VecDeque::with_capacity(capacity),
        }
    }

    /// Records `snapshot` taken at `t_ms`, dropping the oldest point when full; returns
    /// the new point's sequence number.
    pub fn record(&mut self, snapshot: &Snapshot, t_ms: u64) -> u64 {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let groups = snapshot
            .groups
            .iter()
            .map(|(name, g)| {
                let point = GroupPoint {
                    in_flight: g.in_flight,
                    queued: g.queued,
                    loads_per_s: g.loads_per_s,
                    keys_per_s: g.keys_per_s,
                    batches_per_s: g.batches_per_s,
                    p99_ms: g.latency_ms.p99,
                    error_rate: g.error_rate,
                    shed: g.shed,
                };
                (name.clone(), point)
            })
            .collect();
        self.points.push_back(HistoryPoint {
            seq,
            t_ms,
            limit: snapshot.limit,
            in_flight: snapshot.in_flight,
            queued: snapshot.queued,
            loads_per_s: snapshot.total.loads_per_s,
            p99_ms: snapshot.total.latency_ms.p99,
            error_rate: snapshot.total.error_rate,
            groups,
        });
        seq
    }

    /// The points newer than sequence number `after` (all of them for `None`), oldest first.
    pub fn since(&self, after: Option<u64>) -> Vec<HistoryPoint> {
        let after = after.unwrap_or(0);
        self.points
            .iter()
            .filter(|p| p.seq > after)
            .cloned()
            .collect()
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no point was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The maximum number of points held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use loader_core::metrics::{GroupSnapshot, Percentiles};

    use super::*;

    fn snapshot(limit: usize, group_loads: &[(&str, f64)]) -> Snapshot {
        let groups = group_loads
            .iter()
            .map(|(name, loads)| {
                let g = GroupSnapshot {
                    loads_per_s: *loads,
                    latency_ms: Percentiles {
                        p99: 12.5,
                        ..Percentiles::default()
                    },
                    ..GroupSnapshot::default()
                };
                ((*name).to_owned(), g)
            })
            .collect();
        Snapshot {
            strategy: "adaptive".to_owned(),
            limit,
            in_flight: 1,
            queued: 2,
            local_load: 0.0,
            window_s: 10.0,
            total: GroupSnapshot::default(),
            groups,
            limit_history: Vec::new(),
            requests_refused: 0,
            requests_in_flight: 0,
            requests_waiting: 0,
            request_cap: 16,
            overloaded: false,
            overloads: 0,
            fleet_others: 0,
        }
    }

    #[test]
    fn full_history_drops_the_oldest_point() {
        let mut history = SnapshotHistory::new(3);
        for limit in 1..=5 {
            history.record(&snapshot(limit, &[]), limit as u64 * 1000);
        }
        let limits: Vec<usize> = history.since(None).iter().map(|p| p.limit).collect();
        assert_eq!(limits, [3, 4, 5]);
        assert_eq!(history.len(), 3);
    }

    #[test]
    fn since_returns_only_newer_points_in_order() {
        let mut history = SnapshotHistory::new(10);
        let first = history.record(&snapshot(4, &[]), 1);
        let second = history.record(&snapshot(5, &[]), 2);
        history.record(&snapshot(6, &[]), 3);
        assert!(second > first);
        let newer: Vec<usize> = history.since(Some(first)).iter().map(|p| p.limit).collect();
        assert_eq!(newer, [5, 6]);
        assert!(history.since(Some(u64::MAX)).is_empty());
    }

    #[test]
    fn points_carry_each_group_with_its_p99() {
        let mut history = SnapshotHistory::new(2);
        history.record(
            &snapshot(8, &[("users.by_id", 40.0), ("posts.by_author", 7.0)]),
            9,
        );
        let point = &history.since(None)[0];
        assert_eq!(point.groups.len(), 2);
        assert_eq!(point.groups["users.by_id"].loads_per_s, 40.0);
        assert_eq!(point.groups["posts.by_author"].p99_ms, 12.5);
        assert_eq!((point.t_ms, point.queued), (9, 2));
    }

    #[test]
    fn zero_capacity_still_keeps_the_latest_point() {
        let mut history = SnapshotHistory::new(0);
        history.record(&snapshot(1, &[]), 1);
        history.record(&snapshot(2, &[]), 2);
        assert_eq!(history.since(None)[0].limit, 2);
    }
}
