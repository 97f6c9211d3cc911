//! Figures over many runs: a family's, or all of them, for one strategy.

use serde::{Deserialize, Serialize};

use super::RunScore;

/// The `p`-quantile (`0..=1`) by nearest rank: the `ceil(p * n)`-th smallest value (the
/// smallest for `p = 0`). `None` for no value.
///
/// ```
/// use loader_sim::eval::quantile;
/// let v = [5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0];
/// assert_eq!(quantile(&v, 0.5), Some(5.0));
/// assert_eq!(quantile(&v, 0.1), Some(1.0));
/// assert_eq!(quantile(&v, 0.9), Some(9.0));
/// assert_eq!(quantile(&v, 0.0), Some(1.0));
/// assert_eq!(quantile(&[], 0.5), None);
/// ```
pub fn quantile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (p * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// Resamples behind [`bootstrap_ci95`].
pub const RESAMPLES: usize = 2000;

/// The 95% percentile-bootstrap interval of the `p`-quantile of `values`: the quantile of
/// [`RESAMPLES`] resamples drawn with replacement, their 2.5th and 97.5th percentiles.
/// It says how far the figure would move on another draw of as many scenarios from the
/// same families. Deterministic (a fixed seed), so a report is reproducible. `None` for
/// fewer than two values.
///
/// ```
/// use loader_sim::eval::bootstrap_ci95;
/// let v: Vec<f64> = (1..=100).map(|i| i as f64).collect();
/// let [lo, hi] = bootstrap_ci95(&v, 0.5).unwrap();
/// assert!(lo < 50.0 && 50.0 < hi && hi - lo < 25.0);
/// assert_eq!(bootstrap_ci95(&[3.0; 10], 0.1), Some([3.0, 3.0]));
/// assert_eq!(bootstrap_ci95(&[3.0], 0.1), None);
/// ```
pub fn bootstrap_ci95(values: &[f64], p: f64) -> Option<[f64; 2]> {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    if values.len() < 2 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(0x5eed_b007);
    let mut sample = vec![0.0; values.len()];
    let figures: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for x in sample.iter_mut() {
                *x = values[rng.random_range(0..values.len())];
            }
            quantile(&sample, p).expect("not empty")
        })
        .collect();
    Some([
        quantile(&figures, 0.025).expect("not empty"),
        quantile(&figures, 0.975).expect("not empty"),
    ])
}

/// A strategy's figures over a set of runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Runs (scenarios).
    pub runs: usize,
    /// Goodput over the per-phase oracle's: median.
    pub goodput_median: f64,
    /// Its 95% bootstrap interval ([`bootstrap_ci95`]; `None` for fewer than two runs).
    #[serde(default)]
    pub goodput_median_ci95: Option<[f64; 2]>,
    /// 10th percentile.
    pub goodput_p10: f64,
    /// Its 95% bootstrap interval.
    #[serde(default)]
    pub goodput_p10_ci95: Option<[f64; 2]>,
    /// Lowest.
    pub goodput_worst: f64,
    /// Goodput over the best single fixed limit's: median.
    pub single_fixed_median: f64,
    /// Steady phases whose p99 was judged (the oracle answered enough requests there).
    pub p99_phases: usize,
    /// Of those, phases with p99 at most [`P99_WITHIN`](super::P99_WITHIN) times the oracle's (a strategy that
    /// answered too few requests there to have a p99 is not within).
    pub p99_within: usize,
    /// `p99_within / p99_phases` (1 when no phase could be compared).
    pub p99_share: f64,
    /// Median p99 ratio over the phases where both answered enough requests.
    pub p99_ratio_median: Option<f64>,
    /// Changes judged for reconvergence.
    pub changes: usize,
    /// Reconvergence time, median, s (a change never settled counts with the rest of its
    /// phase, a lower bound).
    pub reconverge_median_s: Option<f64>,
    /// Reconvergence time, 90th percentile, s.
    pub reconverge_p90_s: Option<f64>,
    /// Changes after which the limit never settled in the band.
    pub not_reconverged: usize,
    /// Time until the limit first reached the band, median, s (a change never reached
    /// counts as its reconvergence: the rest of its phase). Against the reconvergence, it
    /// tells a slow arrival from a later excursion out of the band.
    #[serde(default)]
    pub reach_median_s: Option<f64>,
    /// Time until the limit first reached the band, 90th percentile, s.
    #[serde(default)]
    pub reach_p90_s: Option<f64>,
    /// Steady phases whose limit spread was measured.
    pub cv_phases: usize,
    /// Median over those phases of the limit's CV.
    pub limit_cv_median: Option<f64>,
    /// Runs that lost something (must be 0).
    pub lost: usize,
}

impl Summary {
    /// The figures of `runs`.
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a RunScore>) -> Self {
        let runs: Vec<&RunScore> = runs.into_iter().collect();
        let goodput: Vec<f64> = runs.iter().map(|r| r.oracle_ratio).collect();
        let single: Vec<f64> = runs.iter().map(|r| r.single_fixed_ratio).collect();
        let p99: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.phases.iter().filter_map(|p| p.p99_ratio))
            .collect();
        let judged: Vec<bool> = runs
            .iter()
            .flat_map(|r| r.phases.iter().filter_map(|p| p.p99_within))
            .collect();
        let within = judged.iter().filter(|&&w| w).count();
        let reconverge: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.changes.iter().map(|c| c.seconds))
            .collect();
        let reach: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.changes.iter().map(|c| c.reached_s.unwrap_or(c.seconds)))
            .collect();
        let cv: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.phases.iter().map(|p| p.limit_cv))
            .collect();
        Self {
            runs: runs.len(),
            goodput_median: quantile(&goodput, 0.5).unwrap_or(0.0),
            goodput_median_ci95: bootstrap_ci95(&goodput, 0.5),
            goodput_p10: quantile(&goodput, 0.1).unwrap_or(0.0),
            goodput_p10_ci95: bootstrap_ci95(&goodput, 0.1),
            goodput_worst: quantile(&goodput, 0.0).unwrap_or(0.0),
            single_fixed_median: quantile(&single, 0.5).unwrap_or(0.0),
            p99_phases: judged.len(),
            p99_within: within,
            p99_share: if judged.is_empty() {
                1.0
            } else {
                within as f64 / judged.len() as f64
            },
            p99_ratio_median: quantile(&p99, 0.5),
            changes: reconverge.len(),
            reconverge_median_s: quantile(&reconverge, 0.5),
            reconverge_p90_s: quantile(&reconverge, 0.9),
            not_reconverged: runs
                .iter()
                .flat_map(|r| &r.changes)
                .filter(|c| !c.reconverged)
                .count(),
            reach_median_s: quantile(&reach, 0.5),
            reach_p90_s: quantile(&reach, 0.9),
            cv_phases: cv.len(),
            limit_cv_median: quantile(&cv, 0.5),
            lost: runs.iter().filter(|r| !r.nothing_lost).count(),
        }
    }
}
