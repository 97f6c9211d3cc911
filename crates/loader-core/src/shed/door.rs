//! `DoorLaw`: how many requests the engine admits at once.
//!
//! The door admits *requests*, the unit a client waits for, not loads: one GraphQL request
//! fans out into thousands of loads, and once admitted it is served whole (its loads are
//! never refused, `load/request.rs`). So the door must admit only what the engine can finish
//! promptly, and it is the only place where load is refused.
//!
//! The signal is the queue in front of the downstream: how long batches wait for a permit of
//! the concurrency limit, in units of the mean call time ("waves"). That queue exists only
//! because admitted requests produce more batches than the limit runs at once, whatever the
//! requests are (light or heavy, one level or six), so no baseline latency has to be
//! learned. Per [`INTERVAL`], over the batches dispatched in it:
//!
//! | rule | trigger | action |
//! |---|---|---|
//! | grow | the cap was reached (a request waited at the door) and batches waited less than [`GROW_BELOW`] waves | cap × [`GROW`] (at least +1) |
//! | cut | batches waited more than [`CUT_ABOVE`] waves | cap × [`CUT`], not under the floor |
//!
//! Between the two the cap holds still: the downstream always has about one wave of work
//! ready (its permits never idle, and a batch collects keys from several requests while it
//! waits), and an admitted request's levels each wait at most a call or two. Growing only
//! when the cap was reached keeps it near the demand, so a burst after a quiet spell meets
//! a cap that still reflects what the downstream can take. The floor is the concurrency limit
//! itself, and never under [`MIN_CAP`]: fewer requests than permits would leave the
//! downstream idle, and at a limit of 1 or 2 a floor of that many requests would leave every
//! batch with the keys of one or two requests, so each request pays a whole call per level.
//! With several requests admitted, one call serves them all; the cut still brings the cap
//! down to that floor when the queue grows, and the refusal by expected wait (the shedder)
//! is unchanged. A configured maximum under [`MIN_CAP`] wins over it.
//!
//! A slower downstream is not a reason to refuse more: its calls get longer, and so does the
//! queue measured in time, but not in waves. A busier one is: each wave takes longer to
//! drain, the waits grow past the band and the cap comes down.
//!
//! Pure: time and measurements are passed in; `engine/mod.rs` feeds it.

use std::time::Duration;

/// Length of one measurement interval.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);
/// Grow while batches waited less than this many mean call times for a permit...
pub(crate) const GROW_BELOW: f64 = 1.0;
/// ...cut once they waited more than this many.
pub(crate) const CUT_ABOVE: f64 = 2.0;
/// Growth factor per interval (at least one more request).
pub(crate) const GROW: f64 = 1.25;
/// Cut factor per interval.
pub(crate) const CUT: f64 = 0.8;
/// The cap never goes under this many requests (unless the maximum is lower), nor under the
/// concurrency limit.
pub(crate) const MIN_CAP: usize = 8;
/// Weight of a new request's latency in the running mean used for expected waits.
const LATENCY_ALPHA: f64 = 0.1;

/// The door's law: requests in flight, capped by the queue in front of the downstream.
#[derive(Debug, Clone)]
pub(crate) struct DoorLaw {
    cap: f64,
    max: usize,
    interval_start: Duration,
    /// Sums over the batches dispatched this interval.
    waited: f64,
    called: f64,
    batches: u32,
    /// A request found the door full this interval.
    reached: bool,
    /// Running mean latency of admitted requests, seconds (0: none ended yet).
    latency: f64,
}

/// Why the cap moved, for traces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CapChange {
    pub(crate) old: usize,
    pub(crate) new: usize,
    /// Mean permit wait of the interval, in mean call times.
    pub(crate) waves: f64,
}

impl DoorLaw {
    /// A door that admits `initial` requests at once until it learns, never more than `max`.
    pub(crate) fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        Self {
            cap: initial.clamp(MIN_CAP.min(max), max) as f64,
            max,
            interval_start: Duration::ZERO,
            waited: 0.0,
            called: 0.0,
            batches: 0,
            reached: false,
            latency: 0.0,
        }
    }

    /// Requests that may be in flight now.
    pub(crate) fn cap(&self) -> usize {
        self.cap as usize
    }

    /// A batch waited `wait` for its permit and its call took `rtt`.
    pub(crate) fn observe_batch(&mut self, wait: Duration, rtt: Duration) {
        self.waited += wait.as_secs_f64();
        self.called += rtt.as_secs_f64();
        self.batches += 1;
    }

    /// A request found every place taken.
    pub(crate) fn reached(&mut self) {
        self.reached = true;
    }

    /// An admitted request ended after `latency`.
    pub(crate) fn request_ended(&mut self, latency: Duration) {
        let latency = latency.as_secs_f64();
        self.latency = if self.latency == 0.0 {
            latency
        } else {
            self.latency + LATENCY_ALPHA * (latency - self.latency)
        };
    }

    /// Closes the interval if it is over; returns the change when the cap moved. `floor`: the
    /// downstream's concurrency limit now.
    pub(crate) fn tick(&mut self, now: Duration, floor: usize) -> Option<CapChange> {
        if now.saturating_sub(self.interval_start) < INTERVAL {
            return None;
        }
        let old = self.cap();
        let waves = if self.batches == 0 || self.called <= 0.0 {
            None
        } else {
            Some(self.waited / self.called)
        };
        let floor = floor.max(MIN_CAP).min(self.max) as f64;
        let mut cap = self.cap;
        match waves {
            Some(w) if w > CUT_ABOVE => cap *= CUT,
            Some(w) if w < GROW_BELOW && self.reached => cap = (cap * GROW).max(cap + 1.0),
            // No batch ran: nothing waits for the downstream, the requests are busy elsewhere
            // (their own CPU, or not yet at their first load). Grow only if demand is there.
            None if self.reached => cap = (cap * GROW).max(cap + 1.0),
            _ => {}
        }
        self.cap = cap.clamp(floor, self.max as f64);
        self.interval_start = now;
        self.waited = 0.0;
        self.called = 0.0;
        self.batches = 0;
        self.reached = false;
        let new = self.cap();
        (new != old).then_some(CapChange {
            old,
            new,
            waves: waves.unwrap_or(0.0),
        })
    }

    /// How long the `position`-th request waiting at the door should expect to wait: the
    /// requests ahead of it leave at the rate the cap allows (Little's law: cap / latency).
    /// `None` before any request ended.
    pub(crate) fn expected_wait(&self, position: usize) -> Option<Duration> {
        if self.latency == 0.0 {
            return None;
        }
        let rate = self.cap / self.latency;
        Some(Duration::from_secs_f64(position as f64 / rate))
    }

    /// The running mean latency of admitted requests.
    pub(crate) fn latency(&self) -> Duration {
        Duration::from_secs_f64(self.latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Runs one interval in which `batches` batches waited `wait` and ran `rtt` each.
    fn interval(
        law: &mut DoorLaw,
        t: &mut Duration,
        batches: u32,
        wait: Duration,
        rtt: Duration,
        reached: bool,
        floor: usize,
    ) -> Option<CapChange> {
        for _ in 0..batches {
            law.observe_batch(wait, rtt);
        }
        if reached {
            law.reached();
        }
        *t += INTERVAL;
        law.tick(*t, floor)
    }

    #[test]
    fn grows_while_the_cap_binds_and_batches_barely_wait() {
        let mut law = DoorLaw::new(8, 1000);
        let mut t = Duration::ZERO;
        let change = interval(&mut law, &mut t, 10, MS / 2, 10 * MS, true, 4).unwrap();
        assert_eq!((change.old, change.new), (8, 10));
        for _ in 0..20 {
            interval(&mut law, &mut t, 10, MS / 2, 10 * MS, true, 4);
        }
        assert!(law.cap() > 100, "grows geometrically: {}", law.cap());
    }

    #[test]
    fn does_not_grow_without_demand() {
        let mut law = DoorLaw::new(10, 1000);
        let mut t = Duration::ZERO;
        for _ in 0..20 {
            assert_eq!(
                interval(&mut law, &mut t, 10, Duration::ZERO, 10 * MS, false, 4),
                None
            );
        }
        assert_eq!(law.cap(), 10);
    }

    #[test]
    fn holds_in_the_band_between_one_and_two_waves() {
        let mut law = DoorLaw::new(20, 1000);
        let mut t = Duration::ZERO;
        for _ in 0..50 {
            assert_eq!(
                interval(&mut law, &mut t, 10, 15 * MS, 10 * MS, true, 4),
                None
            );
        }
        assert_eq!(law.cap(), 20);
    }

    #[test]
    fn cuts_when_batches_queue_past_two_waves_but_not_under_the_limit() {
        let mut law = DoorLaw::new(50, 1000);
        let mut t = Duration::ZERO;
        let change = interval(&mut law, &mut t, 10, 30 * MS, 10 * MS, true, 12).unwrap();
        assert_eq!((change.old, change.new), (50, 40));
        assert!((change.waves - 3.0).abs() < 1e-9);
        for _ in 0..50 {
            interval(&mut law, &mut t, 10, 30 * MS, 10 * MS, true, 12);
        }
        assert_eq!(law.cap(), 12, "the floor is the concurrency limit");
    }

    #[test]
    fn at_a_low_limit_the_floor_is_min_cap_requests() {
        let mut law = DoorLaw::new(2, 1000);
        assert_eq!(law.cap(), MIN_CAP, "starts at the floor");
        let mut t = Duration::ZERO;
        for _ in 0..50 {
            interval(&mut law, &mut t, 10, 30 * MS, 10 * MS, true, 1);
        }
        assert_eq!(
            law.cap(),
            MIN_CAP,
            "a deep queue cuts to the floor, not under"
        );
    }

    #[test]
    fn a_maximum_under_min_cap_wins() {
        let mut law = DoorLaw::new(2, 3);
        assert_eq!(law.cap(), 3);
        let mut t = Duration::ZERO;
        for _ in 0..10 {
            interval(&mut law, &mut t, 10, 30 * MS, 10 * MS, true, 1);
        }
        assert_eq!(law.cap(), 3, "the floor is capped by the maximum");
        assert_eq!(DoorLaw::new(1, 1).cap(), 1);
    }

    #[test]
    fn a_slower_downstream_with_the_same_queue_in_waves_keeps_the_cap() {
        let mut law = DoorLaw::new(20, 1000);
        let mut t = Duration::ZERO;
        // Calls three times slower, waits three times longer: the same 1.5 waves.
        for _ in 0..20 {
            assert_eq!(
                interval(&mut law, &mut t, 10, 45 * MS, 30 * MS, true, 4),
                None
            );
        }
        assert_eq!(law.cap(), 20);
    }

    #[test]
    fn never_exceeds_its_maximum() {
        let mut law = DoorLaw::new(4, 10);
        let mut t = Duration::ZERO;
        for _ in 0..50 {
            interval(&mut law, &mut t, 0, MS, MS, true, 4);
        }
        assert_eq!(law.cap(), 10);
    }

    #[test]
    fn an_interval_is_closed_only_once_it_is_over() {
        let mut law = DoorLaw::new(4, 100);
        law.reached();
        assert_eq!(law.tick(INTERVAL / 2, 4), None);
        assert!(law.tick(INTERVAL, 4).is_some());
    }

    #[test]
    fn expected_wait_follows_littles_law() {
        let mut law = DoorLaw::new(10, 100);
        assert_eq!(
            law.expected_wait(5),
            None,
            "unknown before any request ended"
        );
        law.request_ended(100 * MS);
        // 10 places, 100 ms each: 100 requests per second leave, the 5th waits 50 ms.
        let wait = law.expected_wait(5).unwrap();
        assert!((wait.as_secs_f64() - 0.05).abs() < 1e-9, "{wait:?}");
    }
}
