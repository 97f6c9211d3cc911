//! Phase summaries of a run's per-second series: before / during / after a disturbance,
//! and how long throughput took to recover.

use serde::{Deserialize, Serialize};

use super::{LatencySummary, LoadReport, tally::Tally};

/// A named time span of a run, in seconds from its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Name in reports (`before`, `during`, `after`).
    pub name: String,
    /// Start, seconds from the start of the run.
    pub from_s: f64,
    /// End (exclusive).
    pub to_s: f64,
}

impl Phase {
    /// A phase from `from_s` to `to_s`.
    pub fn new(name: &str, from_s: f64, to_s: f64) -> Self {
        Self {
            name: name.into(),
            from_s,
            to_s,
        }
    }
}

/// The figures of one phase, from the whole seconds that lie inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// The phase.
    pub phase: Phase,
    /// Whole seconds counted.
    pub seconds: usize,
    /// Responses per second.
    pub requests_per_s: f64,
    /// Complete responses per second.
    pub ok_per_s: f64,
    /// Partial responses (data plus errors) per second.
    #[serde(default)]
    pub partial_per_s: f64,
    /// Refusals (`503`) per second.
    #[serde(default)]
    pub refused_per_s: f64,
    /// Failed over all finished requests.
    pub error_rate: f64,
    /// Responses with `OVERLOADED`.
    pub overloaded: u64,
    /// Client timeouts.
    pub timeouts: u64,
    /// Latency of every response.
    pub latency: LatencySummary,
    /// Latency of the responses without errors.
    pub ok_latency: LatencySummary,
}

/// Summarises each phase from the seconds `[i, i + 1)` that lie wholly inside it.
pub fn summarize_phases(report: &LoadReport, phases: &[Phase]) -> Vec<PhaseSummary> {
    phases
        .iter()
        .map(|phase| {
            let first = phase.from_s.max(0.0).ceil() as usize;
            let end = (phase.to_s.max(0.0).floor() as usize).min(report.second_tallies.len());
            let mut sum = Tally::new(2);
            for s in report.second_tallies.get(first..end).unwrap_or_default() {
                sum.merge(s);
            }
            let seconds = end.saturating_sub(first);
            let rate = |n: u64| {
                if seconds == 0 {
                    0.0
                } else {
                    n as f64 / seconds as f64
                }
            };
            PhaseSummary {
                phase: phase.clone(),
                seconds,
                requests_per_s: rate(sum.answered),
                ok_per_s: rate(sum.ok),
                partial_per_s: rate(sum.partial),
                refused_per_s: rate(sum.refused),
                error_rate: sum.error_rate(),
                overloaded: sum.overloaded,
                timeouts: sum.timeouts,
                latency: LatencySummary::of(&sum.latency),
                ok_latency: LatencySummary::of(&sum.ok_latency),
            }
        })
        .collect()
}

/// Seconds from `from_s` until ok responses per second are back to `fraction` of
/// `baseline_ok_per_s` and stay there for `hold` consecutive seconds (or until the run
/// ends); `None` if that never happens.
///
/// ```
/// # use bench::load::recovery_time;
/// // ok/s per second: 100, 100, 10 (disturbed), 40, 95, 98, 97
/// let ok = [100, 100, 10, 40, 95, 98, 97];
/// assert_eq!(recovery_time(&ok, 3.0, 100.0, 0.9, 3), Some(2.0)); // back by the end of second 4
/// ```
pub fn recovery_time(
    ok_per_second: &[u64],
    from_s: f64,
    baseline_ok_per_s: f64,
    fraction: f64,
    hold: usize,
) -> Option<f64> {
    let first = from_s.max(0.0).floor() as usize;
    let target = baseline_ok_per_s * fraction;
    (first..ok_per_second.len()).find_map(|start| {
        let window = &ok_per_second[start..(start + hold.max(1)).min(ok_per_second.len())];
        window
            .iter()
            .all(|&ok| ok as f64 >= target)
            .then(|| (start as f64 + 1.0 - from_s).max(0.0))
    })
}

/// The ok responses of each second of a report, for [`recovery_time`].
pub fn ok_series(report: &LoadReport) -> Vec<u64> {
    report.seconds.iter().map(|s| s.ok).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::{Outcome, Recorder, RunFacts};

    /// 9 s: 100 ok/s at 2 ms; seconds 3..6 half the rate at 50 ms with 20 overloaded each.
    fn disturbed_run() -> LoadReport {
        let mut r = Recorder::new(Duration::ZERO);
        for second in 0..9u64 {
            let disturbed = (3..6).contains(&second);
            let (n, latency) = if disturbed { (50, 50) } else { (100, 2) };
            for i in 0..n {
                let at = Duration::from_millis(second * 1000 + i * 9);
                r.record(at, Duration::from_millis(latency), &Outcome::Ok);
            }
            if disturbed {
                for i in 0..20 {
                    let at = Duration::from_millis(second * 1000 + i * 40);
                    r.record(
                        at,
                        Duration::from_millis(1),
                        &Outcome::Errors(vec!["OVERLOADED".into()]),
                    );
                }
            }
        }
        r.finish(RunFacts {
            url: String::new(),
            clients: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(9),
            measured_elapsed: Duration::from_secs(9),
        })
    }

    #[test]
    fn phases_separate_the_disturbed_seconds() {
        let report = disturbed_run();
        let phases = summarize_phases(
            &report,
            &[
                Phase::new("before", 0.0, 3.0),
                Phase::new("during", 3.0, 6.0),
                Phase::new("after", 6.0, 9.0),
            ],
        );
        let [before, during, after] = &phases[..] else {
            panic!("three phases")
        };
        assert_eq!(before.seconds, 3);
        assert!((before.ok_per_s - 100.0).abs() < 1e-9);
        assert_eq!(before.overloaded, 0);
        assert!((during.ok_per_s - 50.0).abs() < 1e-9);
        assert_eq!(during.overloaded, 60);
        assert!((during.ok_latency.p99_ms - 50.0).abs() < 1.0, "{during:?}");
        assert!(before.ok_latency.p99_ms < 2.1);
        assert!((during.error_rate - 60.0 / 210.0).abs() < 1e-9);
        assert!((after.ok_per_s - 100.0).abs() < 1e-9);
    }

    #[test]
    fn partial_seconds_at_phase_edges_are_left_out() {
        let report = disturbed_run();
        let [p] = &summarize_phases(&report, &[Phase::new("x", 2.5, 6.5)])[..] else {
            panic!("one phase")
        };
        assert_eq!(p.seconds, 3, "seconds 3, 4, 5");
        let [beyond] = &summarize_phases(&report, &[Phase::new("y", 8.0, 20.0)])[..] else {
            panic!("one phase")
        };
        assert_eq!(beyond.seconds, 1);
    }

    #[test]
    fn recovery_is_measured_from_the_end_of_the_disturbance() {
        let report = disturbed_run();
        let ok = ok_series(&report);
        assert_eq!(recovery_time(&ok, 6.0, 100.0, 0.9, 3), Some(1.0));
        assert_eq!(recovery_time(&ok, 3.0, 100.0, 0.9, 2), Some(4.0));
    }

    #[test]
    fn recovery_needs_the_rate_to_hold_and_may_never_come() {
        let ok = [100, 20, 95, 10, 95, 96, 97];
        assert_eq!(recovery_time(&ok, 1.0, 100.0, 0.9, 3), Some(4.0));
        assert_eq!(recovery_time(&[100, 10, 20], 1.0, 100.0, 0.9, 3), None);
    }
}
