//! [`Recorder`]: files each finished request under its second of the run and, after the
//! warm-up, into the measured totals. Pure: times are offsets from the run's start.

use std::time::Duration;

use super::{LatencySummary, LoadReport, Outcome, SecondPoint, tally::Tally};

/// Significant digits of the run's histograms and of the per-second ones.
const RUN_DIGITS: u8 = 3;
const SECOND_DIGITS: u8 = 2;

/// Collects the requests of one run.
#[derive(Debug)]
pub struct Recorder {
    warmup: Duration,
    issued: u64,
    measured: Tally,
    seconds: Vec<Tally>,
}

/// What the run was, for the report.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// The endpoint.
    pub url: String,
    /// Closed-loop clients.
    pub clients: usize,
    /// Warm-up length.
    pub warmup: Duration,
    /// Planned measured length.
    pub duration: Duration,
    /// Time from the end of the warm-up until the last request finished.
    pub measured_elapsed: Duration,
}

impl Recorder {
    /// A recorder whose totals skip requests finished in the first `warmup`.
    pub fn new(warmup: Duration) -> Self {
        Self {
            warmup,
            issued: 0,
            measured: Tally::new(RUN_DIGITS),
            seconds: Vec::new(),
        }
    }

    /// Counts a request as sent.
    pub fn issued(&mut self) {
        self.issued += 1;
    }

    /// Records a request that finished `finished_at` after the run started.
    pub fn record(&mut self, finished_at: Duration, latency: Duration, outcome: &Outcome) {
        let second = finished_at.as_secs() as usize;
        if self.seconds.len() <= second {
            self.seconds
                .resize_with(second + 1, || Tally::new(SECOND_DIGITS));
        }
        self.seconds[second].record(latency, outcome);
        if finished_at >= self.warmup {
            self.measured.record(latency, outcome);
        }
    }

    /// Requests sent so far, and requests finished (answered or failed) so far.
    pub fn progress(&self) -> (u64, u64) {
        let finished = self
            .seconds
            .iter()
            .map(|s| s.answered + s.transport_errors + s.timeouts)
            .sum();
        (self.issued, finished)
    }

    /// The report of the run.
    pub fn finish(self, facts: RunFacts) -> LoadReport {
        let elapsed = facts.measured_elapsed.as_secs_f64();
        let rate = |n: u64| {
            if elapsed > 0.0 {
                n as f64 / elapsed
            } else {
                0.0
            }
        };
        let m = &self.measured;
        let completed = self
            .seconds
            .iter()
            .map(|s| s.answered + s.transport_errors + s.timeouts)
            .sum();
        let answered_total = self.seconds.iter().map(|s| s.answered).sum();
        let seconds = self
            .seconds
            .iter()
            .enumerate()
            .map(|(t, s)| SecondPoint {
                t_s: t as f64,
                answered: s.answered,
                ok: s.ok,
                errors: s.error_requests,
                partial: s.partial,
                refused: s.refused,
                overloaded: s.overloaded,
                timeouts: s.timeouts,
                transport_errors: s.transport_errors,
                p50_ms: LatencySummary::of(&s.latency).p50_ms,
                p99_ms: LatencySummary::of(&s.latency).p99_ms,
                ok_p99_ms: LatencySummary::of(&s.ok_latency).p99_ms,
            })
            .collect();
        LoadReport {
            url: facts.url,
            clients: facts.clients,
            warmup_s: facts.warmup.as_secs_f64(),
            duration_s: facts.duration.as_secs_f64(),
            elapsed_s: elapsed,
            issued: self.issued,
            completed,
            answered_total,
            answered: m.answered,
            ok: m.ok,
            error_requests: m.error_requests,
            partial: m.partial,
            refused: m.refused,
            other_errors: m.other_errors(),
            overloaded: m.overloaded,
            transport_errors: m.transport_errors,
            connect_errors: m.connect_errors,
            timeouts: m.timeouts,
            errors_by_code: m.codes.clone(),
            requests_per_s: rate(m.answered),
            ok_per_s: rate(m.ok),
            partial_per_s: rate(m.partial),
            refused_per_s: rate(m.refused),
            other_errors_per_s: rate(m.other_errors()),
            error_rate: m.error_rate(),
            latency: LatencySummary::of(&m.latency),
            ok_latency: LatencySummary::of(&m.ok_latency),
            seconds,
            second_tallies: self.seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(elapsed: u64) -> RunFacts {
        RunFacts {
            url: "http://x/graphql".into(),
            clients: 2,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(elapsed),
            measured_elapsed: Duration::from_secs(elapsed),
        }
    }

    #[test]
    fn warmup_requests_are_in_the_series_but_not_the_totals() {
        let mut r = Recorder::new(Duration::from_secs(1));
        let ms = Duration::from_millis;
        for at in [100, 900, 1100, 1500, 2100, 2200] {
            r.issued();
            r.record(ms(at), ms(5), &Outcome::Ok);
        }
        let report = r.finish(facts(2));
        assert_eq!(report.issued, 6);
        assert_eq!(report.completed, 6);
        assert_eq!(report.answered_total, 6);
        assert_eq!(report.answered, 4, "two finished in the warm-up");
        assert!((report.requests_per_s - 2.0).abs() < 1e-9);
        let per_second: Vec<u64> = report.seconds.iter().map(|s| s.answered).collect();
        assert_eq!(per_second, [2, 2, 2]);
    }

    #[test]
    fn series_counts_errors_overloaded_and_timeouts_per_second() {
        let mut r = Recorder::new(Duration::ZERO);
        let s = Duration::from_millis;
        r.record(s(10), s(1), &Outcome::Errors(vec!["OVERLOADED".into()]));
        r.record(s(20), s(1), &Outcome::Errors(vec!["INTERNAL".into()]));
        r.record(s(30), s(1), &Outcome::Partial(vec!["OVERLOADED".into()]));
        r.record(s(40), s(1), &Outcome::Refused(vec!["OVERLOADED".into()]));
        r.record(s(2500), s(30_000), &Outcome::Timeout);
        let report = r.finish(facts(3));
        assert_eq!(
            (report.seconds[0].partial, report.seconds[0].refused),
            (1, 1)
        );
        assert_eq!(
            (report.partial, report.refused, report.other_errors),
            (1, 1, 3),
            "two error answers without data and a timeout"
        );
        assert!((report.refused_per_s - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.seconds.len(), 3);
        assert_eq!(report.seconds[0].errors, 4);
        assert_eq!(report.seconds[0].overloaded, 3);
        assert_eq!(
            report.seconds[1].answered, 0,
            "a quiet second is still a point"
        );
        assert_eq!(report.seconds[2].timeouts, 1);
        assert_eq!(report.errors_by_code["INTERNAL"], 1);
        assert_eq!(report.overloaded, 3);
        assert!((report.error_rate - 1.0).abs() < 1e-9);
    }

    #[test]
    fn progress_counts_sent_and_finished() {
        let mut r = Recorder::new(Duration::ZERO);
        r.issued();
        r.issued();
        r.record(Duration::ZERO, Duration::ZERO, &Outcome::Ok);
        assert_eq!(r.progress(), (2, 1));
    }
}
