//! The best fixed limit of one set of steady conditions, found by running fixed limits.

use serde::{Deserialize, Serialize};

use crate::{RunOptions, RunReport, Scenario, SimError, run};
use loader_core::limit::StrategyKind;

/// Share of the best goodput within which limits tie (when the limit does not bind, every
/// larger limit ties).
pub const TOLERANCE: f64 = 0.005;

/// Among tying limits, those whose p99 is within this share (plus 1 ms, the timer's
/// resolution) of the lowest p99 tie again; the smallest of them is the optimum.
pub const P99_TOLERANCE: f64 = 0.05;

/// A limit is in a phase's *band* when its steady goodput is at least this share of the
/// best...
pub const BAND_GOODPUT: f64 = 0.90;

/// ...and its steady p99 at most this multiple of the optimum's.
pub const BAND_P99: f64 = 1.3;

/// One fixed limit tried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tried {
    /// The fixed limit.
    pub limit: usize,
    /// Steady goodput, keys/s.
    pub keys_per_s: f64,
    /// Steady p99, ms.
    pub p99_ms: f64,
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The best fixed limit (see [`optimum`]).
    pub limit: usize,
    /// Its goodput, keys/s.
    pub keys_per_s: f64,
    /// Its p99, ms.
    pub p99_ms: f64,
    /// The limits whose goodput is at least [`BAND_GOODPUT`] of the best and whose p99 is at
    /// most [`BAND_P99`] times the optimum's (interpolated between the limits tried; the
    /// contiguous range around the optimum). Both ends are measured: the search tries limits
    /// beyond each end until one falls out of the band. Open-ended above only where the
    /// limit no longer binds (the two highest limits tried ran exactly alike).
    pub band: (usize, usize),
    /// Every limit tried, by limit.
    pub tried: Vec<Tried>,
}

/// How long each fixed-limit run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Seconds before the figures are taken.
    pub warmup_s: f64,
    /// Seconds over which goodput and p99 are measured.
    pub measure_s: f64,
    /// Each phase's search measures at least the phase's own length. At some limits a
    /// closed loop of merged batches runs for seconds with large batches, then collapses
    /// into many small ones and stays there; a run shorter than the phase misses the
    /// collapse and can pick the limit that collapses. (`false` in files written before it
    /// existed.)
    #[serde(default)]
    pub whole_phase: bool,
}

impl Default for SearchOptions {
    /// 3 s of warm-up, then at least 6 s measured, and at least the phase.
    fn default() -> Self {
        Self {
            warmup_s: 3.0,
            measure_s: 6.0,
            whole_phase: true,
        }
    }
}

impl SearchOptions {
    /// The options of the search of a phase `length_s` long.
    pub fn for_phase(self, length_s: f64) -> Self {
        if self.whole_phase {
            Self {
                measure_s: self.measure_s.max(length_s),
                ..self
            }
        } else {
            self
        }
    }
}

/// Limits of the coarse grid: 1, 2, 3, 4, 6, 8, 12, 16, 24, ... (steps of about 1.5x).
pub fn grid(min: usize, max: usize) -> Vec<usize> {
    let mut g: Vec<usize> = std::iter::successors(Some(1usize), |&n| {
        let next = if n.is_power_of_two() {
            n + n / 2
        } else {
            n / 3 * 4
        };
        n.checked_add(1).map(|up| next.max(up))
    })
    .take_while(|&n| n <= max)
    .filter(|&n| n >= min)
    .collect();
    g.extend([min, max]);
    g.sort_unstable();
    g.dedup();
    g
}

/// Finds the best fixed limit of `steady` (a scenario whose conditions do not change)
/// within `[min, max]`, starting near `hint` (the backend's capacity).
///
/// The coarse grid is walked from the grid point nearest `hint`: upwards until two limits
/// in a row do not beat the best by more than [`TOLERANCE`], downwards until two in a row
/// are worse than the best by more than [`TOLERANCE`] (the plateau's start is wanted). Then
/// the limits between the optimum and its nearest tried neighbours are tried in steps of a
/// quarter of the gap, until the step is at most `max(1, optimum / 16)`. Last, grid limits
/// beyond each end of the band are tried until one falls out of it ([`Search::band`]),
/// without moving the optimum. Every run must lose nothing.
pub fn search(
    steady: &Scenario,
    hint: usize,
    (min, max): (usize, usize),
    options: SearchOptions,
) -> Result<Search, SimError> {
    let scenario = steady.truncated(options.warmup_s + options.measure_s, options.warmup_s);
    let mut tried: Vec<Tried> = Vec::new();
    let eval = |limit: usize, tried: &mut Vec<Tried>| -> Result<Tried, SimError> {
        if let Some(t) = tried.iter().find(|t| t.limit == limit) {
            return Ok(*t);
        }
        let report = run(
            &scenario,
            &RunOptions::new(StrategyKind::Fixed(Some(limit))),
        )?;
        check_lost(&scenario, &report)?;
        let t = Tried {
            limit,
            keys_per_s: report.keys_per_s,
            p99_ms: report.latency.p99_ms,
        };
        tried.push(t);
        Ok(t)
    };
    let best = |tried: &[Tried]| tried.iter().map(|t| t.keys_per_s).fold(0.0, f64::max);

    let g = grid(min, max);
    let start = g
        .iter()
        .position(|&n| n >= hint.clamp(min, max))
        .unwrap_or(g.len() - 1);
    eval(g[start], &mut tried)?;
    // upwards: stop after two limits in a row that do not improve on the best
    let mut flat = 0;
    for &n in &g[start + 1..] {
        let before = best(&tried);
        let t = eval(n, &mut tried)?;
        flat = if t.keys_per_s > before * (1.0 + TOLERANCE) {
            0
        } else {
            flat + 1
        };
        if flat >= 2 {
            break;
        }
    }
    // downwards: stop after two limits in a row clearly below the best
    let mut worse = 0;
    for &n in g[..start].iter().rev() {
        let t = eval(n, &mut tried)?;
        worse = if t.keys_per_s < best(&tried) * (1.0 - TOLERANCE) {
            worse + 1
        } else {
            0
        };
        if worse >= 2 {
            break;
        }
    }
    // refine between the optimum's neighbours
    loop {
        let opt = optimum(&tried);
        let below = tried
            .iter()
            .map(|t| t.limit)
            .filter(|&l| l < opt)
            .max()
            .unwrap_or(opt);
        let above = tried
            .iter()
            .map(|t| t.limit)
            .filter(|&l| l > opt)
            .min()
            .unwrap_or(opt);
        let precision = (opt / 16).max(1);
        let step = (above - below).div_ceil(4).max(1);
        let todo: Vec<usize> = (below + 1..above)
            .step_by(step)
            .filter(|l| !tried.iter().any(|t| t.limit == *l))
            .collect();
        if todo.is_empty() {
            break;
        }
        for l in todo {
            eval(l, &mut tried)?;
        }
        if step <= precision {
            break;
        }
    }
    tried.sort_by_key(|t| t.limit);
    let limit = optimum(&tried);
    // The band's ends are measured, not assumed: while the lowest (highest) limit tried is
    // still in the band, the next grid limit beyond it is tried too. A walk stops where
    // the goodput starts to fall, often well inside the band. Above, the walk ends where
    // the limit no longer binds: from there every higher limit runs the same. The optimum
    // stays the one found above.
    loop {
        let first = tried[0].limit;
        if first <= min || band(&tried, limit, (min, max)).0 > first {
            break;
        }
        let below = g.iter().rev().find(|&&n| n < first).copied().unwrap_or(min);
        eval(below, &mut tried)?;
        tried.sort_by_key(|t| t.limit);
    }
    loop {
        let last = tried[tried.len() - 1].limit;
        if last >= max || unbound(&tried) || band(&tried, limit, (min, max)).1 < last {
            break;
        }
        let above = g.iter().find(|&&n| n > last).copied().unwrap_or(max);
        eval(above, &mut tried)?;
        tried.sort_by_key(|t| t.limit);
    }
    let at = *tried
        .iter()
        .find(|t| t.limit == limit)
        .expect("the optimum was tried");
    Ok(Search {
        limit,
        keys_per_s: at.keys_per_s,
        p99_ms: at.p99_ms,
        band: band(&tried, limit, (min, max)),
        tried,
    })
}

/// The best fixed limit among `tried`: of the limits whose goodput is within [`TOLERANCE`]
/// of the best, those whose p99 is within [`P99_TOLERANCE`] (+ 1 ms) of the lowest among
/// them, the smallest. On a plateau where the limit does not bind, that is where queueing
/// in the engine stops adding latency, not the first limit that reaches the goodput.
pub fn optimum(tried: &[Tried]) -> usize {
    let best = tried.iter().map(|t| t.keys_per_s).fold(0.0, f64::max);
    let tie: Vec<&Tried> = tried
        .iter()
        .filter(|t| t.keys_per_s >= best * (1.0 - TOLERANCE))
        .collect();
    let lowest = tie.iter().map(|t| t.p99_ms).fold(f64::INFINITY, f64::min);
    tie.iter()
        .filter(|t| t.p99_ms <= lowest * (1.0 + P99_TOLERANCE) + 1.0)
        .map(|t| t.limit)
        .min()
        .unwrap_or(1)
}

/// The band around `opt` (see [`Search::band`]); `tried` sorted by limit.
pub fn band(tried: &[Tried], opt: usize, (min, max): (usize, usize)) -> (usize, usize) {
    let best = tried.iter().map(|t| t.keys_per_s).fold(0.0, f64::max);
    let Some(at) = tried.iter().find(|t| t.limit == opt) else {
        return (opt, opt);
    };
    let ok = |keys: f64, p99: f64| keys >= BAND_GOODPUT * best && p99 <= BAND_P99 * at.p99_ms;
    // linear interpolation between the tried limits around `l`
    let fits = |l: usize| -> bool {
        let i = tried.partition_point(|t| t.limit < l);
        match (tried.get(i.wrapping_sub(1)), tried.get(i)) {
            (_, Some(t)) if t.limit == l => ok(t.keys_per_s, t.p99_ms),
            (Some(a), Some(b)) => {
                let w = (l - a.limit) as f64 / (b.limit - a.limit) as f64;
                ok(
                    a.keys_per_s + w * (b.keys_per_s - a.keys_per_s),
                    a.p99_ms + w * (b.p99_ms - a.p99_ms),
                )
            }
            _ => false,
        }
    };
    let (first, last) = (tried[0].limit, tried[tried.len() - 1].limit);
    let mut lo = opt;
    while lo > first.max(min) && fits(lo - 1) {
        lo -= 1;
    }
    let mut hi = opt;
    while hi < last && fits(hi + 1) {
        hi += 1;
    }
    if hi == last && unbound(tried) {
        hi = max;
    }
    (lo, hi)
}

/// Whether the two highest limits in `tried` (sorted by limit) ran exactly alike: the limit
/// no longer binds there, and every higher one runs the same.
fn unbound(tried: &[Tried]) -> bool {
    match tried {
        [.., a, b] => a.keys_per_s == b.keys_per_s && a.p99_ms == b.p99_ms,
        _ => false,
    }
}

/// A run that lost a request or a key is an error: the figures would be wrong.
pub(crate) fn check_lost(scenario: &Scenario, report: &RunReport) -> Result<(), SimError> {
    let digest = crate::RunDigest::new(report, &[]);
    digest.nothing_lost().map_err(|detail| SimError::Lost {
        scenario: scenario.name.clone(),
        strategy: report.strategy.clone(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(limit: usize, keys_per_s: f64, p99_ms: f64) -> Tried {
        Tried {
            limit,
            keys_per_s,
            p99_ms,
        }
    }

    #[test]
    fn grid_steps_by_about_one_and_a_half() {
        assert_eq!(grid(1, 64), vec![1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]);
        assert_eq!(grid(5, 20), vec![5, 6, 8, 12, 16, 20]);
    }

    #[test]
    fn optimum_is_the_smallest_limit_on_the_plateau() {
        let tried = [t(4, 100.0, 10.0), t(8, 200.0, 10.0), t(12, 199.5, 12.0)];
        assert_eq!(optimum(&tried), 8);
    }

    #[test]
    fn on_a_plateau_the_optimum_is_where_the_latency_stops_falling() {
        // a light load: every limit from 3 serves it all, but below 8 requests queue
        let tried = [
            t(2, 80.0, 90.0),
            t(3, 100.0, 60.0),
            t(6, 100.0, 30.0),
            t(8, 100.2, 20.5),
            t(12, 100.1, 20.0),
            t(16, 100.0, 20.0),
        ];
        assert_eq!(optimum(&tried), 8);
    }

    #[test]
    fn band_holds_the_limits_near_the_optimum_by_goodput_and_p99() {
        // a sharp knee at 4: 5 already loses a quarter of the goodput
        let sharp = [t(3, 75.0, 10.0), t(4, 100.0, 10.0), t(5, 74.0, 20.0)];
        assert_eq!(band(&sharp, 4, (1, 256)), (4, 4));
        // 12 and 14 serve 92% and 94%: in; 15 serves 88%: out
        let knee = [
            t(11, 85.0, 10.0),
            t(12, 92.0, 10.0),
            t(13, 100.0, 10.0),
            t(14, 94.0, 11.0),
            t(15, 88.0, 12.0),
        ];
        assert_eq!(band(&knee, 13, (1, 256)), (12, 14));
        // a plateau from 8 on whose p99 stays low: below, 7 serves 90% (interpolated), 6
        // less; above, no further than measured while the limit still moves the figures
        let plateau = [t(4, 60.0, 10.0), t(8, 100.0, 10.0), t(16, 100.0, 10.5)];
        assert_eq!(band(&plateau, 8, (1, 256)), (7, 16));
        // where the two highest limits ran alike, the limit no longer binds: open-ended
        let unbound = [
            t(4, 60.0, 10.0),
            t(8, 100.0, 10.0),
            t(16, 100.0, 10.5),
            t(24, 100.0, 10.5),
        ];
        assert_eq!(band(&unbound, 8, (1, 256)), (7, 256));
        // the lowest limit tried still in the band: the band ends there, not at the bound
        let falling = [t(12, 97.0, 10.0), t(16, 99.0, 10.0), t(17, 100.0, 10.0)];
        assert_eq!(band(&falling, 17, (1, 256)), (12, 17));
        // a soft knee: p99 grows past 1.3x between 16 and 32 (interpolated at 23); below
        // 16, goodput falls under 90% at 13 (interpolated)
        let soft = [t(8, 60.0, 10.0), t(16, 100.0, 10.0), t(32, 99.0, 17.0)];
        assert_eq!(band(&soft, 16, (1, 256)), (14, 22));
    }
}
