//! The evaluation as Markdown tables: per family, overall, and the targets.

use std::fmt::Write;

use super::{EvalReport, MOVED, Summary};

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

/// The families and their purpose.
pub fn families(r: &EvalReport) -> String {
    let mut out = String::from("| family | purpose |\n|---|---|\n");
    for f in &r.families {
        let _ = writeln!(out, "| {} | {} |", f.name, f.purpose);
    }
    out
}
