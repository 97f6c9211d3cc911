//! [`Evidence`]: the results of repeated experiments of one step, combined.
//!
//! On a noisy downstream one step of a few percent is "within the noise" every time it is
//! tried, though the same small gain keeps coming back (a replica stepping from 3 to 2 on a
//! saturated database measured +3%, +6%, +7%). Each trial's gain is an estimate with its own
//! standard error; their combined z-score (Stouffer's, weighted by precision:
//! `Σ gain / √Σ se²`) is what the trials say together.

/// The trials of one step (`from` → `to`, rounded limits) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Evidence {
    step: Option<(i64, i64)>,
    gains: f64,
    variance: f64,
    trials: u32,
}

impl Evidence {
    /// At most this many trials are combined: older ones were measured under a load that
    /// may have changed since.
    pub(super) const MAX_TRIALS: u32 = 4;

    /// Adds a trial of the step `from` → `to` that gained `gain` (relative) with standard
    /// error `se`, and returns the combined z-score and the number of trials combined. A
    /// trial of another step starts over.
    pub(super) fn add(&mut self, from: f64, to: f64, gain: f64, se: f64) -> (f64, u32) {
        let step = (from.round() as i64, to.round() as i64);
        if self.step != Some(step) || self.trials >= Self::MAX_TRIALS {
            *self = Self {
                step: Some(step),
                ..Self::default()
            };
        }
        self.gains += gain;
        self.variance += se * se;
        self.trials += 1;
        (self.gains / self.variance.sqrt().max(1e-9), self.trials)
    }

    /// Forgets the trials (the step was taken, or the ground moved).
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_gains_that_recur_add_up() {
        let mut e = Evidence::default();
        let (z, n) = e.add(3.0, 2.0, 0.06, 0.04);
        assert!((z - 1.5).abs() < 1e-9 && n == 1, "{z}");
        let (z, n) = e.add(3.0, 2.0, 0.06, 0.04);
        assert!(z > 2.0 && n == 2, "two trials of +6% ± 4%: {z}");
    }

    #[test]
    fn gains_of_either_sign_cancel() {
        let mut e = Evidence::default();
        e.add(3.0, 2.0, 0.06, 0.04);
        let (z, _) = e.add(3.0, 2.0, -0.06, 0.04);
        assert!(z.abs() < 1e-9);
    }

    #[test]
    fn another_step_or_too_many_trials_start_over() {
        let mut e = Evidence::default();
        e.add(3.0, 2.0, 0.06, 0.04);
        assert_eq!(e.add(3.0, 4.0, 0.0, 0.04).1, 1, "another step");
        for _ in 1..Evidence::MAX_TRIALS {
            e.add(3.0, 4.0, 0.0, 0.04);
        }
        assert_eq!(
            e.add(3.0, 4.0, 0.0, 0.04).1,
            1,
            "after MAX_TRIALS, the trials start over"
        );
        e.clear();
        assert_eq!(e, Evidence::default());
    }
}
