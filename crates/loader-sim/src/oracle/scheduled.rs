//! The clairvoyant operator: a fixed limit per phase, switched at each change.

use std::time::Duration;

use loader_core::limit::{Sample, ScalingStrategy};

/// A "strategy" that knows the future: from each `at` on, the limit is the one given, whatever
/// the samples say. The per-phase oracle runs it with each phase's best fixed limit.
///
/// ```
/// use std::time::Duration;
/// use loader_core::limit::ScalingStrategy;
/// use loader_sim::oracle::ScheduledLimit;
/// let s = ScheduledLimit::new(vec![(Duration::ZERO, 32), (Duration::from_secs(20), 8)]);
/// assert_eq!(s.limit(), 32);
/// assert_eq!(s.limit_at(Duration::from_secs(21)), 8);
/// ```
#[derive(Debug, Clone)]
pub struct ScheduledLimit {
    steps: Vec<(Duration, usize)>,
    limit: usize,
}

impl ScheduledLimit {
    /// Limit `steps[i].1` from `steps[i].0` on (sorted by time; the first holds from 0).
    pub fn new(mut steps: Vec<(Duration, usize)>) -> Self {
        steps.sort_by_key(|(at, _)| *at);
        let limit = steps.first().map_or(1, |(_, l)| *l);
        Self { steps, limit }
    }

    /// The limit in force at `now`.
    pub fn limit_at(&self, now: Duration) -> usize {
        let i = self.steps.partition_point(|(at, _)| *at <= now);
        self.steps[i.saturating_sub(1)].1
    }
}

impl ScalingStrategy for ScheduledLimit {
    fn name(&self) -> &'static str {
        "scheduled"
    }

    fn limit(&self) -> usize {
        self.limit
    }

    fn on_sample(&mut self, sample: &Sample) -> usize {
        self.limit = self.limit_at(sample.now);
        self.limit
    }

    fn reason(&self) -> &str {
        "the phase's best fixed limit"
    }

    fn warm_start(&mut self, _limit: usize) {}
}
