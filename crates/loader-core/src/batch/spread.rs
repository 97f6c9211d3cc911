//! `Spread`: caps a batch's size so that the work in the engine is spread over the permits.
//!
//! The cost model (`batch/cost.rs`) gives the largest batch that stays within
//! `target_response_time`: the size that amortises the fixed cost of a call best. But a
//! batch of that size can swallow the whole demand: with 1 000 keys in the system and a
//! target of 200 keys there are only 5 batches, so at most 5 calls run whatever the limit,
//! the limit stops mattering, and a downstream that serves 32 calls at once idles at 5. When
//! more permits are free than batches exist, smaller batches finish sooner *and* use the
//! downstream's parallelism: keys/s is `calls in flight × keys per call / call time`, and
//! with the keys fixed it grows with the calls in flight until the downstream's capacity.
//!
//! So while a permit is free, a batch is sealed at `ceil(keys in the system / limit)`: the
//! keys waiting and in flight, spread evenly over the limit's permits (all groups share the
//! limit, so the engine-wide figures are used: a group's share of the permits is its share of
//! the keys). In a closed loop the keys in the system are roughly constant, so this converges
//! to one batch per permit, each as small as that allows. The cost model's target still caps
//! it (never slower than `target_response_time`), and an eighth of that target is the floor:
//! the keys in the system are only those already registered, so when demand dips (a few keys
//! in flight, the next ones still arriving) a cap of one key would seal every new key alone,
//! and calls that small are mostly fixed cost; an eighth of a `target_response_time` batch
//! still amortises it.
//!
//! The cap applies only to a batch that holds keys of several requests (loaders). The keys
//! of one level of a lone GraphQL request stay one call (one SQL statement per level, the
//! N+1 guarantee) whatever the limit; under concurrent load batches mix requests, and the
//! cap spreads their keys.
//!
//! When no permit is free (every permit busy or promised to a waiting batch), the cap does
//! not apply: the batch waits anyway, and while it waits it keeps accepting keys up to the
//! cost model's target, so the next free permit carries as many keys as it usefully can
//! instead of a queue of small batches.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use crate::dispatch::ConcurrencyLimit;

/// The engine-wide figures the spread cap is computed from.
#[derive(Debug)]
pub(crate) struct Spread {
    limit: Arc<ConcurrencyLimit>,
    /// Loads waiting for dispatch, all groups (shared with admission).
    queued: Arc<AtomicUsize>,
    /// Keys in batch calls that are running, all groups.
    keys_in_flight: AtomicUsize,
}

impl Spread {
    pub(crate) fn new(limit: Arc<ConcurrencyLimit>, queued: Arc<AtomicUsize>) -> Self {
        Self {
            limit,
            queued,
            keys_in_flight: AtomicUsize::new(0),
        }
    }

    /// A call of `keys` keys started.
    pub(crate) fn call_started(&self, keys: usize) {
        self.keys_in_flight.fetch_add(keys, Ordering::Relaxed);
    }

    /// A call of `keys` keys ended (or was cut).
    pub(crate) fn call_ended(&self, keys: usize) {
        self.keys_in_flight.fetch_sub(keys, Ordering::Relaxed);
    }

    /// The size at which an open batch is sealed now, for a group whose cost model targets
    /// `target` keys, or `None` when no permit is free.
    pub(crate) fn cap(&self, target: usize) -> Option<usize> {
        spread_cap(
            self.queued.load(Ordering::Relaxed) + self.keys_in_flight.load(Ordering::Relaxed),
            self.limit.limit(),
            self.limit.in_flight() + self.limit.waiting(),
            target,
        )
    }
}

/// `ceil(keys / limit)`, within `[target / 8, target]` (at least 1), while fewer than `limit`
/// batches hold or await a permit; `None` when every permit is taken or promised.
pub(crate) fn spread_cap(keys: usize, limit: usize, busy: usize, target: usize) -> Option<usize> {
    let limit = limit.max(1);
    if busy >= limit {
        return None;
    }
    let floor = (target / FLOOR_DIVISOR).max(1);
    Some(keys.div_ceil(limit).clamp(floor, target.max(floor)))
}

/// The smallest spread batch is the cost model's target divided by this.
const FLOOR_DIVISOR: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_in_the_system_are_spread_over_the_permits() {
        assert_eq!(spread_cap(1000, 32, 0, 200), Some(32));
        assert_eq!(spread_cap(1000, 8, 7, 200), Some(125));
        assert_eq!(
            spread_cap(1000, 4, 0, 200),
            Some(200),
            "never above the cost target"
        );
    }

    #[test]
    fn low_demand_does_not_seal_keys_one_by_one() {
        assert_eq!(spread_cap(3, 32, 1, 200), Some(25));
        assert_eq!(spread_cap(0, 4, 0, 64), Some(8));
        assert_eq!(spread_cap(0, 4, 0, 3), Some(1));
    }

    #[test]
    fn with_no_free_permit_a_waiting_batch_is_not_capped() {
        assert_eq!(spread_cap(1000, 8, 8, 200), None);
        assert_eq!(spread_cap(1000, 8, 12, 200), None);
    }

    #[test]
    fn keys_in_flight_and_queued_loads_both_count() {
        let limit = Arc::new(ConcurrencyLimit::new(4));
        let queued = Arc::new(AtomicUsize::new(10));
        let spread = Spread::new(limit, queued.clone());
        assert_eq!(spread.cap(1000), Some(125), "the floor");
        assert_eq!(spread.cap(16), Some(3));
        spread.call_started(30);
        assert_eq!(spread.cap(16), Some(10));
        spread.call_ended(30);
        queued.store(0, Ordering::Relaxed);
        assert_eq!(spread.cap(16), Some(2));
    }
}
