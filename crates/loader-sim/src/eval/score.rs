//! One strategy's run on one generated scenario, scored against the scenario's oracle.

use serde::{Deserialize, Serialize};

use crate::{
    RunDigest,
    digest::Point,
    oracle::{ORACLE_KIND, Oracle},
};

/// A steady phase's p99 is compared with the oracle's only when the oracle answered at least
/// this many requests with values in it (a p99 of fewer is noise); a strategy that answered
/// fewer where the oracle answered that many misses the latency target there.
pub const MIN_REQUESTS: u64 = 100;

/// A steady phase passes the latency target when its p99 is at most this multiple of the
/// oracle's.
pub const P99_WITHIN: f64 = 1.3;

/// Samples (100 ms each) in the window of the reconvergence rule: 1 s.
pub const RECONVERGE_WINDOW: usize = 10;

/// Share of a window's samples whose limit must lie in the band.
pub const RECONVERGE_SHARE: f64 = 0.8;

/// One phase's steady part, compared with the oracle's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseScore {
    /// The phase's index.
    pub index: usize,
    /// Start of the steady part, s.
    pub from_s: f64,
    /// End of the steady part, s.
    pub to_s: f64,
    /// The phase's best fixed limit. In a fleet, the sum over its replicas (the oracle holds
    /// every replica at the phase's limit), as `limit_mean` is.
    pub oracle_limit: usize,
    /// Limits nearly as good as the best (see `oracle::Search::band`); in a fleet, totals.
    pub band: (usize, usize),
    /// Goodput over the oracle's, in the steady part.
    pub goodput_ratio: f64,
    /// p99, ms.
    pub p99_ms: f64,
    /// The oracle's p99, ms.
    pub oracle_p99_ms: f64,
    /// `p99_ms / oracle_p99_ms`; `None` when either served fewer than [`MIN_REQUESTS`].
    pub p99_ratio: Option<f64>,
    /// Whether the p99 is within [`P99_WITHIN`] of the oracle's: `None` when the oracle
    /// served fewer than [`MIN_REQUESTS`] (not judged), `false` when the strategy did.
    pub p99_within: Option<bool>,
    /// Mean limit.
    pub limit_mean: f64,
    /// Standard deviation over mean of the limit.
    pub limit_cv: f64,
}

/// The reconvergence after one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeScore {
    /// When the change happened, s.
    pub at_s: f64,
    /// The phase it opened.
    pub phase: usize,
    /// The new phase's band (in a fleet, of the replicas' total limit).
    pub band: (usize, usize),
    /// Seconds until the limit settled in the band (see [`reconvergence`]); when it never
    /// did, the rest of the phase (a lower bound).
    pub seconds: f64,
    /// Whether it settled before the phase ended.
    pub reconverged: bool,
    /// Seconds until the limit first reached the band (see [`reach`]); `None` when it never
    /// did. Apart from `seconds`, it tells a slow arrival from a later excursion (a probe
    /// out of a narrow band) after which the limit came back.
    #[serde(default)]
    pub reached_s: Option<f64>,
}

/// Every figure of one run against its oracle (the row of `--json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScore {
    /// The family.
    pub family: String,
    /// The seed.
    pub seed: u64,
    /// The scenario's name, `<family>#<seed>`.
    pub scenario: String,
    /// The strategy's label.
    pub strategy: String,
    /// What `oracle_ratio` and `oracle_p99_ratio` compare with: `per-phase`.
    pub oracle_kind: String,
    /// Goodput after the warm-up over the per-phase oracle's.
    pub oracle_ratio: f64,
    /// The worst steady phase's p99 over the oracle's; `None` when no steady phase has
    /// enough requests to compare.
    pub oracle_p99_ratio: Option<f64>,
    /// Goodput over the best single fixed limit's.
    pub single_fixed_ratio: f64,
    /// The best single fixed limit.
    pub single_fixed_limit: usize,
    /// The longest reconvergence over the changes (`None`: no change).
    pub reconverge_s: Option<f64>,
    /// Mean of the steady phases' limit CV, weighted by their length (`None`: no steady
    /// phase).
    pub limit_cv: Option<f64>,
    /// Requests issued.
    pub issued: u64,
    /// Requests answered (values or error).
    pub answered: u64,
    /// Requests refused.
    pub refused: u64,
    /// Requests timed out.
    pub timed_out: u64,
    /// Requests answered with an error.
    pub errors: u64,
    /// Nothing lost: every request accounted for once, no key missing, the engine idle at
    /// the end, the limit within its bounds.
    pub nothing_lost: bool,
    /// What was lost, if anything.
    pub lost: Option<String>,
    /// Goodput after the warm-up, keys/s.
    pub keys_per_s: f64,
    /// The per-phase oracle's, keys/s.
    pub oracle_keys_per_s: f64,
    /// Every steady phase.
    pub phases: Vec<PhaseScore>,
    /// Every change after the warm-up.
    pub changes: Vec<ChangeScore>,
    /// Wall-clock seconds of the strategy's run.
    pub real_time_s: f64,
}

/// Seconds after `at_s` until the limit settles in `band`: the start of the first 1 s
/// window ([`RECONVERGE_WINDOW`] samples) from which every 1 s window until `end_s` has at
/// least [`RECONVERGE_SHARE`] of its samples' limits in the band. `(seconds, settled)`;
/// `None` when the phase holds less than one window.
pub fn reconvergence(
    points: &[Point],
    at_s: f64,
    end_s: f64,
    band: (usize, usize),
) -> Option<(f64, bool)> {
    let (after, inside) = in_band(points, at_s, end_s, band)?;
    let last_bad = inside
        .windows(RECONVERGE_WINDOW)
        .rposition(|w| !good_window(w));
    Some(match last_bad {
        None => (ms(after[0].t_s - at_s), true),
        Some(b) if b + RECONVERGE_WINDOW < after.len() => (ms(after[b + 1].t_s - at_s), true),
        Some(_) => (ms(end_s - at_s), false),
    })
}

/// Seconds after `at_s` until the limit first reaches `band`: the start of the first 1 s
/// window with at least [`RECONVERGE_SHARE`] of its samples' limits in the band, whether
/// or not the limit stays there (which [`reconvergence`] asks). `None` when no such window
/// starts before `end_s`, or the phase holds less than one window.
pub fn reach(points: &[Point], at_s: f64, end_s: f64, band: (usize, usize)) -> Option<f64> {
    let (after, inside) = in_band(points, at_s, end_s, band)?;
    let first = inside.windows(RECONVERGE_WINDOW).position(good_window)?;
    Some(ms(after[first].t_s - at_s))
}

/// The samples after `at_s` up to `end_s`, and whether each one's limit lies in `band`;
/// `None` when they are fewer than one window.
fn in_band(
    points: &[Point],
    at_s: f64,
    end_s: f64,
    band: (usize, usize),
) -> Option<(Vec<&Point>, Vec<bool>)> {
    let after: Vec<&Point> = points
        .iter()
        .filter(|p| p.t_s > at_s + 1e-9 && p.t_s <= end_s + 1e-9)
        .collect();
    if after.len() < RECONVERGE_WINDOW {
        return None;
    }
    let inside = after
        .iter()
        .map(|p| (band.0..=band.1).contains(&p.limit))
        .collect();
    Some((after, inside))
}

/// Whether a window of samples has at least [`RECONVERGE_SHARE`] of them in the band.
fn good_window(w: &[bool]) -> bool {
    let need = (RECONVERGE_SHARE * RECONVERGE_WINDOW as f64).ceil() as usize;
    w.iter().filter(|&&x| x).count() >= need
}

/// Sample times are multiples of 100 ms: keeps the figures free of rounding noise.
fn ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Scores `run` (a strategy's run of scenario `family#seed`, whose warm-up lasts
/// `warmup_s`) against `oracle`.
pub fn score(family: &str, seed: u64, oracle: &Oracle, run: &RunDigest, warmup_s: f64) -> RunScore {
    let mut phases = Vec::new();
    let mut changes = Vec::new();
    // A fleet's sampled limit is the sum of its replicas'; the oracle holds each replica at
    // the phase's limit, so its total is that many times the limit.
    let n = run.replicas.max(1);
    for po in &oracle.phases {
        let p = &po.phase;
        let band = (po.search.band.0 * n, po.search.band.1 * n);
        if p.index > 0
            && p.from_s >= warmup_s
            && let Some((seconds, reconverged)) = reconvergence(&run.points, p.from_s, p.to_s, band)
        {
            changes.push(ChangeScore {
                at_s: p.from_s,
                phase: p.index,
                band,
                seconds,
                reconverged,
                reached_s: reach(&run.points, p.from_s, p.to_s, band),
            });
        }
        let (Some(mine), Some(theirs)) = (run.phase(p.index), oracle.run.phase(p.index)) else {
            continue;
        };
        let comparable = mine.ok >= MIN_REQUESTS && theirs.ok >= MIN_REQUESTS;
        let ratio = comparable.then(|| mine.p99_ms / theirs.p99_ms.max(1e-9));
        phases.push(PhaseScore {
            index: p.index,
            from_s: mine.from_s,
            to_s: mine.to_s,
            oracle_limit: po.search.limit * n,
            band,
            goodput_ratio: mine.keys_per_s / theirs.keys_per_s.max(1e-9),
            p99_ms: mine.p99_ms,
            oracle_p99_ms: theirs.p99_ms,
            p99_ratio: ratio,
            p99_within: (theirs.ok >= MIN_REQUESTS).then(|| ratio.is_some_and(|r| r <= P99_WITHIN)),
            limit_mean: mine.limit_mean,
            limit_cv: mine.limit_cv,
        });
    }
    let weight: f64 = phases.iter().map(|p| p.to_s - p.from_s).sum();
    let limit_cv = (weight > 0.0).then(|| {
        phases
            .iter()
            .map(|p| p.limit_cv * (p.to_s - p.from_s))
            .sum::<f64>()
            / weight
    });
    let c = &run.counts;
    let lost = run.nothing_lost().err();
    RunScore {
        family: family.to_string(),
        seed,
        scenario: oracle.scenario.clone(),
        strategy: run.strategy.clone(),
        oracle_kind: ORACLE_KIND.to_string(),
        oracle_ratio: run.keys_per_s / oracle.run.keys_per_s.max(1e-9),
        oracle_p99_ratio: phases.iter().filter_map(|p| p.p99_ratio).reduce(f64::max),
        single_fixed_ratio: run.keys_per_s / oracle.single.keys_per_s.max(1e-9),
        single_fixed_limit: oracle.single_limit,
        reconverge_s: changes.iter().map(|c| c.seconds).reduce(f64::max),
        limit_cv,
        issued: c.issued,
        answered: c.answered(),
        refused: c.refused,
        timed_out: c.timed_out,
        errors: c.errors,
        nothing_lost: lost.is_none(),
        lost,
        keys_per_s: run.keys_per_s,
        oracle_keys_per_s: oracle.run.keys_per_s,
        phases,
        changes,
        real_time_s: run.real_time_s,
    }
}

#[cfg(test)]
impl RunScore {
    /// A run with only its scenario, strategy and goodput ratio set (its family the
    /// scenario's name before `#`), for tests of what reads runs.
    pub(crate) fn stub(scenario: &str, strategy: &str, ratio: f64) -> Self {
        Self {
            family: scenario.split('#').next().unwrap_or_default().to_string(),
            seed: 0,
            scenario: scenario.to_string(),
            strategy: strategy.to_string(),
            oracle_kind: "per-phase".into(),
            oracle_ratio: ratio,
            oracle_p99_ratio: None,
            single_fixed_ratio: ratio,
            single_fixed_limit: 1,
            reconverge_s: None,
            limit_cv: None,
            issued: 0,
            answered: 0,
            refused: 0,
            timed_out: 0,
            errors: 0,
            nothing_lost: true,
            lost: None,
            keys_per_s: 0.0,
            oracle_keys_per_s: 0.0,
            phases: Vec::new(),
            changes: Vec::new(),
            real_time_s: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(limits: &[usize]) -> Vec<Point> {
        limits
            .iter()
            .enumerate()
            .map(|(i, &limit)| Point {
                t_s: 10.0 + (i + 1) as f64 * 0.1,
                limit,
                keys_per_s: 1.0,
            })
            .collect()
    }

    #[test]
    fn a_limit_already_in_band_reconverges_at_the_first_sample() {
        let p = points(&[8; 30]);
        let (s, ok) = reconvergence(&p, 10.0, 13.0, (7, 9)).unwrap();
        assert!(ok);
        assert_eq!(s, 0.1);
    }

    #[test]
    fn reconvergence_is_the_start_of_the_good_suffix() {
        // 2 s far out, then in band for good
        let mut l = vec![32; 20];
        l.extend([8; 20]);
        let (s, ok) = reconvergence(&points(&l), 10.0, 14.0, (7, 9)).unwrap();
        assert!(ok);
        // the first window with >= 8 of 10 in band starts at sample 19 (t = 11.9)
        assert!((s - 1.9).abs() < 1e-9, "{s}");
    }

    #[test]
    fn brief_probes_out_of_the_band_are_tolerated_but_a_late_excursion_is_not() {
        // one sample in ten out of band: settled at once
        let probing: Vec<usize> = (0..40).map(|i| if i % 10 == 5 { 9 } else { 8 }).collect();
        assert_eq!(
            reconvergence(&points(&probing), 10.0, 14.0, (8, 8)),
            Some((0.1, true))
        );
        // half the time out of band: never
        let dither: Vec<usize> = (0..40).map(|i| 8 + i % 2).collect();
        let (s, ok) = reconvergence(&points(&dither), 10.0, 14.0, (8, 8)).unwrap();
        assert!(!ok);
        assert!((s - 4.0).abs() < 1e-9);
        // too short a phase: not judged
        assert_eq!(reconvergence(&points(&[8; 5]), 10.0, 10.5, (8, 8)), None);
    }

    #[test]
    fn reach_is_the_first_good_window_even_if_the_limit_leaves_again() {
        // 2 s far out, in band, then a probe of 4 samples out at 3.5 s, then in band again
        let mut l = vec![32; 20];
        l.extend([8; 15]);
        l.extend([9; 4]);
        l.extend([8; 21]);
        let p = points(&l);
        assert!((reach(&p, 10.0, 16.0, (8, 8)).unwrap() - 1.9).abs() < 1e-9);
        // the probe breaks the rule: settled only at its last two samples (t = 13.8)
        let (s, ok) = reconvergence(&p, 10.0, 16.0, (8, 8)).unwrap();
        assert!(ok);
        assert!((s - 3.8).abs() < 1e-9, "{s}");
        // never in band: never reached
        assert_eq!(reach(&points(&[32; 40]), 10.0, 14.0, (8, 8)), None);
        // too short a phase: not judged
        assert_eq!(reach(&points(&[8; 5]), 10.0, 10.5, (8, 8)), None);
    }
}
