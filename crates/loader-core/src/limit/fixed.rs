//! Fixed: a limit that never moves, the baseline the other strategies are compared with.

use super::{Sample, ScalingStrategy};

/// A limit that never changes: the baseline every other strategy is measured against.
///
/// ```
/// use loader_core::limit::{Fixed, ScalingStrategy};
/// let mut fixed = Fixed::new(8);
/// assert_eq!(fixed.limit(), 8);
/// ```
#[derive(Debug, Clone)]
pub struct Fixed {
    limit: usize,
}

impl Fixed {
    /// A fixed limit of `limit` (at least 1).
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
        }
    }
}

impl ScalingStrategy for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }

    fn limit(&self) -> usize {
        self.limit
    }

    fn on_sample(&mut self, _sample: &Sample) -> usize {
        self.limit
    }

    fn reason(&self) -> &str {
        "fixed limit"
    }

    /// A fixed limit ignores learned state: it is the baseline.
    fn warm_start(&mut self, _limit: usize) {}
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limit::Outcome;

    #[test]
    fn never_moves_whatever_the_samples_say() {
        let mut fixed = Fixed::new(8);
        for i in 0..100 {
            let sample = Sample {
                now: Duration::from_millis(i),
                rtt: Duration::from_millis(i * 50),
                batch_size: 10,
                loads: 10,
                in_flight: 8,
                limit: 8,
                queued: 100,
                local_load: 1.0,
                outcome: if i % 2 == 0 {
                    Outcome::Error
                } else {
                    Outcome::Timeout
                },
                seq: 0,
                granted: 0,
                done_below: 0,
                requests_ended: 0,
                group: 0,
            };
            assert_eq!(fixed.on_sample(&sample), 8);
        }
        fixed.warm_start(3);
        assert_eq!(fixed.limit(), 8);
    }
}
