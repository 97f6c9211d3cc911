//! `LimitController`: applies the scaling strategy to the shared limit.
//!
//! The strategy itself is a pure algorithm (`limit/`). The controller feeds it one sample per
//! finished batch call, clamps what it returns to `[min_concurrency, max_concurrency]`, keeps
//! the (limit, throughput) history, and reports each change so the engine can resize the
//! `ConcurrencyLimit` and emit the `loader_core::limit` tracing event.

use std::time::Duration;

use crate::{
    limit::{Sample, ScalingStrategy, StrategyConfig},
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
    /// The limit set by the fleet's leader, which this engine follows instead of its
    /// strategy ([`Self::follow`]).
    following: Option<usize>,
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
            following: None,
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
        if self.following.is_some() {
            self.history.on_batch(sample.now, keys, self.limit, None);
            return None;
        }
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

    /// Follows the fleet leader's `limit` (clamped), or with `None` goes back to the strategy,
    /// which continues from the last limit followed (a warm start: the plateau is known).
    pub(crate) fn follow(&mut self, now: Duration, limit: Option<usize>) -> Option<LimitChange> {
        let limit = limit.map(|l| self.bounds.clamp(l));
        // A fixed limit is the operator's choice, not the fleet's.
        if limit == self.following || self.strategy.name() == "fixed" {
            return None;
        }
        let reason = match limit {
            Some(l) => {
                // The strategy holds the followed limit, so it resumes from there.
                self.strategy.warm_start(l);
                format!("following the fleet's leader: {l}")
            }
            None => "leading the fleet: own strategy from here".to_string(),
        };
        self.following = limit;
        let old = self.limit;
        let new = limit.unwrap_or(old);
        self.limit = new;
        let change = (new != old).then_some(LimitChange { old, new, reason });
        if let Some(change) = &change {
            self.history
                .on_batch(now, 0, new, Some(change.reason.as_str()));
        }
        change
    }

    /// Whether the limit follows a fleet leader's.
    pub(crate) fn following(&self) -> bool {
        self.following.is_some()
    }

    /// `replicas` other replicas sharing the downstream hold `others` permits. The strategy
    /// may move the limit (a cold replica takes its share of the initial limit).
    pub(crate) fn set_fleet(
        &mut self,
        now: Duration,
        others: usize,
        replicas: usize,
    ) -> Option<LimitChange> {
        self.fleet_others = others;
        self.strategy.set_fleet(others, replicas);
        self.read_strategy(now)
    }

    /// The followers of this fleet leader, and the limit they all hold.
    pub(crate) fn set_fleet_followers(
        &mut self,
        now: Duration,
        followers: usize,
        all_at: Option<usize>,
    ) -> Option<LimitChange> {
        self.strategy.set_fleet_followers(followers, all_at);
        self.read_strategy(now)
    }

    /// Takes the strategy's limit after a call that may have moved it outside a sample (not
    /// while following a leader, whose limit rules).
    fn read_strategy(&mut self, now: Duration) -> Option<LimitChange> {
        if self.following.is_some() {
            return None;
        }
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

    /// This replica's turn to start experiments in its fleet.
    pub(crate) fn set_fleet_turn(&mut self, turn: Option<crate::limit::FleetTurn>) {
        self.strategy.set_fleet_turn(turn);
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
    }

    fn sample(now_ms: u64) -> Sample {
        Sample {
            now: Duration::from_millis(now_ms),
            rtt: Duration::from_millis(5),
            batch_size: 10,
            in_flight: 1,
            limit: 4,
            queued: 0,
            local_load: 0.0,
            outcome: Outcome::Success,
            requests_ended: 0,
        }
    }

    fn bounds() -> StrategyConfig {
        StrategyConfig {
            min_concurrency: 2,
            initial_concurrency: 4,
            max_concurrency: 10,
            ..StrategyConfig::default()
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
    fn a_follower_holds_the_leaders_limit_then_its_strategy_resumes_from_it() {
        let mut c = LimitController::new(
            Box::new(Scripted(vec![3, 6], 4)),
            bounds(),
            Duration::from_secs(1),
        );
        let change = c.follow(Duration::ZERO, Some(8)).expect("moved");
        assert_eq!((change.old, change.new), (4, 8));
        assert!(change.reason.starts_with("following the fleet's leader"));
        assert!(c.following());
        // The strategy is not consulted while following (its script would say 3).
        assert_eq!(c.on_sample(&sample(1), 10), None);
        assert_eq!(c.limit(), 8);
        assert_eq!(
            c.follow(Duration::ZERO, Some(99)).map(|c| c.new),
            Some(10),
            "clamped"
        );
        assert_eq!(c.follow(Duration::ZERO, Some(99)), None, "no change");
        // Leading again: the strategy was warm-started at the followed limit, then moves.
        assert_eq!(c.follow(Duration::ZERO, None), None);
        assert!(!c.following());
        assert_eq!(c.limit(), 10);
        assert_eq!(c.on_sample(&sample(2), 10).map(|c| c.new), Some(3));
    }

    #[test]
    fn a_fixed_strategy_ignores_warm_start() {
        let mut c = LimitController::new(Box::new(Fixed::new(4)), bounds(), Duration::from_secs(1));
        assert_eq!(c.warm_start(Duration::ZERO, 8), None);
        assert_eq!(c.limit(), 4);
        assert_eq!(
            c.follow(Duration::ZERO, Some(8)),
            None,
            "nor a fleet leader"
        );
        assert_eq!(c.limit(), 4);
    }
}
