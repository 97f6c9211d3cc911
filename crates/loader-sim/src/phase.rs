//! Phases: a run cut at every change of its conditions, and the steady part of each.

use serde::{Deserialize, Serialize};

use crate::{Scenario, analysis::SETTLE_S};

/// Shortest steady part a phase needs to be judged on its own (p99, limit spread), s.
pub const MIN_STEADY_S: f64 = 2.0;

/// A stretch of a run during which no backend or load parameter changes.
///
/// Its *steady part* starts at the end of the warm-up (first phase) or [`SETTLE_S`] after
/// the change that opened it, whichever is later, and runs to the phase's end; a phase whose
/// steady part is shorter than [`MIN_STEADY_S`] has none.
///
/// ```
/// let scenario = loader_sim::Scenario::from_toml_str(r#"
///     duration_s = 30
///     warmup_s = 5
///     [backend]
///     capacity = [[0, 32], [15, 8]]
///     base_latency_ms = 4.0
///     [load]
///     mode = "closed"
///     clients = 100
///     keys_per_request = 3
///     key_space = 1000
///     request_timeout_ms = 1000
/// "#).unwrap();
/// let phases = loader_sim::phases(&scenario);
/// assert_eq!(phases.len(), 2);
/// assert_eq!(phases[0].steady(), Some((5.0, 15.0)));
/// assert_eq!(phases[1].steady(), Some((18.0, 30.0)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Position in the run, from 0.
    pub index: usize,
    /// Start, s: 0 or the change that opened the phase.
    pub from_s: f64,
    /// End, s: the next change or the end of the run.
    pub to_s: f64,
    /// The run's warm-up, s (the steady part never starts before it).
    pub warmup_s: f64,
}

impl Phase {
    /// The steady part `(from_s, to_s)`, if the phase has one.
    pub fn steady(&self) -> Option<(f64, f64)> {
        let from = if self.index == 0 {
            self.warmup_s
        } else if self.from_s + SETTLE_S >= self.warmup_s {
            self.from_s + SETTLE_S
        } else {
            self.warmup_s
        };
        (self.to_s - from >= MIN_STEADY_S).then_some((from, self.to_s))
    }

    /// Length, s.
    pub fn len_s(&self) -> f64 {
        self.to_s - self.from_s
    }
}

/// The phases of `scenario`: `[0, duration_s]` cut at every change time.
pub fn phases(scenario: &Scenario) -> Vec<Phase> {
    let cuts: Vec<f64> = scenario
        .change_times()
        .into_iter()
        .filter(|&t| t > 0.0 && t < scenario.duration_s)
        .collect();
    let starts = std::iter::once(0.0).chain(cuts.iter().copied());
    let ends = cuts
        .iter()
        .copied()
        .chain(std::iter::once(scenario.duration_s));
    starts
        .zip(ends)
        .enumerate()
        .map(|(index, (from_s, to_s))| Phase {
            index,
            from_s,
            to_s,
            warmup_s: scenario.warmup_s,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(index: usize, from_s: f64, to_s: f64) -> Phase {
        Phase {
            index,
            from_s,
            to_s,
            warmup_s: 6.0,
        }
    }

    #[test]
    fn steady_part_skips_the_warmup_and_the_settling_time() {
        assert_eq!(phase(0, 0.0, 20.0).steady(), Some((6.0, 20.0)));
        assert_eq!(phase(1, 20.0, 30.0).steady(), Some((23.0, 30.0)));
        // a short phase has no steady part
        assert_eq!(phase(1, 20.0, 24.0).steady(), None);
        // a change inside the warm-up: the steady part starts after the warm-up
        assert_eq!(phase(1, 2.0, 30.0).steady(), Some((6.0, 30.0)));
    }
}
