//! [`FleetTurn`]: when one replica of a fleet may start a limit experiment.
//!
//! Replicas on one downstream judge their experiments by goodput, which the other replicas'
//! experiments move too. Replicas started together would also probe in step. So the fleet's
//! shared clock (the wall clock: replicas on one database run on synchronised hosts) is cut
//! into slots, taken in turn by rank; a replica starts its experiments in its own slot only,
//! while the others hold still. Pure arithmetic, tested without a clock.

use std::time::Duration;

/// One replica's place in the fleet's turns.
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::FleetTurn;
///
/// // Replica 1 of 3; the fleet's clock read 100 s when the engine's read 4 s.
/// let turn = FleetTurn { rank: 1, replicas: 3, clock: Duration::from_secs(100), at: Duration::from_secs(4) };
/// let slot = Duration::from_secs(2);
/// // Fleet time 100 s is slot 50, which is rank 50 % 3 = 2's; 102 s is slot 51, rank 0's;
/// // 104 s is slot 52, this replica's.
/// assert_eq!(turn.slot_of(Duration::from_secs(4), slot), (2, Duration::ZERO));
/// assert!(!turn.is_mine(Duration::from_secs(6), slot));
/// assert!(turn.is_mine(Duration::from_secs(8), slot));
/// assert_eq!(turn.slot_of(Duration::from_millis(8_500), slot), (1, Duration::from_millis(500)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetTurn {
    /// This replica's rank among all the fleet's replicas, in an order every replica agrees
    /// on (e.g. sorted ids), from 0.
    pub rank: usize,
    /// How many replicas the fleet has, this one included.
    pub replicas: usize,
    /// The fleet's shared clock (e.g. the wall clock since the Unix epoch) at `at`.
    pub clock: Duration,
    /// The strategy's time ([`Sample::now`](super::Sample::now)) when `clock` was read.
    pub at: Duration,
}

impl FleetTurn {
    /// At strategy time `now`: whose slot it is (a rank) and how far into the slot, with the
    /// fleet's clock cut into slots of `slot`.
    pub fn slot_of(&self, now: Duration, slot: Duration) -> (usize, Duration) {
        let fleet_time = if now >= self.at {
            self.clock.saturating_add(now - self.at)
        } else {
            self.clock.saturating_sub(self.at - now)
        };
        let slot_nanos = slot.as_nanos().max(1);
        let nanos = fleet_time.as_nanos();
        let index = nanos / slot_nanos;
        let into = Duration::from_nanos((nanos % slot_nanos) as u64);
        ((index % self.replicas.max(1) as u128) as usize, into)
    }

    /// Whether the slot at `now` is this replica's.
    pub fn is_mine(&self, now: Duration, slot: Duration) -> bool {
        self.slot_of(now, slot).0 == self.rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOT: Duration = Duration::from_secs(2);

    fn turn(rank: usize, clock_s: u64, at_s: u64) -> FleetTurn {
        FleetTurn {
            rank,
            replicas: 3,
            clock: Duration::from_secs(clock_s),
            at: Duration::from_secs(at_s),
        }
    }

    #[test]
    fn replicas_with_different_engine_clocks_take_disjoint_turns() {
        // Three engines started at different times read the same fleet clock (1000 s) at
        // engine times 3, 50 and 7 s.
        let replicas = [turn(0, 1000, 3), turn(1, 1000, 50), turn(2, 1000, 7)];
        for step in 0..90u64 {
            let fleet = Duration::from_millis(1_000_000 + step * 333);
            let owners: Vec<usize> = replicas
                .iter()
                .filter(|t| t.is_mine(t.at + (fleet - t.clock), SLOT))
                .map(|t| t.rank)
                .collect();
            assert_eq!(owners.len(), 1, "at fleet time {fleet:?}: {owners:?}");
        }
    }

    #[test]
    fn each_replica_gets_one_slot_per_cycle() {
        let t = turn(2, 0, 0);
        let mine = (0..60)
            .filter(|s| t.is_mine(Duration::from_secs(*s), SLOT))
            .count();
        assert_eq!(
            mine, 20,
            "60 s of 2 s slots over 3 replicas: 10 slots, 20 s"
        );
    }

    #[test]
    fn times_before_the_reading_count_back() {
        let t = turn(0, 10, 5);
        // Strategy time 1 s is fleet time 6 s: slot 3, rank 0's, 0 s into it.
        assert_eq!(t.slot_of(Duration::from_secs(1), SLOT), (0, Duration::ZERO));
        // A fleet clock that would go below zero stays at zero.
        assert_eq!(turn(0, 1, 5).slot_of(Duration::ZERO, SLOT).0, 0);
    }
}
