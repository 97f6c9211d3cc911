//! [`Tally`]: counts and latency histograms of a set of requests (a run, a second, a phase).

use std::{collections::BTreeMap, time::Duration};

use hdrhistogram::Histogram;

use super::{LatencySummary, Outcome, outcome::TransportKind};

/// Longest latency a histogram holds, in microseconds (one hour); longer ones saturate.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Counts and latencies of a set of requests. Mergeable, so per-second tallies add up to
/// phase and run totals.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    pub(crate) answered: u64,
    pub(crate) ok: u64,
    /// Answers with errors of any class (partial, refused, other).
    pub(crate) error_requests: u64,
    /// Answers with data and errors.
    pub(crate) partial: u64,
    /// `503` answers.
    pub(crate) refused: u64,
    pub(crate) overloaded: u64,
    pub(crate) transport_errors: u64,
    pub(crate) connect_errors: u64,
    pub(crate) timeouts: u64,
    pub(crate) codes: BTreeMap<String, u64>,
    /// Latency of every answered request (µs).
    pub(crate) latency: Histogram<u64>,
    /// Latency of requests answered without errors (µs).
    pub(crate) ok_latency: Histogram<u64>,
}

impl Tally {
    /// An empty tally whose histograms keep `significant_digits` digits (2 or 3).
    pub(crate) fn new(significant_digits: u8) -> Self {
        let histogram = || {
            Histogram::new_with_bounds(1, MAX_LATENCY_US, significant_digits)
                .expect("static histogram bounds are valid")
        };
        Self {
            answered: 0,
            ok: 0,
            error_requests: 0,
            partial: 0,
            refused: 0,
            overloaded: 0,
            transport_errors: 0,
            connect_errors: 0,
            timeouts: 0,
            codes: BTreeMap::new(),
            latency: histogram(),
            ok_latency: histogram(),
        }
    }

    /// Counts one request.
    pub(crate) fn record(&mut self, latency: Duration, outcome: &Outcome) {
        let us = (latency.as_micros() as u64).clamp(1, MAX_LATENCY_US);
        match outcome {
            Outcome::Ok => {
                self.answered += 1;
                self.ok += 1;
                self.latency.saturating_record(us);
                self.ok_latency.saturating_record(us);
            }
            Outcome::Partial(codes) | Outcome::Refused(codes) | Outcome::Errors(codes) => {
                self.answered += 1;
                self.error_requests += 1;
                match outcome {
                    Outcome::Partial(_) => self.partial += 1,
                    Outcome::Refused(_) => self.refused += 1,
                    _ => {}
                }
                self.latency.saturating_record(us);
                for code in codes {
                    *self.codes.entry(code.clone()).or_default() += 1;
                }
                if outcome.overloaded() {
                    self.overloaded += 1;
                }
            }
            Outcome::Transport(kind) => {
                self.transport_errors += 1;
                if *kind == TransportKind::Connect {
                    self.connect_errors += 1;
                }
            }
            Outcome::Timeout => self.timeouts += 1,
        }
    }

    /// Adds `other` into `self`.
    pub(crate) fn merge(&mut self, other: &Tally) {
        self.answered += other.answered;
        self.ok += other.ok;
        self.error_requests += other.error_requests;
        self.partial += other.partial;
        self.refused += other.refused;
        self.overloaded += other.overloaded;
        self.transport_errors += other.transport_errors;
        self.connect_errors += other.connect_errors;
        self.timeouts += other.timeouts;
        for (code, n) in &other.codes {
            *self.codes.entry(code.clone()).or_default() += n;
        }
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.ok_latency.add(&other.ok_latency);
    }

    /// Requests that failed otherwise than partial or refused: error answers without data,
    /// transport failures and timeouts.
    pub(crate) fn other_errors(&self) -> u64 {
        self.error_requests - self.partial - self.refused + self.transport_errors + self.timeouts
    }

    /// Requests that got no useful answer (errors, transport failures, timeouts) over all
    /// requests; 0 for an empty tally.
    pub(crate) fn error_rate(&self) -> f64 {
        let failed = self.error_requests + self.transport_errors + self.timeouts;
        let all = self.answered + self.transport_errors + self.timeouts;
        if all == 0 {
            0.0
        } else {
            failed as f64 / all as f64
        }
    }
}

impl LatencySummary {
    /// Percentiles of a microsecond histogram, in milliseconds (zeros when empty).
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_come_from_answered_requests_only() {
        let mut t = Tally::new(3);
        for i in 1..=100 {
            t.record(ms(i), &Outcome::Ok);
        }
        t.record(ms(10_000), &Outcome::Timeout);
        t.record(ms(1), &Outcome::Transport(TransportKind::Connect));
        let s = LatencySummary::of(&t.latency);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
        assert_eq!(t.answered, 100);
        assert_eq!(
            (t.timeouts, t.transport_errors, t.connect_errors),
            (1, 1, 1)
        );
    }

    #[test]
    fn errors_count_per_code_and_overloaded_separately() {
        let mut t = Tally::new(2);
        t.record(ms(1), &Outcome::Errors(vec!["OVERLOADED".into()]));
        t.record(
            ms(1),
            &Outcome::Errors(vec!["OVERLOADED".into(), "TIMEOUT".into()]),
        );
        t.record(ms(1), &Outcome::Errors(vec!["INTERNAL".into()]));
        t.record(ms(1), &Outcome::Ok);
        assert_eq!(t.error_requests, 3);
        assert_eq!((t.partial, t.refused), (0, 0));
        assert_eq!(t.overloaded, 2);
        assert_eq!(t.codes["OVERLOADED"], 2);
        assert_eq!(t.codes["TIMEOUT"], 1);
        assert_eq!(t.ok_latency.len(), 1);
        assert_eq!(t.latency.len(), 4);
        assert!((t.error_rate() - 0.75).abs() < 1e-9);
    }

    #[test]
    fn partial_refused_and_other_errors_are_apart() {
        let mut t = Tally::new(2);
        t.record(ms(1), &Outcome::Partial(vec!["OVERLOADED".into()]));
        t.record(ms(1), &Outcome::Refused(vec!["OVERLOADED".into()]));
        t.record(ms(1), &Outcome::Refused(vec![]));
        t.record(ms(1), &Outcome::Errors(vec!["INTERNAL".into()]));
        t.record(ms(1), &Outcome::Timeout);
        t.record(ms(2), &Outcome::Ok);
        assert_eq!((t.partial, t.refused, t.other_errors()), (1, 2, 2));
        assert_eq!(t.overloaded, 2);
        assert_eq!(
            t.ok_latency.len(),
            1,
            "only complete answers in the ok histogram"
        );
        let mut merged = Tally::new(2);
        merged.merge(&t);
        merged.merge(&t);
        assert_eq!(
            (merged.partial, merged.refused, merged.other_errors()),
            (2, 4, 4)
        );
    }

    #[test]
    fn merged_tallies_equal_one_tally_of_everything() {
        let (mut a, mut b, mut all) = (Tally::new(2), Tally::new(2), Tally::new(2));
        for i in 1..=50 {
            a.record(ms(i), &Outcome::Ok);
            all.record(ms(i), &Outcome::Ok);
        }
        for i in 51..=100 {
            let o = Outcome::Errors(vec!["X".into()]);
            b.record(ms(i), &o);
            all.record(ms(i), &o);
        }
        a.merge(&b);
        assert_eq!(a.answered, all.answered);
        assert_eq!(a.codes, all.codes);
        assert_eq!(
            LatencySummary::of(&a.latency),
            LatencySummary::of(&all.latency)
        );
        assert_eq!(a.ok_latency.len(), 50);
    }

    #[test]
    fn empty_tally_has_zero_percentiles_and_error_rate() {
        let t = Tally::new(3);
        assert_eq!(LatencySummary::of(&t.latency), LatencySummary::default());
        assert_eq!(t.error_rate(), 0.0);
    }
}
