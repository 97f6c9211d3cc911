//! Human-readable output: Markdown tables (they read well in a terminal and paste into
//! BENCHMARKS.md as they are).

use std::fmt::Write;

use crate::{RunReport, SweepReport, targets::TargetCheck};

const HEADER: &str = "| strategy | keys/s | % oracle | p50 ms | p99 ms | p99 / oracle | issued | answered | refused | timed out | errors | limit mean | limit cv | reconverge s | nothing lost |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|\n";

fn reconverge(s: Option<f64>, ok: Option<bool>) -> String {
    match (s, ok) {
        (Some(t), Some(true)) => format!("{t:.1}"),
        (Some(t), _) => format!("> {t:.1}"),
        _ => "-".into(),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "**NO**" }
}

/// The table of one run (no oracle: the ratio columns are empty), with its accounting.
pub fn run_table(run: &RunReport) -> String {
    let mut out = format!(
        "## {} / {} ({:.0} s simulated in {:.1} s)\n\n{HEADER}",
        run.scenario, run.strategy, run.duration_s, run.real_time_s
    );
    let c = &run.counts;
    let _ = writeln!(
        out,
        "| {} | {:.0} | - | {:.1} | {:.1} | - | {} | {} | {} | {} | {} | {:.1} | {:.3} | {} | {} |",
        run.strategy,
        run.keys_per_s,
        run.latency.p50_ms,
        run.latency.p99_ms,
        c.issued,
        run.answered,
        c.refused,
        c.timed_out,
        c.errors,
        run.limit.mean,
        run.limit.cv,
        reconverge(run.reconverge_s, run.reconverged),
        yes(run.unaccounted == 0 && c.missing_keys == 0),
    );
    let _ = writeln!(out, "\n{}", run.accounting());
    out
}

/// The sweep's table: one row per strategy, the fixed-limit sweep, the accounting of every
/// run, and adaptive's targets.
pub fn sweep_table(sweep: &SweepReport) -> String {
    let oracle = sweep.oracle();
    let mut out = format!(
        "## {}: oracle = fixed:{} ({:.0} keys/s, p99 {:.1} ms)\n\n{HEADER}",
        sweep.scenario, sweep.oracle_limit, oracle.keys_per_s, oracle.p99_ms
    );
    for r in &sweep.strategies {
        let name = if r.role.is_empty() {
            r.strategy.clone()
        } else {
            format!("{} ({})", r.strategy, r.role)
        };
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.1}% | {:.1} | {:.1} | {:.2} | {} | {} | {} | {} | {} | {:.1} | {:.3} | {} | {} |",
            r.keys_per_s,
            r.oracle_ratio * 100.0,
            r.p50_ms,
            r.p99_ms,
            r.oracle_p99_ratio,
            r.issued,
            r.answered,
            r.refused,
            r.timed_out,
            r.errors,
            r.limit_mean,
            r.limit_cv,
            reconverge(r.reconverge_s, r.reconverged),
            yes(r.nothing_lost),
        );
    }
    let points: Vec<String> = sweep
        .fixed_sweep
        .iter()
        .map(|p| format!("{}: {:.0}", p.limit, p.keys_per_s))
        .collect();
    let _ = writeln!(
        out,
        "\nFixed-limit sweep (limit: keys/s): {}\n",
        points.join(", ")
    );
    let _ = writeln!(
        out,
        "Accounting (issued = answered + refused + timed out):\n"
    );
    for r in &sweep.strategies {
        let _ = writeln!(out, "- {}: {}", r.strategy, r.run.accounting());
    }
    let _ = writeln!(out, "\n### Targets for adaptive ({})\n", sweep.scenario);
    out.push_str(&targets_table(&sweep.targets));
    out
}

/// Targets as a table with a pass/fail column.
pub fn targets_table(targets: &[TargetCheck]) -> String {
    let mut out = String::from("| target | goal | measured | result |\n|---|---|---|:---:|\n");
    for t in targets {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            t.name,
            t.goal,
            t.measured,
            if t.pass { "pass" } else { "**FAIL**" }
        );
    }
    out
}

/// One line per scenario: the oracle, how `adaptive` compares, the best other strategy, and
/// which of adaptive's targets it misses.
pub fn summary_table(sweeps: &[SweepReport]) -> String {
    let mut out = String::from(
        "## Summary: adaptive against the oracle\n\n| scenario | oracle | oracle keys/s | adaptive % oracle | adaptive p99 / oracle | adaptive limit mean (cv) | reconverge s | best other strategy | targets met | missed |\n|---|---:|---:|---:|---:|---:|---:|---|---:|---|\n",
    );
    for sweep in sweeps {
        let Some(a) = sweep.row("adaptive") else {
            continue;
        };
        let best_other = sweep
            .strategies
            .iter()
            .filter(|r| r.role.is_empty() && r.strategy != "adaptive")
            .max_by(|x, y| x.keys_per_s.total_cmp(&y.keys_per_s))
            .map_or_else(
                || "-".to_string(),
                |r| format!("{} {:.1}%", r.strategy, r.oracle_ratio * 100.0),
            );
        let met = sweep.targets.iter().filter(|t| t.pass).count();
        let missed: Vec<&str> = sweep
            .targets
            .iter()
            .filter(|t| !t.pass)
            .map(|t| t.name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "| {} | fixed:{} | {:.0} | {:.1}% | {:.2} | {:.1} ({:.3}) | {} | {} | {}/{} | {} |",
            sweep.scenario,
            sweep.oracle_limit,
            sweep.oracle().keys_per_s,
            a.oracle_ratio * 100.0,
            a.oracle_p99_ratio,
            a.limit_mean,
            a.limit_cv,
            reconverge(a.reconverge_s, a.reconverged),
            best_other,
            met,
            sweep.targets.len(),
            if missed.is_empty() {
                "-".to_string()
            } else {
                missed.join("; ")
            },
        );
    }
    out
}
