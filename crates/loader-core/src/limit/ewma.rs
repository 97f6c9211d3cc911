//! Exponentially weighted moving averages shared by the strategies.

/// An EWMA over the last ~`window` values, that starts as a plain mean of the first `warmup`
/// values (so the first value does not dominate for hundreds of samples).
///
/// This is Netflix's `ExpAvgMeasurement`: factor `2 / (window + 1)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpAvg {
    value: f64,
    sum: f64,
    count: u32,
    warmup: u32,
    factor: f64,
}

impl ExpAvg {
    pub(crate) fn new(window: u32, warmup: u32) -> Self {
        Self {
            value: 0.0,
            sum: 0.0,
            count: 0,
            warmup,
            factor: 2.0 / (f64::from(window.max(1)) + 1.0),
        }
    }

    /// Adds a value and returns the new average.
    pub(crate) fn add(&mut self, x: f64) -> f64 {
        if self.count < self.warmup {
            self.count += 1;
            self.sum += x;
            self.value = self.sum / f64::from(self.count);
        } else {
            self.value += (x - self.value) * self.factor;
        }
        self.value
    }

    /// Overwrites the average (used to pull a stale baseline down quickly).
    pub(crate) fn set(&mut self, value: f64) {
        self.value = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_as_a_plain_mean_then_decays_exponentially() {
        let mut avg = ExpAvg::new(9, 2);
        assert_eq!(avg.add(10.0), 10.0);
        assert_eq!(avg.add(20.0), 15.0);
        // factor = 2 / (9 + 1) = 0.2
        assert!((avg.add(25.0) - 17.0).abs() < 1e-9);
        avg.set(1.0);
        assert_eq!(avg.add(1.0), 1.0);
    }
}
