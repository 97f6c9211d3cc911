//! [`E2eResults`]: everything one `bench-e2e` run measured, its JSON form and its tables.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::Mode;
use crate::load::{LatencySummary, LoadReport, PhaseSummary};

/// One cell of the matrix: a mode at a client count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixCell {
    /// The server's loader mode.
    pub mode: Mode,
    /// Closed-loop clients.
    pub clients: usize,
    /// SQL statements the server ran in the measured part (`pg_stat_statements`), if
    /// counted.
    pub statements: Option<u64>,
    /// `false` when `pg_stat_statements` evicted entries during the cell: `statements` is
    /// then a lower bound.
    pub statements_exact: bool,
    /// `statements / answered`, if counted.
    pub statements_per_request: Option<f64>,
    /// `/loader/stats` at the end of the cell (the engine's limit, groups, costs).
    pub loader_stats: Option<serde_json::Value>,
    /// The load report (with its per-second series).
    pub report: LoadReport,
}

/// A "database gets slower" run of one mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlowdownRun {
    /// The server's loader mode.
    pub mode: Mode,
    /// Closed-loop clients.
    pub clients: usize,
    /// When the competing load started and stopped, seconds from the start of the run.
    pub competitor_from_s: f64,
    /// End of the competing load.
    pub competitor_to_s: f64,
    /// What competed (`pgbench -c 16 ...`) and its summary.
    pub competitor: String,
    /// Before, during and after.
    pub phases: Vec<PhaseSummary>,
    /// Seconds after the competing load stopped until ok/s was back to 90% of "before"
    /// for 3 s in a row; `None` if it never was.
    pub recovery_s: Option<f64>,
    /// The load report (with its per-second series).
    pub report: LoadReport,
}

/// The memory soak.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Soak {
    /// The server's loader mode.
    pub mode: Mode,
    /// Closed-loop clients.
    pub clients: usize,
    /// Soak length, seconds.
    pub duration_s: f64,
    /// Server RSS right after it became ready, KiB.
    pub rss_ready_kib: Option<u64>,
    /// Server RSS at the start of the measured part (after the warm-up), KiB.
    pub rss_start_kib: Option<u64>,
    /// Server RSS at the end, KiB.
    pub rss_end_kib: Option<u64>,
    /// (seconds since the start of the soak, RSS KiB), every few seconds.
    pub rss_samples: Vec<(f64, u64)>,
    /// The load report.
    pub report: LoadReport,
}

/// How RSS moved once the server settled: the samples from [`RssTrend::SETTLE_S`] on (or
/// from half the soak, if it is shorter than twice that).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RssTrend {
    /// Seconds since the start of the soak the settled part starts at.
    pub from_s: f64,
    /// Smallest and largest RSS of the settled part, KiB.
    pub min_kib: u64,
    pub max_kib: u64,
    /// Mean RSS of the settled part, KiB.
    pub mean_kib: f64,
    /// Least-squares slope of RSS over the settled part, KiB per minute: a leak is a
    /// positive slope that does not fade; a server that only warmed up has ~0.
    pub slope_kib_per_min: f64,
}

impl RssTrend {
    /// The first minute (allocator pools, connection buffers and caches filling up) is the
    /// warm-up of memory; what follows must be flat.
    pub const SETTLE_S: f64 = 60.0;

    /// The trend of `(seconds, KiB)` samples; `None` with fewer than three settled samples.
    pub fn of(samples: &[(f64, u64)]) -> Option<Self> {
        let end = samples.last()?.0;
        let from_s = if end >= 2.0 * Self::SETTLE_S {
            Self::SETTLE_S
        } else {
            end / 2.0
        };
        let settled: Vec<(f64, f64)> = samples
            .iter()
            .filter(|(t, _)| *t >= from_s)
            .map(|(t, k)| (*t, *k as f64))
            .collect();
        if settled.len() < 3 {
            return None;
        }
        let n = settled.len() as f64;
        let mean_t = settled.iter().map(|(t, _)| t).sum::<f64>() / n;
        let mean_k = settled.iter().map(|(_, k)| k).sum::<f64>() / n;
        let cov: f64 = settled
            .iter()
            .map(|(t, k)| (t - mean_t) * (k - mean_k))
            .sum();
        let var: f64 = settled.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
        let slope_per_s = if var > 0.0 { cov / var } else { 0.0 };
        Some(Self {
            from_s,
            min_kib: settled.iter().map(|(_, k)| *k as u64).min()?,
            max_kib: settled.iter().map(|(_, k)| *k as u64).max()?,
            mean_kib: mean_k,
            slope_kib_per_min: slope_per_s * 60.0,
        })
    }

    /// The growth the slope predicts over the settled part, as a share of its mean RSS.
    pub fn drift_share(&self, end_s: f64) -> f64 {
        let minutes = (end_s - self.from_s).max(0.0) / 60.0;
        self.slope_kib_per_min * minutes / self.mean_kib.max(1.0)
    }
}

/// Everything measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct E2eResults {
    /// The command line.
    pub command: String,
    /// Data set sizes.
    pub data_set: DataSet,
    /// Modes that were asked for but could not run, and why.
    pub skipped: Vec<String>,
    /// The mode x clients matrix.
    pub matrix: Vec<MatrixCell>,
    /// The best fixed limit by ok/s at the highest client count, if any fixed mode ran.
    pub best_fixed: Option<Mode>,
    /// The modes the targets compare, again at the most clients in alternating order.
    #[serde(default)]
    pub confirmation: Option<super::confirm::Confirmation>,
    /// The slowdown runs.
    pub slowdown: Vec<SlowdownRun>,
    /// The soak, if asked for.
    pub soak: Option<Soak>,
}

/// Sizes of the seeded data set and how long seeding took.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataSet {
    /// Users.
    pub users: u64,
    /// Posts.
    pub posts: u64,
    /// Comments.
    pub comments: u64,
    /// Tags.
    pub tags: u64,
    /// Follows.
    pub follows: u64,
    /// Seconds `server seed` took.
    pub seed_s: f64,
}

impl E2eResults {
    /// The best fixed mode: highest ok/s at the highest client count measured.
    pub fn pick_best_fixed(&self) -> Option<Mode> {
        let top = self.matrix.iter().map(|c| c.clients).max()?;
        self.matrix
            .iter()
            .filter(|c| c.clients == top && matches!(c.mode, Mode::Fixed(_)))
            .max_by(|a, b| a.report.ok_per_s.total_cmp(&b.report.ok_per_s))
            .map(|c| c.mode)
    }

    /// The matrix as a Markdown table.
    pub fn matrix_table(&self) -> String {
        let mut out = String::from(
            "| mode | clients | req/s | ok/s | p50 ms | p99 ms | ok p99 ms | errors | overloaded | timeouts | stmts/req |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for cell in &self.matrix {
            let r = &cell.report;
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
                cell.mode,
                cell.clients,
                r.requests_per_s,
                r.ok_per_s,
                r.latency.p50_ms,
                r.latency.p99_ms,
                r.ok_latency.p99_ms,
                r.error_requests + r.transport_errors,
                r.overloaded,
                r.timeouts,
                match (cell.statements_per_request, cell.statements_exact) {
                    (None, _) => "n/a".to_string(),
                    (Some(s), true) => format!("{s:.2}"),
                    (Some(s), false) => format!(">={s:.2}"),
                },
            );
        }
        out
    }

    /// The slowdown runs as a Markdown table: one row per mode and phase.
    pub fn slowdown_table(&self) -> String {
        let mut out = String::from(
            "| mode | phase | seconds | req/s | ok/s | p99 ms | ok p99 ms | error rate | overloaded | timeouts | recovery s |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for run in &self.slowdown {
            for p in &run.phases {
                let recovery = if p.phase.name == "after" {
                    run.recovery_s
                        .map_or_else(|| "never".to_string(), |s| format!("{s:.0}"))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}% | {} | {} | {} |",
                    run.mode,
                    p.phase.name,
                    p.seconds,
                    p.requests_per_s,
                    p.ok_per_s,
                    p.latency.p99_ms,
                    p.ok_latency.p99_ms,
                    p.error_rate * 100.0,
                    p.overloaded,
                    p.timeouts,
                    recovery
                );
            }
        }
        out
    }

    /// Every table and line, as Markdown.
    pub fn markdown(&self) -> String {
        let d = &self.data_set;
        let mut out = format!(
            "command: `{}`\n\ndata set: {} users, {} posts, {} comments, {} tags, {} follows (seeded in {:.1} s)\n\n",
            self.command, d.users, d.posts, d.comments, d.tags, d.follows, d.seed_s
        );
        out.push_str(&self.matrix_table());
        if let Some(best) = self.best_fixed {
            let _ = writeln!(out, "\nbest fixed limit (ok/s at the most clients): {best}");
        }
        if let Some(confirmation) = &self.confirmation {
            out.push_str(&confirmation.markdown());
        }
        if !self.slowdown.is_empty() {
            let run = &self.slowdown[0];
            let _ = writeln!(
                out,
                "\nslowdown ({} clients; competing load {:.0}..{:.0} s: {})\n",
                run.clients, run.competitor_from_s, run.competitor_to_s, run.competitor
            );
            out.push_str(&self.slowdown_table());
        }
        if let Some(line) = self.soak_line() {
            let _ = writeln!(out, "\n{line}");
        }
        for skipped in &self.skipped {
            let _ = writeln!(out, "\nskipped: {skipped}");
        }
        out
    }

    /// The soak as one line.
    pub fn soak_line(&self) -> Option<String> {
        let soak = self.soak.as_ref()?;
        let mib = |k: Option<u64>| {
            k.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        let LatencySummary { p99_ms, .. } = soak.report.latency;
        let trend = RssTrend::of(&soak.rss_samples).map_or_else(
            || "settled trend n/a".to_string(),
            |t| {
                let end_s = soak.rss_samples.last().map_or(t.from_s, |(s, _)| *s);
                format!(
                    "from {:.0} s: {:.1}..{:.1} MiB, slope {:+.2} MiB/min ({:+.1}% of its mean over the rest of the soak)",
                    t.from_s,
                    t.min_kib as f64 / 1024.0,
                    t.max_kib as f64 / 1024.0,
                    t.slope_kib_per_min / 1024.0,
                    t.drift_share(end_s) * 100.0
                )
            },
        );
        Some(format!(
            "soak {} at {} clients for {:.0} s: RSS ready {}, start {}, end {}; {trend}; {:.1} req/s, p99 {:.1} ms, errors {}",
            soak.mode,
            soak.clients,
            soak.duration_s,
            mib(soak.rss_ready_kib),
            mib(soak.rss_start_kib),
            mib(soak.rss_end_kib),
            soak.report.requests_per_s,
            p99_ms,
            soak.report.error_requests + soak.report.transport_errors + soak.report.timeouts,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(mode: Mode, clients: usize, ok_per_s: f64) -> MatrixCell {
        MatrixCell {
            mode,
            clients,
            statements: None,
            statements_exact: true,
            statements_per_request: None,
            loader_stats: None,
            report: LoadReport {
                ok_per_s,
                ..LoadReport::default()
            },
        }
    }

    #[test]
    fn the_rss_trend_leaves_out_the_first_minute_and_sees_a_leak() {
        // Warm-up from 100 to 190 MiB in the first minute, then flat with noise.
        let flat: Vec<(f64, u64)> = (0..62)
            .map(|i| {
                let t = f64::from(i) * 5.0;
                let mib = if t < 60.0 {
                    100.0 + 1.5 * t
                } else {
                    190.0 + f64::from(i % 3)
                };
                (t, (mib * 1024.0) as u64)
            })
            .collect();
        let t = RssTrend::of(&flat).unwrap();
        assert_eq!(t.from_s, 60.0);
        assert_eq!((t.min_kib / 1024, t.max_kib / 1024), (190, 192));
        assert!(t.slope_kib_per_min.abs() < 100.0, "{t:?}");
        // A leak of 4 MiB a minute after the warm-up.
        let leak: Vec<(f64, u64)> = (0..62)
            .map(|i| {
                let t = f64::from(i) * 5.0;
                (t, ((190.0 + 4.0 * t / 60.0) * 1024.0) as u64)
            })
            .collect();
        let t = RssTrend::of(&leak).unwrap();
        assert!((t.slope_kib_per_min / 1024.0 - 4.0).abs() < 0.01, "{t:?}");
        assert!(t.drift_share(305.0) > 0.05);
        assert_eq!(RssTrend::of(&leak[..2]), None);
    }

    #[test]
    fn best_fixed_limit_is_the_fastest_at_the_most_clients() {
        let results = E2eResults {
            matrix: vec![
                cell(Mode::Fixed(4), 8, 900.0),
                cell(Mode::Fixed(16), 8, 100.0),
                cell(Mode::Fixed(4), 256, 300.0),
                cell(Mode::Fixed(16), 256, 500.0),
                cell(Mode::Adaptive, 256, 9000.0),
            ],
            ..E2eResults::default()
        };
        assert_eq!(results.pick_best_fixed(), Some(Mode::Fixed(16)));
        assert_eq!(E2eResults::default().pick_best_fixed(), None);
    }

    #[test]
    fn matrix_table_says_na_when_statements_were_not_counted() {
        let mut counted = cell(Mode::Adaptive, 8, 10.0);
        counted.statements_per_request = Some(4.5);
        let results = E2eResults {
            matrix: vec![counted, cell(Mode::None, 8, 1.0)],
            ..E2eResults::default()
        };
        let table = results.matrix_table();
        assert!(table.contains("| adaptive | 8 |"), "{table}");
        assert!(table.contains("| 4.50 |"), "{table}");
        assert!(table.trim_end().ends_with("| n/a |"), "{table}");
    }
}
