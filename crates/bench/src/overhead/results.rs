//! [`OverheadResults`]: every round of a `bench-overhead` run, each mode's medians and its
//! ratio to the baseline; JSON and a Markdown table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::Backing;
use crate::{e2e::Mode, load::LoadReport};

/// The engine-overhead target: adaptive keeps at least this fraction of the baseline's
/// requests/s.
pub const TARGET_MIN_RATIO: f64 = 0.90;

/// One mode in one round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundResult {
    /// Round number, from 1.
    pub round: usize,
    /// The server's loader mode.
    pub mode: Mode,
    /// `/proc/loadavg` (1, 5, 15 min) at the end of the run, if readable.
    pub load_average: Option<[f64; 3]>,
    /// `/loader/stats` at the end of the run (the engine's limit, groups, costs).
    pub loader_stats: Option<serde_json::Value>,
    /// CPU time the server used in the measured part (user + system, every thread, SQLite
    /// included: it runs in the server process), seconds.
    pub server_cpu_s: Option<f64>,
    /// `server_cpu_s` per answered request, ms.
    pub server_cpu_ms_per_request: Option<f64>,
    /// The load report (with its per-second series).
    pub report: LoadReport,
}

impl RoundResult {
    /// Failed requests: GraphQL errors, transport failures and timeouts.
    pub fn errors(&self) -> u64 {
        let r = &self.report;
        r.error_requests + r.transport_errors + r.timeouts
    }

    /// The share of the run's time at each limit, largest first ([`limit_time_shares`]).
    pub fn limit_time_shares(&self) -> Vec<(usize, f64)> {
        self.loader_stats
            .as_ref()
            .map(limit_time_shares)
            .unwrap_or_default()
    }
}

/// The share of time spent at each limit, largest first, from `/loader/stats`'
/// `limit_history`: a change point sets the limit from its time on; a periodic (`"steady"`)
/// point only marks time (its limit is the interval's mean, not a limit that was in force).
/// The median of the history's points says little: a law that probes from 1 to 2 and back
/// fifty times has as many points at 2 as at 1, however long each lasted.
pub fn limit_time_shares(loader_stats: &serde_json::Value) -> Vec<(usize, f64)> {
    let Some(points) = loader_stats.get("limit_history").and_then(|h| h.as_array()) else {
        return Vec::new();
    };
    let mut time: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
    let mut current: Option<(usize, f64)> = None;
    for point in points {
        let (Some(t), Some(limit)) = (
            point.get("t_s").and_then(|t| t.as_f64()),
            point.get("limit").and_then(|l| l.as_u64()),
        ) else {
            continue;
        };
        let steady = point.get("reason").and_then(|r| r.as_str()) == Some("steady");
        if let Some((at, since)) = current {
            *time.entry(at).or_default() += (t - since).max(0.0);
        }
        current = match current {
            Some((at, _)) if steady => Some((at, t)),
            _ => Some((limit as usize, t)),
        };
    }
    let total: f64 = time.values().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut shares: Vec<(usize, f64)> = time.into_iter().map(|(l, s)| (l, s / total)).collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    shares
}

/// One mode over every round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeSummary {
    /// The mode.
    pub mode: Mode,
    /// Requests/s of each round, in round order.
    pub requests_per_s: Vec<f64>,
    /// Median of `requests_per_s`.
    pub median_requests_per_s: f64,
    /// Median over the rounds of each round's median latency, ms.
    pub p50_ms: f64,
    /// Median over the rounds of each round's 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Median over the rounds of the server's CPU per request, ms, if measured.
    pub server_cpu_ms_per_request: Option<f64>,
    /// Responses answered over every round (measured parts).
    pub answered: u64,
    /// Failed requests over every round.
    pub errors: u64,
}

/// A mode's throughput against the baseline's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// The mode compared.
    pub mode: Mode,
    /// The mode it is compared with.
    pub baseline: Mode,
    /// Median requests/s of the mode over the baseline's.
    pub of_medians: f64,
    /// Round by round: the mode's requests/s over the baseline's in the same round (the two
    /// ran back to back).
    pub per_round: Vec<f64>,
    /// Median of `per_round`.
    pub per_round_median: f64,
    /// The mode's median server CPU per request over the baseline's (below 1: cheaper).
    pub cpu_per_request: Option<f64>,
}

/// Everything one `bench-overhead` run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverheadResults {
    /// The command line.
    pub command: String,
    /// The query mix (`builtin` or a file).
    pub mix: String,
    /// Where the database lived.
    pub database: Backing,
    /// `DATABASE_URL` of the server.
    pub database_url: String,
    /// Closed-loop clients.
    pub clients: usize,
    /// Rounds asked for.
    pub rounds: usize,
    /// Warm-up of each run, seconds.
    pub warmup_s: f64,
    /// Measured time of each run, seconds.
    pub duration_s: f64,
    /// The baseline mode.
    pub baseline: Mode,
    /// Logical CPUs of the machine (the load driver shares them with the server).
    pub cpus: usize,
    /// `/proc/loadavg` before the first run.
    pub load_average_start: Option<[f64; 3]>,
    /// Every run, in the order they ran.
    pub runs: Vec<RoundResult>,
    /// Per mode, in the order of `--modes`.
    pub modes: Vec<ModeSummary>,
    /// Every non-baseline mode against the baseline.
    pub ratios: Vec<Ratio>,
    /// `TARGET_MIN_RATIO`.
    pub target_min_ratio: f64,
    /// Whether adaptive met the target (ratio of medians), if both ran.
    pub target_met: Option<bool>,
}

/// The median (the mean of the middle two for an even count); 0 for no values.
///
/// ```
/// assert_eq!(bench::overhead::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(bench::overhead::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Per-mode summaries (in `modes` order) and the ratios of every other mode to `baseline`.
pub fn summarize(
    runs: &[RoundResult],
    modes: &[Mode],
    baseline: Mode,
) -> (Vec<ModeSummary>, Vec<Ratio>) {
    let summaries: Vec<ModeSummary> = modes
        .iter()
        .map(|&mode| {
            let mut of_mode: Vec<&RoundResult> = runs.iter().filter(|r| r.mode == mode).collect();
            of_mode.sort_by_key(|r| r.round);
            let requests_per_s: Vec<f64> =
                of_mode.iter().map(|r| r.report.requests_per_s).collect();
            let p50: Vec<f64> = of_mode.iter().map(|r| r.report.latency.p50_ms).collect();
            let p99: Vec<f64> = of_mode.iter().map(|r| r.report.latency.p99_ms).collect();
            let cpu: Vec<f64> = of_mode
                .iter()
                .filter_map(|r| r.server_cpu_ms_per_request)
                .collect();
            ModeSummary {
                mode,
                median_requests_per_s: median(&requests_per_s),
                requests_per_s,
                p50_ms: median(&p50),
                p99_ms: median(&p99),
                server_cpu_ms_per_request: (!cpu.is_empty()).then(|| median(&cpu)),
                answered: of_mode.iter().map(|r| r.report.answered).sum(),
                errors: of_mode.iter().map(|r| r.errors()).sum(),
            }
        })
        .collect();

    let base = summaries.iter().find(|s| s.mode == baseline);
    let ratios = match base {
        Some(base) if base.median_requests_per_s > 0.0 => summaries
            .iter()
            .filter(|s| s.mode != baseline)
            .map(|s| {
                let per_round: Vec<f64> = runs
                    .iter()
                    .filter(|r| r.mode == s.mode)
                    .filter_map(|r| {
                        let b = runs
                            .iter()
                            .find(|b| b.mode == baseline && b.round == r.round)?;
                        (b.report.requests_per_s > 0.0)
                            .then(|| r.report.requests_per_s / b.report.requests_per_s)
                    })
                    .collect();
                Ratio {
                    mode: s.mode,
                    baseline,
                    of_medians: s.median_requests_per_s / base.median_requests_per_s,
                    per_round_median: median(&per_round),
                    per_round,
                    cpu_per_request: s
                        .server_cpu_ms_per_request
                        .zip(base.server_cpu_ms_per_request)
                        .filter(|(_, b)| *b > 0.0)
                        .map(|(m, b)| m / b),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    (summaries, ratios)
}

impl OverheadResults {
    /// Adaptive against the baseline, if both ran.
    pub fn target_ratio(&self) -> Option<&Ratio> {
        self.ratios.iter().find(|r| r.mode == Mode::Adaptive)
    }

    /// The per-mode table, as Markdown.
    pub fn table(&self) -> String {
        let rounds = self
            .modes
            .iter()
            .map(|m| m.requests_per_s.len())
            .max()
            .unwrap_or(0);
        let mut out = String::from("| mode |");
        for round in 1..=rounds {
            let _ = write!(out, " round {round} req/s |");
        }
        let _ = writeln!(
            out,
            " median req/s | vs {} (of medians) | vs {} (per round, median) | p50 ms | p99 ms | server CPU ms/req | answered | errors |",
            self.baseline, self.baseline
        );
        out.push_str("|---|");
        out.push_str(&"---:|".repeat(rounds + 8));
        out.push('\n');
        for summary in &self.modes {
            let _ = write!(out, "| {} |", summary.mode);
            for round in 0..rounds {
                match summary.requests_per_s.get(round) {
                    Some(rps) => {
                        let _ = write!(out, " {rps:.0} |");
                    }
                    None => out.push_str(" |"),
                }
            }
            let (of_medians, per_round) = match self.ratios.iter().find(|r| r.mode == summary.mode)
            {
                Some(r) => (
                    format!("{:.3}", r.of_medians),
                    format!("{:.3}", r.per_round_median),
                ),
                None if summary.mode == self.baseline => ("1".into(), "1".into()),
                None => ("n/a".into(), "n/a".into()),
            };
            let cpu = match (
                summary.server_cpu_ms_per_request,
                self.ratios
                    .iter()
                    .find(|r| r.mode == summary.mode)
                    .and_then(|r| r.cpu_per_request),
            ) {
                (Some(ms), Some(ratio)) => format!("{ms:.3} (x{ratio:.2})"),
                (Some(ms), None) => format!("{ms:.3}"),
                (None, _) => "n/a".into(),
            };
            let _ = writeln!(
                out,
                " {:.0} | {} | {} | {:.2} | {:.2} | {} | {} | {} |",
                summary.median_requests_per_s,
                of_medians,
                per_round,
                summary.p50_ms,
                summary.p99_ms,
                cpu,
                summary.answered,
                summary.errors
            );
        }
        out
    }

    /// The run's settings, the table and the target verdict, as Markdown.
    pub fn markdown(&self) -> String {
        let load = |l: Option<[f64; 3]>| {
            l.map_or_else(
                || "n/a".to_string(),
                |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"),
            )
        };
        let mut out = format!(
            "command: `{}`\n\ndatabase: SQLite {} (`{}`), demo data; mix {}; {} clients, {} round(s) of {:.0} s warm-up + {:.0} s measured per mode, a fresh server per run; {} CPUs shared by server and load driver; load average before {}, after {}\n\n",
            self.command,
            self.database,
            self.database_url,
            self.mix,
            self.clients,
            self.rounds,
            self.warmup_s,
            self.duration_s,
            self.cpus,
            load(self.load_average_start),
            load(self.runs.last().and_then(|r| r.load_average)),
        );
        out.push_str(&self.table());
        let moving: Vec<_> = self
            .runs
            .iter()
            .map(|r| (r, r.limit_time_shares()))
            .filter(|(_, shares)| shares.len() > 1)
            .collect();
        if !moving.is_empty() {
            out.push_str(
                "\nlimit weighted by time (share of the run at each limit, largest first):\n\n",
            );
            for (run, shares) in moving {
                let top: Vec<String> = shares
                    .iter()
                    .take(5)
                    .map(|(limit, share)| format!("{limit}: {:.0}%", share * 100.0))
                    .collect();
                let _ = writeln!(
                    out,
                    "- {} round {}: {}",
                    run.mode,
                    run.round,
                    top.join(", ")
                );
            }
        }
        if let Some(ratio) = self.target_ratio() {
            let _ = writeln!(
                out,
                "\ntarget: adaptive keeps at least {:.0}% of {}'s requests/s: {:.1}% (of medians; {:.1}% per round) -> {}",
                self.target_min_ratio * 100.0,
                ratio.baseline,
                ratio.of_medians * 100.0,
                ratio.per_round_median * 100.0,
                if self.target_met == Some(true) {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
        out
    }
}

/// `/proc/loadavg` as three numbers, if readable.
pub(crate) fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(round: usize, mode: Mode, rps: f64, p99: f64, errors: u64) -> RoundResult {
        let cpu_ms = 2000.0 / rps;
        let mut report = LoadReport {
            requests_per_s: rps,
            answered: (rps * 10.0) as u64,
            error_requests: errors,
            ..LoadReport::default()
        };
        report.latency.p50_ms = p99 / 4.0;
        report.latency.p99_ms = p99;
        RoundResult {
            round,
            mode,
            load_average: None,
            loader_stats: None,
            server_cpu_s: Some(cpu_ms * rps * 10.0 / 1000.0),
            server_cpu_ms_per_request: Some(cpu_ms),
            report,
        }
    }

    fn three_rounds() -> Vec<RoundResult> {
        vec![
            run(1, Mode::Adaptive, 900.0, 20.0, 0),
            run(1, Mode::AsyncGraphql, 1000.0, 18.0, 0),
            run(2, Mode::AsyncGraphql, 800.0, 30.0, 1),
            run(2, Mode::Adaptive, 760.0, 40.0, 0),
            run(3, Mode::Adaptive, 1000.0, 10.0, 2),
            run(3, Mode::AsyncGraphql, 1100.0, 12.0, 0),
        ]
    }

    #[test]
    fn medians_of_rounds_and_totals_per_mode() {
        let (modes, _) = summarize(
            &three_rounds(),
            &[Mode::Adaptive, Mode::AsyncGraphql],
            Mode::AsyncGraphql,
        );
        let adaptive = &modes[0];
        assert_eq!(adaptive.requests_per_s, [900.0, 760.0, 1000.0]);
        assert_eq!(adaptive.median_requests_per_s, 900.0);
        assert_eq!(adaptive.p99_ms, 20.0);
        assert_eq!(adaptive.errors, 2);
        assert_eq!(modes[1].median_requests_per_s, 1000.0);
        assert_eq!(modes[1].errors, 1);
    }

    #[test]
    fn ratios_compare_medians_and_rounds_with_the_baseline() {
        let (_, ratios) = summarize(
            &three_rounds(),
            &[Mode::Adaptive, Mode::AsyncGraphql],
            Mode::AsyncGraphql,
        );
        assert_eq!(ratios.len(), 1, "the baseline has no ratio to itself");
        let r = &ratios[0];
        assert_eq!(r.mode, Mode::Adaptive);
        assert!((r.of_medians - 0.9).abs() < 1e-9);
        assert_eq!(r.per_round.len(), 3);
        // 0.9, 0.95, 0.909...: the median is round 3's.
        assert!((r.per_round_median - 1000.0 / 1100.0).abs() < 1e-9);
        // CPU per request is 2000 / rps: the median round's of each, 1000 / 900.
        let cpu = r.cpu_per_request.unwrap();
        assert!((cpu - 1000.0 / 900.0).abs() < 1e-9, "{cpu}");
    }

    #[test]
    fn no_ratio_without_a_baseline_run() {
        let runs: Vec<RoundResult> = three_rounds()
            .into_iter()
            .filter(|r| r.mode == Mode::Adaptive)
            .collect();
        let (modes, ratios) = summarize(&runs, &[Mode::Adaptive], Mode::AsyncGraphql);
        assert_eq!(modes.len(), 1);
        assert!(ratios.is_empty());
    }

    #[test]
    fn table_has_a_column_per_round_and_the_ratio() {
        let runs = three_rounds();
        let (modes, ratios) = summarize(
            &runs,
            &[Mode::Adaptive, Mode::AsyncGraphql],
            Mode::AsyncGraphql,
        );
        let results = OverheadResults {
            command: "bench-overhead".into(),
            mix: "builtin".into(),
            database: Backing::Memory,
            database_url: "sqlite::memory:".into(),
            clients: 64,
            rounds: 3,
            warmup_s: 3.0,
            duration_s: 10.0,
            baseline: Mode::AsyncGraphql,
            cpus: 2,
            load_average_start: Some([1.0, 2.0, 3.0]),
            runs,
            modes,
            ratios,
            target_min_ratio: TARGET_MIN_RATIO,
            target_met: Some(true),
        };
        let table = results.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("round 3 req/s"), "{table}");
        let columns = lines[0].matches('|').count();
        assert!(
            lines.iter().all(|l| l.matches('|').count() == columns),
            "{table}"
        );
        assert!(
            lines[2].starts_with("| adaptive | 900 | 760 | 1000 | 900 | 0.900 |"),
            "{table}"
        );
        assert!(results.markdown().contains("-> met"));
    }

    #[test]
    fn limit_time_shares_weigh_change_points_by_time_and_steady_points_mark_time_only() {
        let stats = serde_json::json!({ "limit_history": [
            { "t_s": 0.0, "limit": 2, "reason": "probe down", "throughput": 0.0 },
            { "t_s": 1.0, "limit": 2, "reason": "steady", "throughput": 0.0 },
            { "t_s": 2.9, "limit": 4, "reason": "probe up", "throughput": 0.0 },
            { "t_s": 3.0, "limit": 2, "reason": "probe up did not pay", "throughput": 0.0 },
            { "t_s": 4.0, "limit": 3, "reason": "steady", "throughput": 0.0 },
        ]});
        // 2 from 0 to 2.9 and from 3 to 4 (3.9 s), 4 for 0.1 s; the steady point's 3 is a
        // mean, never in force. By points, 2 and 4 would look alike (two changes each way).
        let shares = limit_time_shares(&stats);
        assert_eq!(shares.len(), 2, "{shares:?}");
        assert_eq!(shares[0].0, 2);
        assert!((shares[0].1 - 0.975).abs() < 1e-9, "{shares:?}");
        assert_eq!(shares[1].0, 4);
        assert!((shares[1].1 - 0.025).abs() < 1e-9, "{shares:?}");
        assert!(limit_time_shares(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn median_of_nothing_is_zero() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[5.0]), 5.0);
    }
}
