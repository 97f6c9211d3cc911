//! The evaluation as Markdown tables: per family, overall, and the targets.

use std::fmt::Write;

use super::{EvalReport, MOVED, RunScore, SeedRange, Summary};

/// Runs listed under "Worst runs".
const WORST_RUNS: usize = 10;

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

const HEADER: &str = "| family | strategy | runs | goodput median | p10 | worst | vs best single fixed (median) | p99 <= 1.3x oracle (steady phases) | reconverge median s | p90 s | never | first reached median s | p90 s | limit CV median | lost |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

fn row(out: &mut String, family: &str, strategy: &str, s: &Summary) {
    let _ = writeln!(
        out,
        "| {family} | {strategy} | {} | {} | {} | {} | {} | {} ({}/{}) | {} | {} | {}/{} | {} | {} | {} | {} |",
        s.runs,
        pct(s.goodput_median),
        pct(s.goodput_p10),
        pct(s.goodput_worst),
        pct(s.single_fixed_median),
        if s.p99_phases == 0 {
            "-".to_string()
        } else {
            pct(s.p99_share)
        },
        s.p99_within,
        s.p99_phases,
        secs(s.reconverge_median_s),
        secs(s.reconverge_p90_s),
        s.not_reconverged,
        s.changes,
        secs(s.reach_median_s),
        secs(s.reach_p90_s),
        s.limit_cv_median
            .map_or_else(|| "-".into(), |v| format!("{v:.3}")),
        if s.lost == 0 {
            "0".to_string()
        } else {
            format!("**{}**", s.lost)
        },
    );
}

/// The header line: which seeds, which range, how many scenarios.
pub fn headline(r: &EvalReport) -> String {
    let scenarios = r.runs.len() / r.strategies.len().max(1);
    let mut out = format!(
        "Figures from seeds {} ({}): {} families x {} seeds = {} scenarios; oracle: {}",
        r.seeds,
        r.seed_range.describe(),
        r.families.len(),
        r.seeds.len(),
        scenarios,
        r.oracle_kind,
    );
    if r.time_scale != 1.0 {
        let _ = write!(
            out,
            "; QUICK mode (durations x{}): not figures of record",
            r.time_scale
        );
    }
    out
}

/// Every table of the report.
pub fn tables(r: &EvalReport) -> String {
    let mut out = format!("## Evaluation\n\n{}\n\n", headline(r));
    out.push_str("### Per family\n\n");
    out.push_str(HEADER);
    for f in &r.families {
        for s in &r.strategies {
            if let Some(summary) = r.summary(Some(&f.name), s) {
                row(&mut out, &f.name, s, summary);
            }
        }
    }
    out.push_str("\n### Overall\n\n");
    out.push_str(HEADER);
    for s in &r.strategies {
        if let Some(summary) = r.summary(None, s) {
            row(&mut out, "all", s, summary);
        }
    }
    if !r.paired.is_empty() {
        let _ = write!(
            out,
            "\n### Against the first strategy, scenario by scenario\n\n\
             Runs whose goodput ratio moved by more than {:.0} point, the mean change with its \
             95% interval, and the sign test's chance of so uneven a split if every move were luck.\n\n\
             | family | strategy | against | runs | better | worse | mean change (95%) | sign test p |\n\
             |---|---|---|---:|---:|---:|---:|---:|\n",
            MOVED * 100.0
        );
        // Every family, then the overall rows.
        for p in r
            .paired
            .iter()
            .filter(|p| p.family.is_some())
            .chain(r.paired.iter().filter(|p| p.family.is_none()))
        {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:+.2} ± {:.2} pt | {:.3} |",
                p.family.as_deref().unwrap_or("all"),
                p.strategy,
                p.against,
                p.runs,
                p.better,
                p.worse,
                p.mean_change * 100.0,
                p.ci95 * 100.0,
                p.sign_p,
            );
        }
    }
    out.push_str("\n### Targets (issue 17, section 3)\n\n| target | goal |");
    for t in &r.targets {
        let _ = write!(out, " {} |", t.strategy);
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(r.targets.len()));
    out.push('\n');
    if let Some(first) = r.targets.first() {
        for (i, t) in first.targets.iter().enumerate() {
            let _ = write!(out, "| {} | {} |", t.name, t.goal);
            for st in &r.targets {
                let x = &st.targets[i];
                let verdict = match x.pass {
                    Some(true) => "pass",
                    Some(false) => "**FAIL**",
                    None => "n/a",
                };
                let _ = write!(out, " {verdict}: {} |", x.measured);
            }
            out.push('\n');
        }
    }
    out.push_str(&worst(r));
    let below = r
        .oracles
        .iter()
        .filter(|o| o.keys_per_s < 0.99 * o.single_keys_per_s)
        .count();
    let _ = writeln!(
        out,
        "\nOracles: {} computed, {} from the cache (engine fingerprint {}); the per-phase oracle served less than the best single fixed limit (by over 1%) in {below} of {} scenarios. {:.0} simulated s in {:.1} s of wall time.",
        r.oracles_computed,
        r.oracles_cached,
        r.engine_fingerprint,
        r.oracles.len(),
        r.simulated_s,
        r.wall_time_s
    );
    let lost = r.lost();
    if !lost.is_empty() {
        let _ = writeln!(out, "\n### LOST (a hard error)\n");
        for l in lost {
            let _ = writeln!(out, "- {l}");
        }
    }
    out
}

/// The `n` runs of `strategy` with the lowest goodput ratio, lowest first (ties by name).
fn worst_runs<'a>(runs: &'a [RunScore], strategy: &str, n: usize) -> Vec<&'a RunScore> {
    let mut of: Vec<&RunScore> = runs.iter().filter(|r| r.strategy == strategy).collect();
    of.sort_by(|a, b| {
        a.oracle_ratio
            .total_cmp(&b.oracle_ratio)
            .then_with(|| a.scenario.cmp(&b.scenario))
    });
    of.truncate(n);
    of
}

/// The first strategy's worst runs, each phase's goodput at its mean limit against the
/// oracle's, and how to look at one: where a strategy loses, and a scenario to trace.
fn worst(r: &EvalReport) -> String {
    let Some(first) = r.strategies.first() else {
        return String::new();
    };
    let runs = worst_runs(&r.runs, first, WORST_RUNS);
    if runs.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n### Worst runs of {first}\n\n\
         Each steady phase as goodput at the mean limit / the oracle's limit. To look at one: \
         `loader-sim generate --family FAMILY --seed SEED --out run.toml`, then \
         `loader-sim --scenario run.toml --strategy '{first}' --plot run.svg`, with the same \
         `--engine` overrides if any (a scenario file given to `--scenarios`: the file with \
         its `seed` line changed).\n"
    );
    if r.time_scale != 1.0 {
        out.push_str(
            "Quick mode: these runs were shortened; `generate` draws the full-length scenario.\n",
        );
    }
    if r.seed_range != SeedRange::Tuning {
        out.push_str("Held-out seeds among them: for the record, not for choosing rules.\n");
    }
    out.push_str(
        "\n| scenario | goodput | best single fixed | phases | slowest reconvergence s |\n\
         |---|---:|---:|---|---:|\n",
    );
    for run in runs {
        let phases: Vec<String> = run
            .phases
            .iter()
            .map(|p| {
                format!(
                    "{} at {:.0} / {}",
                    pct(p.goodput_ratio),
                    p.limit_mean,
                    p.oracle_limit
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} at {} | {} | {} |",
            run.scenario,
            pct(run.oracle_ratio),
            pct(run.single_fixed_ratio),
            run.single_fixed_limit,
            phases.join(", "),
            secs(run.reconverge_s),
        );
    }
    out
}

/// The families and their purpose.
pub fn families(r: &EvalReport) -> String {
    let mut out = String::from("| family | purpose |\n|---|---|\n");
    for f in &r.families {
        let _ = writeln!(out, "| {} | {} |", f.name, f.purpose);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scenario: &str, strategy: &str, ratio: f64) -> RunScore {
        RunScore::stub(scenario, strategy, ratio)
    }

    #[test]
    fn the_worst_runs_are_the_strategys_own_lowest_first() {
        let runs = [
            run("a#0", "law", 0.90),
            run("a#1", "law", 0.50),
            run("b#0", "law", 0.99),
            run("b#1", "law", 0.50),
            // Another strategy's worse run is not the law's.
            run("a#1", "aimd", 0.10),
        ];
        let names: Vec<&str> = worst_runs(&runs, "law", 3)
            .iter()
            .map(|r| r.scenario.as_str())
            .collect();
        assert_eq!(names, ["a#1", "b#1", "a#0"]);
        assert!(worst_runs(&runs, "vegas", 3).is_empty());
    }
}
