//! Back-pressure: whether a new load may wait, decided before it joins a batch.
//!
//! A load is refused at once with [`LoadError::Overloaded`] when the wait queue is full
//! (`queue_capacity` loads waiting, all groups), when its expected wait exceeds the caller's
//! own deadline, or, for the first load of a request, when its expected wait exceeds
//! `max_queue_wait`. Later loads of a request already admitted skip that last rule
//! (`request.rs`): refusing them would fail a request whose first levels the downstream
//! already served, and under overload goodput would collapse. The expected wait is the number of "waves"
//! of batches ahead of it (batches waiting for a permit, divided by the limit, plus the one
//! running) times the recent mean batch duration: cheap to compute and conservative.
//!
//! There is deliberately no tighter "standing queue" rule for new requests. Two were tried:
//! refusing once the instantaneous wait exceeded a few call times while every permit was
//! busy shed 17% of a light 4-client GraphQL load (a request fans out into one batch per
//! group and level, so batches wait even under light load); a CoDel-style rule (tighten the
//! bound to two call times while even the shortest permit wait of an interval exceeded a
//! call) halved the goodput of 256 closed-loop clients on the full end-to-end data set
//! (159 against 309 requests/s), because admitted requests' later levels keep the queue
//! standing, so nearly every new request was refused. Refusing early keeps latency bounded
//! for the loads that are admitted, and the `retry_after` hint tells callers when capacity
//! should be free.

use std::time::Duration;

use crate::LoadError;

/// New requests are admitted at the door only while the queue is under this share of
/// `queue_capacity`; the rest is kept for the later loads of requests already admitted.
pub(crate) const DOOR_SHARE: f64 = 0.5;

/// The reason given to new work refused during an overload (`overload.rs`).
pub(crate) const OVERLOAD_REASON: &str = "overload";

/// The engine's state as admission sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pressure {
    /// Loads waiting now, all groups.
    pub(crate) queued: usize,
    /// `queue_capacity`.
    pub(crate) capacity: usize,
    /// Batches waiting for a permit.
    pub(crate) waiting_batches: usize,
    pub(crate) in_flight: usize,
    pub(crate) limit: usize,
    /// Recent mean batch call duration.
    pub(crate) mean_rtt: Duration,
    /// `max_queue_wait`.
    pub(crate) max_wait: Duration,
    /// An overload is on (`overload.rs`): new work must be able to start at once.
    pub(crate) overloaded: bool,
    /// Time left before the caller's deadline, if it set one.
    pub(crate) deadline_in: Option<Duration>,
}

impl Pressure {
    /// How long a load arriving now should expect to wait for its batch to start.
    pub(crate) fn expected_wait(&self) -> Duration {
        if self.in_flight < self.limit && self.waiting_batches == 0 {
            return Duration::ZERO;
        }
        let waves = self.waiting_batches / self.limit.max(1) + 1;
        self.mean_rtt.saturating_mul(waves as u32)
    }

    /// Admits a new request at the door ([`Engine::admit_request`](crate::Engine::admit_request)):
    /// the rules of a first load, and the queue must be under [`DOOR_SHARE`] full. The rest
    /// of the queue is kept for the later levels of requests already admitted: a request
    /// fans out into many loads, and one refused halfway fails the whole request.
    pub(crate) fn admit_request(&self) -> Result<(), LoadError> {
        let door = ((self.capacity as f64) * DOOR_SHARE).floor() as usize;
        if self.queued >= door.max(1) {
            return Err(LoadError::Overloaded {
                retry_after: self
                    .expected_wait()
                    .max(self.mean_rtt)
                    .max(Duration::from_millis(1)),
                reason: "queue full",
            });
        }
        self.admit(1, false)
    }

    /// Admits `loads` new loads, or says why not. `continuing`: a load of the same request was
    /// admitted before, so the loads are not refused for the expected wait.
    pub(crate) fn admit(&self, loads: usize, continuing: bool) -> Result<(), LoadError> {
        let wait = self.expected_wait();
        let refuse = |reason| {
            Err(LoadError::Overloaded {
                retry_after: wait.max(self.mean_rtt).max(Duration::from_millis(1)),
                reason,
            })
        };
        if self.queued.saturating_add(loads) > self.capacity {
            return refuse("queue full");
        }
        if self.deadline_in.is_some_and(|left| wait > left) {
            return refuse("deadline");
        }
        if continuing {
            return Ok(());
        }
        if self.overloaded && !wait.is_zero() {
            return Err(LoadError::Overloaded {
                retry_after: crate::overload::RETRY_AFTER,
                reason: OVERLOAD_REASON,
            });
        }
        if wait > self.max_wait {
            return refuse("expected wait");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle() -> Pressure {
        Pressure {
            queued: 0,
            capacity: 100,
            waiting_batches: 0,
            in_flight: 0,
            limit: 4,
            mean_rtt: Duration::from_millis(10),
            max_wait: Duration::from_secs(1),
            overloaded: false,
            deadline_in: None,
        }
    }

    fn reason(r: Result<(), LoadError>) -> &'static str {
        match r {
            Err(LoadError::Overloaded { reason, .. }) => reason,
            Err(e) => panic!("unexpected {e}"),
            Ok(()) => "admitted",
        }
    }

    #[test]
    fn an_idle_engine_admits_with_no_expected_wait() {
        assert_eq!(idle().expected_wait(), Duration::ZERO);
        assert_eq!(reason(idle().admit(1, false)), "admitted");
    }

    #[test]
    fn a_full_queue_refuses() {
        let p = Pressure {
            queued: 99,
            ..idle()
        };
        assert_eq!(reason(p.admit(1, false)), "admitted");
        assert_eq!(reason(p.admit(2, false)), "queue full");
    }

    #[test]
    fn expected_wait_counts_waves_of_waiting_batches() {
        let p = Pressure {
            in_flight: 4,
            waiting_batches: 8,
            ..idle()
        };
        assert_eq!(p.expected_wait(), Duration::from_millis(30));
    }

    #[test]
    fn a_wait_beyond_max_queue_wait_or_the_deadline_refuses_with_a_hint() {
        let busy = Pressure {
            in_flight: 4,
            waiting_batches: 400,
            ..idle()
        };
        let r = busy.admit(1, false);
        assert_eq!(reason(r.clone()), "expected wait");
        let Err(LoadError::Overloaded { retry_after, .. }) = r else {
            unreachable!()
        };
        assert_eq!(retry_after, Duration::from_millis(1010));

        let tight = Pressure {
            in_flight: 4,
            deadline_in: Some(Duration::from_millis(5)),
            ..idle()
        };
        assert_eq!(reason(tight.admit(1, false)), "deadline");
    }

    #[test]
    fn a_request_already_admitted_continues_past_max_queue_wait_but_not_the_hard_bounds() {
        let busy = Pressure {
            in_flight: 4,
            waiting_batches: 400,
            ..idle()
        };
        assert_eq!(reason(busy.admit(1, false)), "expected wait");
        assert_eq!(reason(busy.admit(1, true)), "admitted");
        let full = Pressure {
            queued: 100,
            ..busy
        };
        assert_eq!(reason(full.admit(1, true)), "queue full");
        let tight = Pressure {
            deadline_in: Some(Duration::from_millis(5)),
            ..busy
        };
        assert_eq!(reason(tight.admit(1, true)), "deadline");
    }

    #[test]
    fn the_door_keeps_half_the_queue_for_requests_already_admitted() {
        let half = Pressure {
            queued: 50,
            ..idle()
        };
        assert_eq!(reason(half.admit_request()), "queue full");
        // ...while loads of admitted requests (and standalone loads) still get in.
        assert_eq!(reason(half.admit(1, true)), "admitted");
        assert_eq!(reason(half.admit(1, false)), "admitted");
        let under = Pressure {
            queued: 49,
            ..idle()
        };
        assert_eq!(reason(under.admit_request()), "admitted");
    }

    #[test]
    fn a_few_waves_behind_a_saturated_limit_are_admitted() {
        // 4 permits busy, 8 batches of several groups waiting: 30 ms expected, far under the
        // 1 s cap; a fan-out of groups under light load must not be shed.
        let saturated = Pressure {
            in_flight: 4,
            waiting_batches: 8,
            ..idle()
        };
        assert_eq!(saturated.expected_wait(), Duration::from_millis(30));
        assert_eq!(reason(saturated.admit(1, false)), "admitted");
    }
}
