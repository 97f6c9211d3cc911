//! A number that may change over simulated time: `4.0` or `[[0, 32], [20, 8]]`.

use serde::{Deserialize, Serialize};

/// A piecewise-constant value over simulated time.
///
/// Written in a scenario either as a plain number (constant) or as a list of
/// `[at_s, value]` steps: each value holds from its `at_s` until the next entry. Before the
/// first entry the first value holds.
///
/// ```
/// use loader_sim::Schedule;
/// let s: Schedule = serde_json::from_str("[[0, 32], [20, 8]]").unwrap();
/// assert_eq!(s.at(19.9), 32.0);
/// assert_eq!(s.at(20.0), 8.0);
/// assert_eq!(s.changes(), vec![20.0]);
/// let c: Schedule = serde_json::from_str("4.5").unwrap();
/// assert_eq!(c.at(100.0), 4.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleRepr", into = "ScheduleRepr")]
pub struct Schedule {
    steps: Vec<(f64, f64)>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ScheduleRepr {
    Constant(f64),
    Steps(Vec<(f64, f64)>),
}

impl TryFrom<ScheduleRepr> for Schedule {
    type Error = String;

    fn try_from(repr: ScheduleRepr) -> Result<Self, String> {
        match repr {
            ScheduleRepr::Constant(v) => Schedule::steps(vec![(0.0, v)]),
            ScheduleRepr::Steps(steps) => Schedule::steps(steps),
        }
    }
}

impl From<Schedule> for ScheduleRepr {
    fn from(s: Schedule) -> Self {
        match s.steps.as_slice() {
            [(at, v)] if *at == 0.0 => ScheduleRepr::Constant(*v),
            _ => ScheduleRepr::Steps(s.steps),
        }
    }
}

impl Schedule {
    /// A value that never changes.
    pub fn constant(value: f64) -> Self {
        Self {
            steps: vec![(0.0, value)],
        }
    }

    /// A schedule from `(at_s, value)` steps; `at_s` must increase strictly and every number
    /// must be finite.
    pub fn steps(steps: Vec<(f64, f64)>) -> Result<Self, String> {
        if steps.is_empty() {
            return Err("a schedule needs at least one [at_s, value] entry".into());
        }
        if steps
            .iter()
            .any(|(at, v)| !at.is_finite() || !v.is_finite() || *at < 0.0)
        {
            return Err("schedule entries must be finite, with at_s >= 0".into());
        }
        if steps.windows(2).any(|w| w[1].0 <= w[0].0) {
            return Err("schedule entries must be in strictly increasing at_s order".into());
        }
        Ok(Self { steps })
    }

    /// The value in force at `t_s` seconds.
    pub fn at(&self, t_s: f64) -> f64 {
        let idx = self.steps.partition_point(|(at, _)| *at <= t_s);
        self.steps[idx.saturating_sub(1)].1
    }

    /// The first time strictly after `t_s` at which the value may change.
    pub fn next_step_after(&self, t_s: f64) -> Option<f64> {
        let idx = self.steps.partition_point(|(at, _)| *at <= t_s);
        self.steps.get(idx).map(|(at, _)| *at)
    }

    /// Times at which the value actually changes (a step to a different value).
    pub fn changes(&self) -> Vec<f64> {
        self.steps
            .windows(2)
            .filter(|w| w[1].1 != w[0].1)
            .map(|w| w[1].0)
            .collect()
    }

    /// The smallest value ever in force.
    pub fn min(&self) -> f64 {
        self.steps
            .iter()
            .map(|(_, v)| *v)
            .fold(f64::INFINITY, f64::min)
    }

    /// The largest value ever in force.
    pub fn max(&self) -> f64 {
        self.steps
            .iter()
            .map(|(_, v)| *v)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// The `(at_s, value)` steps.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.steps
    }

    /// The same values with every step time multiplied by `factor` (> 0).
    pub fn time_scaled(&self, factor: f64) -> Self {
        Self {
            steps: self.steps.iter().map(|(at, v)| (at * factor, *v)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_switches_exactly_at_the_step_time() {
        let s = Schedule::steps(vec![(0.0, 1.0), (10.0, 2.0), (20.0, 3.0)]).unwrap();
        assert_eq!(s.at(0.0), 1.0);
        assert_eq!(s.at(9.999), 1.0);
        assert_eq!(s.at(10.0), 2.0);
        assert_eq!(s.at(25.0), 3.0);
        assert_eq!(s.next_step_after(10.0), Some(20.0));
        assert_eq!(s.next_step_after(20.0), None);
    }

    #[test]
    fn first_value_holds_before_the_first_step() {
        let s = Schedule::steps(vec![(5.0, 7.0)]).unwrap();
        assert_eq!(s.at(0.0), 7.0);
    }

    #[test]
    fn steps_to_the_same_value_are_not_changes() {
        let s = Schedule::steps(vec![(0.0, 1.0), (10.0, 1.0), (20.0, 3.0)]).unwrap();
        assert_eq!(s.changes(), vec![20.0]);
    }

    #[test]
    fn unordered_or_empty_schedules_are_rejected() {
        assert!(Schedule::steps(vec![]).is_err());
        assert!(Schedule::steps(vec![(10.0, 1.0), (5.0, 2.0)]).is_err());
        assert!(Schedule::steps(vec![(0.0, f64::NAN)]).is_err());
    }

    #[test]
    fn plain_numbers_and_integer_steps_parse_from_toml() {
        #[derive(Deserialize)]
        struct T {
            a: Schedule,
            b: Schedule,
        }
        let t: T = toml::from_str("a = 4\nb = [[0, 32], [20, 8.5]]").unwrap();
        assert_eq!(t.a, Schedule::constant(4.0));
        assert_eq!(t.b.at(30.0), 8.5);
    }
}
