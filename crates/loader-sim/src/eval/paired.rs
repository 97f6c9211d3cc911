//! Each strategy against the first, scenario by scenario.
//!
//! The simulator is deterministic, but a strategy is chaotic: a change that flips one
//! decision sends a run on another course, and from there its goodput moves by chance as
//! much as by merit. Two strategies' p10 over a few hundred scenarios then differ by a point
//! or two with no cause. Comparing the same scenarios pair by pair says more: how many runs
//! got better and how many worse (a change that only reshuffles luck splits them evenly, and
//! the sign test says how uneven a split must be to mean something), and the mean change
//! with its confidence interval.

use serde::{Deserialize, Serialize};

use super::RunScore;

/// A run counts as better or worse when its goodput ratio moved by more than this (one
/// point of the oracle's goodput).
pub const MOVED: f64 = 0.01;

/// One strategy against another over the scenarios both ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// The family (`None`: every family).
    pub family: Option<String>,
    /// The strategy compared.
    pub strategy: String,
    /// What it is compared with (the evaluation's first strategy).
    pub against: String,
    /// Scenarios both ran.
    pub runs: usize,
    /// Runs whose goodput ratio rose by more than [`MOVED`].
    pub better: usize,
    /// Runs whose goodput ratio fell by more than [`MOVED`].
    pub worse: usize,
    /// Mean change of the goodput ratio (strategy minus `against`).
    pub mean_change: f64,
    /// Half-width of its 95% confidence interval (1.96 standard errors).
    pub ci95: f64,
    /// Two-sided sign test on `better` against `worse`: the chance of a split at least this
    /// uneven if each moved run were as likely to go either way.
    pub sign_p: f64,
}

impl Paired {
    /// `strategy` against `against` over `runs` (of any strategies), scenario by scenario;
    /// `None` when they share no scenario.
    pub fn of<'a>(
        family: Option<&str>,
        strategy: &str,
        against: &str,
        runs: impl IntoIterator<Item = &'a RunScore> + Clone,
    ) -> Option<Self> {
        let base: std::collections::HashMap<&str, f64> = runs
            .clone()
            .into_iter()
            .filter(|r| r.strategy == against)
            .map(|r| (r.scenario.as_str(), r.oracle_ratio))
            .collect();
        let changes: Vec<f64> = runs
            .into_iter()
            .filter(|r| r.strategy == strategy)
            .filter_map(|r| base.get(r.scenario.as_str()).map(|b| r.oracle_ratio - b))
            .collect();
        if changes.is_empty() {
            return None;
        }
        let n = changes.len() as f64;
        let mean = changes.iter().sum::<f64>() / n;
        let var = if changes.len() > 1 {
            changes.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        let better = changes.iter().filter(|&&c| c > MOVED).count();
        let worse = changes.iter().filter(|&&c| c < -MOVED).count();
        Some(Self {
            family: family.map(str::to_string),
            strategy: strategy.to_string(),
            against: against.to_string(),
            runs: changes.len(),
            better,
            worse,
            mean_change: mean,
            ci95: 1.96 * (var / n).sqrt(),
            sign_p: sign_test(better, worse),
        })
    }
}

/// Two-sided sign test: the probability, for `a + b` fair coin tosses, of a split at least
/// as uneven as `a` against `b`.
///
/// ```
/// use loader_sim::eval::sign_test;
/// assert_eq!(sign_test(0, 0), 1.0);
/// assert!((sign_test(5, 5) - 1.0).abs() < 1e-12);
/// assert!((sign_test(10, 0) - 2.0 / 1024.0).abs() < 1e-12);
/// assert!(sign_test(60, 40) > 0.05 && sign_test(70, 30) < 0.001);
/// ```
pub fn sign_test(a: usize, b: usize) -> f64 {
    let n = a + b;
    let k = a.min(b);
    // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so that n in the thousands
    // does not underflow the terms that matter.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0; // ln C(n, 0)
    let mut tail = 0.0;
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    (2.0 * tail).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scenario: &str, strategy: &str, ratio: f64) -> RunScore {
        RunScore::stub(scenario, strategy, ratio)
    }

    #[test]
    fn pairs_runs_by_scenario_and_counts_moves_beyond_a_point() {
        let runs = [
            run("a#0", "law", 0.90),
            run("a#1", "law", 0.95),
            run("a#2", "law", 0.99),
            run("a#3", "law", 0.80),
            // Listed in another order: pairs go by scenario, not by position.
            run("a#3", "new", 0.80),
            run("a#2", "new", 0.995),
            run("a#1", "new", 0.90),
            run("a#0", "new", 0.97),
            // No partner: ignored.
            run("a#9", "new", 0.10),
        ];
        let p = Paired::of(Some("a"), "new", "law", runs.iter()).expect("shared scenarios");
        assert_eq!(p.runs, 4);
        assert_eq!((p.better, p.worse), (1, 1));
        assert!((p.mean_change - (0.07 - 0.05 + 0.005) / 4.0).abs() < 1e-12);
        assert!(p.ci95 > 0.0);
        assert!((p.sign_p - 1.0).abs() < 1e-12);
        assert!(Paired::of(None, "other", "law", runs.iter()).is_none());
    }

    #[test]
    fn the_sign_test_is_symmetric_and_shrinks_with_the_imbalance() {
        assert_eq!(sign_test(3, 9), sign_test(9, 3));
        assert!((sign_test(1, 0) - 1.0).abs() < 1e-12);
        // 106 against 104, as a change that reshuffles luck gives: nothing.
        assert!(sign_test(106, 104) > 0.9);
        let mut last = 1.0;
        for better in 50..100 {
            let p = sign_test(better, 100 - better);
            assert!(p <= last);
            last = p;
        }
        // Large counts stay finite and positive.
        let p = sign_test(1200, 800);
        assert!(p > 0.0 && p < 1e-15);
    }
}
