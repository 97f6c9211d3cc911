//! Issue 17's targets (section 3), judged on an evaluation's figures.

use serde::{Deserialize, Serialize};

use super::Summary;

/// The strategies a candidate must beat on every family's median goodput.
pub const BASELINES: [&str; 3] = ["vegas", "gradient2", "aimd"];

/// Scenarios the targets are judged over, at least.
pub const MIN_SCENARIOS: usize = 200;

/// One target for one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Short name.
    pub name: String,
    /// The requirement.
    pub goal: String,
    /// What was measured.
    pub measured: String,
    /// Met or not; `None` when this evaluation cannot tell (see `measured`).
    pub pass: Option<bool>,
}

fn target(name: &str, goal: &str, measured: String, pass: Option<bool>) -> Target {
    Target {
        name: name.into(),
        goal: goal.into(),
        measured,
        pass,
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}{unit}"))
}

/// The targets for `strategy`, whose figures over every run are `overall`. `medians` holds
/// `(family, strategy, median goodput)` for every family and strategy evaluated;
/// `held_out` says whether every seed was held out.
pub fn judge(
    strategy: &str,
    overall: &Summary,
    medians: &[(String, String, f64)],
    held_out: bool,
) -> Vec<Target> {
    let s = overall;
    let mut out = vec![
        target(
            "scenarios",
            &format!(">= {MIN_SCENARIOS} generated, held-out seeds"),
            format!(
                "{} ({})",
                s.runs,
                if held_out {
                    "held-out"
                } else {
                    "NOT all held-out"
                }
            ),
            Some(s.runs >= MIN_SCENARIOS && held_out),
        ),
        target(
            "goodput median",
            ">= 97% of the per-phase oracle",
            format!(
                "{:.1}%{}",
                s.goodput_median * 100.0,
                ci(s.goodput_median_ci95)
            ),
            Some(s.goodput_median >= 0.97),
        ),
        target(
            "goodput p10",
            ">= 92%",
            format!("{:.1}%{}", s.goodput_p10 * 100.0, ci(s.goodput_p10_ci95)),
            Some(s.goodput_p10 >= 0.92),
        ),
        target(
            "goodput worst",
            ">= 80%",
            format!("{:.1}%", s.goodput_worst * 100.0),
            Some(s.goodput_worst >= 0.80),
        ),
        target(
            "steady p99",
            "<= 1.3x the oracle's in >= 90% of steady phases",
            format!("{:.1}% of {} phases", s.p99_share * 100.0, s.p99_phases),
            Some(s.p99_share >= 0.90),
        ),
        target(
            "reconvergence median",
            "<= 2 s",
            format!(
                "{} over {} changes ({} never)",
                opt(s.reconverge_median_s, " s"),
                s.changes,
                s.not_reconverged
            ),
            s.reconverge_median_s.map(|t| t <= 2.0),
        ),
        target(
            "reconvergence p90",
            "<= 5 s",
            opt(s.reconverge_p90_s, " s"),
            s.reconverge_p90_s.map(|t| t <= 5.0),
        ),
        target(
            "limit CV",
            "< 0.15 (median over steady phases)",
            format!("{} over {} phases", opt(s.limit_cv_median, ""), s.cv_phases),
            s.limit_cv_median.map(|cv| cv < 0.15),
        ),
        target(
            "nothing lost",
            "in every run",
            format!("{} of {} runs lost something", s.lost, s.runs),
            Some(s.lost == 0),
        ),
    ];
    let families: Vec<&String> = {
        let mut f: Vec<&String> = medians.iter().map(|(f, _, _)| f).collect();
        f.sort();
        f.dedup();
        f
    };
    let baseline_missing: Vec<&str> = BASELINES
        .iter()
        .copied()
        .filter(|b| !medians.iter().any(|(_, s, _)| s == b))
        .collect();
    let beat = if BASELINES.contains(&strategy) || strategy.starts_with("fixed") {
        target(
            "beats the baselines",
            "median goodput above the best of vegas, gradient2, aimd in every family",
            "n/a (a baseline itself)".into(),
            None,
        )
    } else if !baseline_missing.is_empty() {
        target(
            "beats the baselines",
            "median goodput above the best of vegas, gradient2, aimd in every family",
            format!(
                "not measured: add --strategy {}",
                baseline_missing.join(",")
            ),
            None,
        )
    } else {
        let mut lost_to = Vec::new();
        for family in &families {
            let get = |s: &str| {
                medians
                    .iter()
                    .find(|(f, x, _)| f == *family && x == s)
                    .map(|(_, _, m)| *m)
            };
            let mine = get(strategy).unwrap_or(0.0);
            let (best_name, best) = BASELINES
                .iter()
                .filter_map(|b| get(b).map(|m| (*b, m)))
                .fold(
                    ("", f64::NEG_INFINITY),
                    |acc, x| if x.1 > acc.1 { x } else { acc },
                );
            if mine <= best {
                lost_to.push(format!(
                    "{family} ({:.1}% vs {best_name} {:.1}%)",
                    mine * 100.0,
                    best * 100.0
                ));
            }
        }
        target(
            "beats the baselines",
            "median goodput above the best of vegas, gradient2, aimd in every family",
            if lost_to.is_empty() {
                format!("every one of {} families", families.len())
            } else {
                format!(
                    "not in {} of {}: {}",
                    lost_to.len(),
                    families.len(),
                    lost_to.join("; ")
                )
            },
            Some(lost_to.is_empty()),
        )
    };
    out.push(beat);
    out
}

/// ` (95% CI 88.0-92.5%)`, or nothing.
fn ci(interval: Option<[f64; 2]>) -> String {
    interval
        .map(|[lo, hi]| format!(" (95% CI {:.1}-{:.1}%)", lo * 100.0, hi * 100.0))
        .unwrap_or_default()
}
