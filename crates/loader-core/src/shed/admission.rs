//! Back-pressure for standalone loads (of loaders outside a request admitted at the door):
//! whether a new load may wait, decided before it joins a batch.
//!
//! Requests are admitted or refused whole at the door (`shed/door.rs`), and the loads of an
//! admitted request are never refused (`load/request.rs`). A standalone load has no request to
//! protect, so it is judged on its own: refused at once with [`LoadError::Overloaded`] when
//! the wait queue is full (`queue_capacity` loads waiting, all groups), when its expected
//! wait exceeds the caller's own deadline or `max_queue_wait`, or, while an open-loop
//! overload is on (`shed/overload.rs`), when it cannot start at once. The expected wait is the
//! number of "waves" of batches ahead of it (batches waiting for a permit, divided by the
//! limit, plus the one running) times the recent mean batch duration: cheap to compute and
//! conservative. Refusing early keeps latency bounded for the loads that are admitted, and the
//! `retry_after` hint tells callers when capacity should be free.

use std::time::Duration;

use crate::{LoadError, OverloadReason};

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
    /// An overload is on (`shed/overload.rs`): new work must be able to start at once.
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

    /// Admits `loads` new standalone loads, or says why not.
    pub(crate) fn admit(&self, loads: usize) -> Result<(), LoadError> {
        let wait = self.expected_wait();
        let refuse = |reason| {
            Err(LoadError::Overloaded {
                retry_after: wait.max(self.mean_rtt).max(Duration::from_millis(1)),
                reason,
            })
        };
        if self.queued.saturating_add(loads) > self.capacity {
            return refuse(OverloadReason::QueueFull);
        }
        if self.deadline_in.is_some_and(|left| wait > left) {
            return refuse(OverloadReason::Deadline);
        }
        if self.overloaded && !wait.is_zero() {
            return Err(LoadError::Overloaded {
                retry_after: super::overload::RETRY_AFTER,
                reason: OverloadReason::Overload,
            });
        }
        if wait > self.max_wait {
            return refuse(OverloadReason::ExpectedWait);
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
            Err(LoadError::Overloaded { reason, .. }) => reason.as_str(),
            Err(e) => panic!("unexpected {e}"),
            Ok(()) => "admitted",
        }
    }

    #[test]
    fn an_idle_engine_admits_with_no_expected_wait() {
        assert_eq!(idle().expected_wait(), Duration::ZERO);
        assert_eq!(reason(idle().admit(1)), "admitted");
    }

    #[test]
    fn a_full_queue_refuses() {
        let p = Pressure {
            queued: 99,
            ..idle()
        };
        assert_eq!(reason(p.admit(1)), "admitted");
        assert_eq!(reason(p.admit(2)), "queue full");
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
        let r = busy.admit(1);
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
        assert_eq!(reason(tight.admit(1)), "deadline");
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
        assert_eq!(reason(saturated.admit(1)), "admitted");
    }
}
