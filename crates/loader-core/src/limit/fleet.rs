//! [`FleetView`]: what one replica knows of the other replicas sharing its downstream.
//!
//! Replicas of a server on one database each run an engine. What the others hold moves what
//! this one measures: on a saturated database a permit taken here is a permit's worth of
//! goodput lost there, and the others' limit experiments move this replica's goodput too.
//! So a fleet-aware caller (the server's `fleet.rs`) tells the engine, every heartbeat, how
//! many others there are and how many permits they hold, and the turns in which each replica
//! may start its experiments; the engine hands that to its strategy
//! ([`ScalingStrategy::set_fleet`](super::ScalingStrategy::set_fleet)).
//!
//! The turns cut the fleet's shared clock (the wall clock: replicas on one database run on
//! synchronised hosts) into slots, taken in turn by rank: a replica starts its experiments in
//! its own slot only, while the others hold still, so replicas started together do not probe
//! in step. Pure arithmetic, tested without a clock.

use std::time::Duration;

/// One replica's view of its fleet. The default is a replica alone.
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::FleetView;
///
/// // Replica 1 of 3 (two others, holding 10 permits); the fleet's clock read 100 s when the
/// // strategy's read 4 s.
/// let view = FleetView {
///     replicas: 2,
///     others_permits: 10,
///     rank: 1,
///     clock: Some(Duration::from_secs(100)),
///     at: Duration::from_secs(4),
/// };
/// let slot = Duration::from_secs(2);
/// // Fleet time 100 s is slot 50, which is rank 50 % 3 = 2's; 102 s is slot 51, rank 0's;
/// // 104 s is slot 52, this replica's.
/// assert_eq!(view.slot_of(Duration::from_secs(4), slot), Some((2, Duration::ZERO)));
/// assert!(!view.is_my_turn(Duration::from_secs(6), slot));
/// assert!(view.is_my_turn(Duration::from_secs(8), slot));
/// assert_eq!(view.slot_of(Duration::from_millis(8_500), slot), Some((1, Duration::from_millis(500))));
/// // Alone, every slot is this replica's.
/// assert_eq!(FleetView::default().slot_of(Duration::from_secs(6), slot), None);
/// assert!(FleetView::default().is_my_turn(Duration::from_secs(6), slot));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetView {
    /// How many other replicas share the downstream (0: alone, or not known).
    pub replicas: usize,
    /// The concurrency limits of those other replicas, summed.
    pub others_permits: usize,
    /// This replica's rank among all `replicas + 1` replicas, in an order every replica
    /// agrees on (e.g. sorted ids), from 0: which slots of the fleet's clock are its turns.
    pub rank: usize,
    /// The fleet's shared clock (e.g. the wall clock since the Unix epoch) when the view was
    /// taken; `None`: no turns, this replica may start experiments at any time.
    pub clock: Option<Duration>,
    /// The strategy's time ([`Sample::now`](super::Sample::now)) when `clock` was read.
    /// [`Engine::set_fleet`](crate::Engine::set_fleet) sets it to the engine's time: callers
    /// of the engine leave it at zero.
    pub at: Duration,
}

impl FleetView {
    /// Whether other replicas share the downstream.
    pub fn in_fleet(&self) -> bool {
        self.replicas > 0
    }

    /// At strategy time `now`, with the fleet's clock cut into slots of `slot`: whose slot
    /// it is (a rank) and how far into the slot. `None` when the fleet takes no turns (alone,
    /// or no clock).
    pub fn slot_of(&self, now: Duration, slot: Duration) -> Option<(usize, Duration)> {
        let clock = self.clock.filter(|_| self.in_fleet())?;
        let fleet_time = if now >= self.at {
            clock.saturating_add(now - self.at)
        } else {
            clock.saturating_sub(self.at - now)
        };
        let slot_nanos = slot.as_nanos().max(1);
        let nanos = fleet_time.as_nanos();
        let index = nanos / slot_nanos;
        let into = Duration::from_nanos((nanos % slot_nanos) as u64);
        Some(((index % (self.replicas as u128 + 1)) as usize, into))
    }

    /// Whether the slot at `now` is this replica's (always, when the fleet takes no turns).
    pub fn is_my_turn(&self, now: Duration, slot: Duration) -> bool {
        self.slot_of(now, slot)
            .is_none_or(|(owner, _)| owner == self.rank)
    }
}

impl crate::Engine {
    /// What this replica knows of the other replicas of its fleet on the same downstream
    /// ([`FleetView`]): how many they are, the permits they hold, and its rank in the turns
    /// of the fleet's shared clock. A server's replicas learn each other's limits through a
    /// shared table (the server's `fleet.rs`) and call this every heartbeat; the engine stamps
    /// [`FleetView::at`] with its own time and hands the view to its strategy.
    ///
    /// The adaptive strategy uses it once: the first time a cold engine (no warm start,
    /// nothing learned yet) hears of others, it takes its share of `initial_concurrency`, so
    /// the fleet starts where one engine would, in total. After that each replica judges its
    /// probes by its own goodput: past the knee a step up slows every replica's calls, so it
    /// neither pays nor is free, and independent replicas settle near the capacity
    /// (`limit/adaptive/tests.rs`).
    /// [`FleetView::default`] is a replica alone.
    ///
    /// ```
    /// use std::time::{SystemTime, UNIX_EPOCH};
    /// use loader_core::limit::FleetView;
    ///
    /// let engine = loader_core::Engine::builder().build().unwrap();
    /// let clock = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    /// engine.set_fleet(FleetView {
    ///     replicas: 2,
    ///     others_permits: 6,
    ///     rank: 1,
    ///     clock: Some(clock),
    ///     ..FleetView::default()
    /// });
    /// assert_eq!(engine.snapshot().fleet_others, 6);
    /// // Cold, one of three replicas: its share of the initial limit of 4.
    /// assert_eq!(engine.limit(), 1);
    /// ```
    pub fn set_fleet(&self, view: FleetView) {
        let inner = &self.inner;
        let now = inner.now();
        let view = FleetView { at: now, ..view };
        let change = inner.controller.lock().set_fleet(now, view);
        if let Some(change) = change {
            inner.apply_limit_change(&change);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: Duration = Duration::from_secs(2);

    fn view(rank: usize, clock_s: u64, at_s: u64) -> FleetView {
        FleetView {
            replicas: 2,
            others_permits: 8,
            rank,
            clock: Some(Duration::from_secs(clock_s)),
            at: Duration::from_secs(at_s),
        }
    }

    #[test]
    fn replicas_with_different_engine_clocks_take_disjoint_turns() {
        // Three engines started at different times read the same fleet clock (1000 s) at
        // engine times 3, 50 and 7 s.
        let replicas = [view(0, 1000, 3), view(1, 1000, 50), view(2, 1000, 7)];
        for step in 0..90u64 {
            let fleet = Duration::from_millis(1_000_000 + step * 333);
            let owners: Vec<usize> = replicas
                .iter()
                .filter(|v| v.is_my_turn(v.at + (fleet - v.clock.unwrap()), SLOT))
                .map(|v| v.rank)
                .collect();
            assert_eq!(owners.len(), 1, "at fleet time {fleet:?}: {owners:?}");
        }
    }

    #[test]
    fn each_replica_gets_one_slot_per_cycle() {
        let v = view(2, 0, 0);
        let mine = (0..60)
            .filter(|s| v.is_my_turn(Duration::from_secs(*s), SLOT))
            .count();
        assert_eq!(
            mine, 20,
            "60 s of 2 s slots over 3 replicas: 10 slots, 20 s"
        );
    }

    #[test]
    fn times_before_the_reading_count_back() {
        let v = view(0, 10, 5);
        // Strategy time 1 s is fleet time 6 s: slot 3, rank 0's, 0 s into it.
        assert_eq!(
            v.slot_of(Duration::from_secs(1), SLOT),
            Some((0, Duration::ZERO))
        );
        // A fleet clock that would go below zero stays at zero.
        assert_eq!(
            view(0, 1, 5).slot_of(Duration::ZERO, SLOT).map(|s| s.0),
            Some(0)
        );
    }

    #[test]
    fn without_others_or_a_clock_there_are_no_turns() {
        let alone = FleetView {
            replicas: 0,
            ..view(1, 1000, 0)
        };
        let no_clock = FleetView {
            clock: None,
            ..view(1, 1000, 0)
        };
        for v in [alone, no_clock] {
            assert_eq!(v.slot_of(Duration::from_secs(3), SLOT), None);
            assert!((0..10).all(|s| v.is_my_turn(Duration::from_secs(s), SLOT)));
        }
        assert!(!alone.in_fleet() && no_clock.in_fleet());
    }
}
