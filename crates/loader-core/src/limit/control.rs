//! `LimitController`: applies the scaling strategy to the shared limit.
//!
//! The strategy itself is a pure algorithm (`limit/`). The controller feeds it one sample per
//! finished batch call, clamps what it returns to `[min_concurrency, max_concurrency]`, keeps
//! the (limit, throughput) history, and reports each change so the engine can resize the
//! `ConcurrencyLimit` and emit the `loader_core::limit` tracing event.

use std::time::Duration;

use crate::{
    batch::GroupState,
    limit::{FleetView, Sample, ScalingStrategy, StrategyConfig},
    metrics::{LimitHistory, LimitPoint},
};

/// A limit change decided by the strategy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LimitChange {
    pub(crate) old: usize,
    pub(crate) new: usize,
    pub(crate) reason: String,
}

pub(crate) struct LimitController {
    strategy: Box<dyn ScalingStrategy>,
    bounds: StrategyConfig,
    limit: usize,
    history: LimitHistory,
    /// Permits the other replicas of the fleet hold (0: none known).
    fleet_others: usize,
}

impl LimitController {
    pub(crate) fn new(
        strategy: Box<dyn ScalingStrategy>,
        bounds: StrategyConfig,
        tick: Duration,
    ) -> Self {
        let limit = bounds.clamp(strategy.limit());
        Self {
            strategy,
            bounds,
            limit,
            history: LimitHistory::new(tick, limit),
            fleet_others: 0,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.strategy.name()
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Feeds one finished batch call of `keys` keys; returns the change, if the limit moved.
    pub(crate) fn on_sample(&mut self, sample: &Sample, keys: usize) -> Option<LimitChange> {
        let new = self.bounds.clamp(self.strategy.on_sample(sample));
        let old = self.limit;
        self.limit = new;
        let change = (new != old).then(|| LimitChange {
            old,
            new,
            reason: self.strategy.reason().to_string(),
        });
        self.history.on_batch(
            sample.now,
            keys,
            new,
            change.as_ref().map(|c| c.reason.as_str()),
        );
        change
    }

    /// Starts the strategy from a learned limit.
    pub(crate) fn warm_start(&mut self, now: Duration, limit: usize) -> Option<LimitChange> {
        let limit = self.bounds.clamp(limit);
        self.strategy.warm_start(limit);
        let new = self.bounds.clamp(self.strategy.limit());
        let old = self.limit;
        self.limit = new;
        self.history.on_restore(now, new);
        (new != old).then(|| LimitChange {
            old,
            new,
            reason: "restored from learned state".into(),
        })
    }

    /// What this replica knows of its fleet. The strategy may move the limit (a cold replica
    /// takes its share of the initial limit).
    pub(crate) fn set_fleet(&mut self, now: Duration, view: FleetView) -> Option<LimitChange> {
        self.fleet_others = view.others_permits;
        self.strategy.set_fleet(view);
        let old = self.limit;
        let new = self.bounds.clamp(self.strategy.limit());
        if new == old {
            return None;
        }
        self.limit = new;
        let reason = self.strategy.reason().to_string();
        self.history.on_batch(now, 0, new, Some(reason.as_str()));
        Some(LimitChange { old, new, reason })
    }

    pub(crate) fn fleet_others(&self) -> usize {
        self.fleet_others
    }

    pub(crate) fn best_limit(&self) -> Option<usize> {
        self.history.best_limit()
    }

    pub(crate) fn history(&self) -> Vec<LimitPoint> {
        self.history.points()
    }
}

// The engine's side: resize the shared limit to the controller's changes, and trace them.
impl crate::engine::EngineInner {
    /// Feeds the strategy; resizes the limit and traces the change. Returns the new limit.
    pub(crate) fn on_sample(&self, sample: &Sample, keys: usize, group: &GroupState) -> usize {
        let (change, limit) = {
            let mut c = self.controller.lock();
            let change = c.on_sample(sample, keys);
            (change, c.limit())
        };
        if let Some(change) = change {
            self.limit.set_limit(change.new);
            tracing::info!(
                target: "loader_core::limit",
                old = change.old,
                new = change.new,
                reason = %change.reason,
                group = %group.name,
                rtt_ms = sample.rtt.as_secs_f64() * 1e3,
                in_flight = sample.in_flight,
                queued = sample.queued,
                local_load = sample.local_load,
                "concurrency limit changed"
            );
        }
        limit
    }

    /// Resizes the limit to a change made outside the strategy's samples (a warm start, a
    /// fleet's view) and traces it.
    pub(crate) fn apply_limit_change(&self, change: &LimitChange) {
        self.limit.set_limit(change.new);
        tracing::info!(
            target: "loader_core::limit",
            old = change.old,
            new = change.new,
            reason = %change.reason,
            "concurrency limit changed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Fixed, Outcome};

    /// Returns whatever it is told to, to check the controller's clamping.
    struct Scripted(Vec<usize>, usize);

    impl ScalingStrategy for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn limit(&self) -> usize {
            self.1
        }
        fn on_sample(&mut self, _: &Sample) -> usize {
            self.1 = self.0.remove(0);
            self.1
        }
        fn reason(&self) -> &str {
            "scripted"
        }
        fn warm_start(&mut self, limit: usize) {
            self.1 = limit;
        }
        fn set_fleet(&mut self, view: FleetView) {
            // Any limit moved outside a sample: here, the others' permits.
            self.1 = view.others_permits;
        }
    }

    fn sample(now_ms: u64) -> Sample {
        Sample {
            now: Duration::from_millis(now_ms),
            rtt: Duration::from_millis(5),
            batch_size: 10,
            loads: 10,
            in_flight: 1,
            limit: 4,
            queued: 0,
            local_load: 0.0,
            outcome: Outcome::Success,
            seq: 0,
            granted: 0,
            done_below: 0,
            requests_ended: 0,
            group: 0,
        }
    }

    fn bounds() -> StrategyConfig {
        StrategyConfig {
            min_concurrency: 2,
            initial_concurrency: 4,
            max_concurrency: 10,
        }
    }

    #[test]
    fn the_strategy_limit_is_clamped_to_the_bounds() {
        let mut c = LimitController::new(
            Box::new(Scripted(vec![0, 50, 7, 7], 4)),
            bounds(),
            Duration::from_secs(1),
        );
        let changes: Vec<_> = (0..4).map(|i| c.on_sample(&sample(i), 10)).collect();
        assert_eq!(changes[0].as_ref().map(|c| (c.old, c.new)), Some((4, 2)));
        assert_eq!(changes[1].as_ref().map(|c| (c.old, c.new)), Some((2, 10)));
        assert_eq!(changes[2].as_ref().map(|c| (c.old, c.new)), Some((10, 7)));
        assert_eq!(changes[3], None);
        assert_eq!(c.limit(), 7);
        assert_eq!(c.history().len(), 3);
    }

    #[test]
    fn warm_start_moves_the_limit_and_is_recorded() {
        let mut c = LimitController::new(
            Box::new(Scripted(vec![], 4)),
            bounds(),
            Duration::from_secs(1),
        );
        let change = c.warm_start(Duration::ZERO, 99).expect("moved");
        assert_eq!((change.old, change.new), (4, 10));
        assert_eq!(c.best_limit(), Some(10));
        assert_eq!(c.history()[0].reason, "restored from learned state");
    }

    #[test]
    fn a_limit_the_fleet_view_moves_is_clamped_and_recorded() {
        let mut c = LimitController::new(
            Box::new(Scripted(vec![], 4)),
            bounds(),
            Duration::from_secs(1),
        );
        let view = |others_permits| FleetView {
            replicas: 2,
            others_permits,
        };
        let change = c.set_fleet(Duration::ZERO, view(50)).expect("moved");
        assert_eq!((change.old, change.new), (4, 10));
        assert_eq!(c.fleet_others(), 50);
        assert_eq!(c.history().last().map(|p| p.limit), Some(10));
        assert_eq!(
            c.set_fleet(Duration::ZERO, view(12)),
            None,
            "clamped: still 10"
        );
        assert_eq!(c.fleet_others(), 12);
    }

    #[test]
    fn a_fixed_strategy_ignores_warm_start() {
        let mut c = LimitController::new(Box::new(Fixed::new(4)), bounds(), Duration::from_secs(1));
        assert_eq!(c.warm_start(Duration::ZERO, 8), None);
        assert_eq!(c.limit(), 4);
    }
}
