//! [`E2eResults`]: everything one `bench-e2e` run measured, its JSON form and its tables.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{
    Confirmation, Contender, Cost, Estimate, Figures, FinalTable, OutsideRun, Picks, Plan,
    TargetCheck, Workload, equivalence::EquivalenceCheck, final_table, targets,
};
use crate::load::{LatencySummary, LoadReport, PhaseSummary};

/// One cell of the matrix: a server on a mix at a client count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixCell {
    /// The mix.
    pub workload: Workload,
    /// The server.
    pub contender: Contender,
    /// Closed-loop clients.
    pub clients: usize,
    /// Whether the clients waited the server's retry hint after a refusal.
    pub honor_retry_after: bool,
    /// CPU and statements.
    pub cost: Cost,
    /// `/loader/stats` at the end of the cell (the engine's limit, groups, costs).
    pub loader_stats: Option<serde_json::Value>,
    /// The load report (with its per-second series).
    pub report: LoadReport,
}

impl MatrixCell {
    /// The cell's figures.
    pub fn figures(&self) -> Figures {
        Figures::of(&self.report, &self.cost)
    }
}

/// A "database gets slower" run of one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlowdownRun {
    /// The mix.
    pub workload: Workload,
    /// The server.
    pub contender: Contender,
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
    /// Seconds after the competing load stopped until complete/s was back to 90% of
    /// "before" for 3 s in a row; `None` if it never was.
    pub recovery_s: Option<f64>,
    /// The load report (with its per-second series).
    pub report: LoadReport,
}

/// The memory soak.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Soak {
    /// The server's loader mode.
    pub mode: super::Mode,
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
    /// The commit of the working tree (`git describe --always --dirty`), if known.
    pub commit: Option<String>,
    /// What was planned, and the estimate of its wall time.
    pub plan: Option<Plan>,
    /// The estimate printed at the start.
    pub estimate: Option<Estimate>,
    /// Wall time of the whole run, seconds.
    pub elapsed_s: f64,
    /// Logical CPUs of the machine and its load average at the start (1, 5, 15 min).
    pub machine: String,
    /// Data set sizes.
    pub data_set: DataSet,
    /// What was asked for but could not run, and why.
    pub skipped: Vec<String>,
    /// The peer's answers against this server's, before timing.
    pub equivalence: Vec<EquivalenceCheck>,
    /// The matrix: mix x server x clients (x retry behaviour at some client counts).
    pub matrix: Vec<MatrixCell>,
    /// Per mix: the best fixed limit and async-graphql's best pool.
    pub picks: Vec<Picks>,
    /// The servers of the final tables again, in alternating order.
    pub confirmation: Confirmation,
    /// The headline: one table per mix and final client count.
    pub final_tables: Vec<FinalTable>,
    /// The targets, judged.
    pub targets: Vec<TargetCheck>,
    /// The autocannon check of the heavy mix.
    pub outside: Vec<OutsideRun>,
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
    /// Builds the final tables of every mix at `final_clients` and judges the targets.
    pub fn conclude(&mut self, final_clients: &[usize]) {
        self.final_tables.clear();
        for picks in &self.picks {
            let w = picks.workload;
            let servers = final_table::final_servers(
                picks,
                final_table::engine_of(&self.matrix, w),
                final_table::postgraphile_of(&self.matrix, w),
            );
            for &n in final_clients {
                if let Some(t) = FinalTable::build(w, n, &servers, &self.confirmation, &self.matrix)
                {
                    self.final_tables.push(t);
                }
            }
        }
        self.targets = self
            .final_tables
            .iter()
            .flat_map(targets::final_table_targets)
            .collect();
        self.targets
            .extend(targets::heavy_mix_targets(&self.matrix, &self.final_tables));
    }

    /// The matrix as a Markdown table.
    pub fn matrix_table(&self) -> String {
        let mut out = format!(
            "| mix | server | clients | Retry-After | {} | stmts/req |\n|---|---|---:|---|{}|---:|\n",
            Figures::HEADER.0,
            Figures::HEADER.1
        );
        for cell in &self.matrix {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell.workload,
                cell.contender,
                cell.clients,
                if cell.honor_retry_after {
                    "honoured"
                } else {
                    "ignored"
                },
                cell.figures().cells(),
                match (cell.cost.statements_per_request, cell.cost.statements_exact) {
                    (None, _) => "n/a".to_string(),
                    (Some(s), true) => format!("{s:.2}"),
                    (Some(s), false) => format!(">={s:.2}"),
                },
            );
        }
        out
    }

    /// The slowdown runs as a Markdown table: one row per mix, server and phase.
    pub fn slowdown_table(&self) -> String {
        let mut out = String::from(
            "| mix | server | phase | seconds | req/s | complete/s | partial/s | refused/s | p99 ms (complete) | error rate | timeouts | recovery s |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
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
                    "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}% | {} | {} |",
                    run.workload,
                    run.contender,
                    p.phase.name,
                    p.seconds,
                    p.requests_per_s,
                    p.ok_per_s,
                    p.partial_per_s,
                    p.refused_per_s,
                    p.ok_latency.p99_ms,
                    p.error_rate * 100.0,
                    p.timeouts,
                    recovery
                );
            }
        }
        out
    }

    /// Every table and line, as Markdown: the headline first.
    pub fn markdown(&self) -> String {
        let d = &self.data_set;
        let mut out = format!("command: `{}`\n\n", self.command);
        if let Some(commit) = &self.commit {
            let _ = writeln!(out, "commit: `{commit}`\n");
        }
        let _ = writeln!(
            out,
            "data set: {} users, {} posts, {} comments, {} tags, {} follows (seeded in {:.1} s); machine: {}; wall time {}{}\n",
            d.users,
            d.posts,
            d.comments,
            d.tags,
            d.follows,
            d.seed_s,
            self.machine,
            if self.elapsed_s > 0.0 {
                format!("{:.0} s", self.elapsed_s)
            } else {
                "not known yet (the run is going on, or was cut short)".to_string()
            },
            self.estimate.map_or_else(String::new, |e| format!(
                " (estimated {:.0} s)",
                e.total_s()
            ))
        );
        for skipped in &self.skipped {
            let _ = writeln!(out, "**skipped:** {skipped}\n");
        }
        if !self.final_tables.is_empty() {
            out.push_str("## Final table\n\nComplete responses are `2xx` with data and no errors; partial answers carry data plus errors; refusals are `503`; other errors are errors without data, other statuses, no response or client timeouts. p50/p99 are of complete responses. CPU is per response, the server process and the PostgreSQL cluster apart.\n\n");
            for table in &self.final_tables {
                out.push_str(&table.markdown());
                out.push('\n');
            }
        }
        if !self.targets.is_empty() {
            out.push_str("## Targets\n\n");
            out.push_str(&targets::markdown(&self.targets));
            out.push('\n');
        }
        if !self.outside.is_empty() {
            out.push_str("## A load generator nobody here wrote\n\n");
            out.push_str(&super::outside_markdown(&self.outside));
            out.push('\n');
        }
        if !self.picks.is_empty() {
            out.push_str("## Tuned by hand\n\n");
            for picks in &self.picks {
                let _ = writeln!(out, "{} mix:\n", picks.workload);
                out.push_str(&picks.markdown());
                out.push('\n');
            }
        }
        if !self.equivalence.is_empty() {
            out.push_str("## Same rows from PostGraphile\n\n");
            out.push_str(&super::equivalence::markdown(&self.equivalence));
            out.push('\n');
        }
        if !self.matrix.is_empty() {
            out.push_str("## Matrix (one run per cell)\n\n");
            out.push_str(&self.matrix_table());
        }
        if !self.slowdown.is_empty() {
            let run = &self.slowdown[0];
            let _ = writeln!(
                out,
                "\n## Slowdown ({} clients; competing load {:.0}..{:.0} s: {})\n",
                run.clients, run.competitor_from_s, run.competitor_to_s, run.competitor
            );
            out.push_str(&self.slowdown_table());
        }
        if let Some(line) = self.soak_line() {
            let _ = writeln!(out, "\n{line}");
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
    use crate::e2e::Mode;

    fn cell(contender: Contender, clients: usize, ok_per_s: f64) -> MatrixCell {
        MatrixCell {
            workload: Workload::Heavy,
            contender,
            clients,
            honor_retry_after: true,
            cost: Cost::default(),
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
    fn the_matrix_table_names_the_retry_behaviour_and_says_na_without_statements() {
        let mut counted = cell(Contender::ours(Mode::Adaptive, 32), 64, 10.0);
        counted.cost.statements_per_request = Some(4.5);
        counted.cost.statements_exact = true;
        let mut ignoring = cell(Contender::ours(Mode::AsyncGraphql, 8), 64, 1.0);
        ignoring.honor_retry_after = false;
        let results = E2eResults {
            matrix: vec![counted, ignoring],
            ..E2eResults::default()
        };
        let table = results.matrix_table();
        assert!(
            table.contains("| heavy | adaptive | 64 | honoured | 10.0 |"),
            "{table}"
        );
        assert!(table.contains("| 4.50 |"), "{table}");
        assert!(
            table.contains("| heavy | async-graphql pool 8 | 64 | ignored |"),
            "{table}"
        );
        assert!(table.trim_end().ends_with("| n/a |"), "{table}");
    }

    #[test]
    fn conclude_builds_final_tables_and_targets_from_the_matrix() {
        let engine = Contender::ours(Mode::Adaptive, 32);
        let fixed = Contender::ours(Mode::Fixed(4), 32);
        let default = Contender::ours(Mode::AsyncGraphql, 32);
        let small = Contender::ours(Mode::AsyncGraphql, 8);
        let matrix = vec![
            cell(engine, 64, 30.0),
            cell(fixed, 64, 25.0),
            cell(default, 64, 20.0),
            cell(small, 64, 24.0),
        ];
        let mut results = E2eResults {
            picks: vec![Picks::choose(&matrix, Workload::Heavy, &[64], 32)],
            matrix,
            ..E2eResults::default()
        };
        results.conclude(&[64]);
        assert_eq!(results.final_tables.len(), 1);
        let labels: Vec<String> = results.final_tables[0]
            .rows
            .iter()
            .map(|r| r.role.label(r.contender))
            .collect();
        assert_eq!(
            labels,
            [
                "engine (adaptive)",
                "fixed best (fixed:4)",
                "async-graphql, default pool (32)",
                "async-graphql, best pool (8)"
            ]
        );
        assert!(
            results
                .targets
                .iter()
                .any(|t| t.target.contains("best pool") && t.pass)
        );
        let md = results.markdown();
        let final_at = md.find("## Final table").unwrap();
        assert!(
            final_at < md.find("## Matrix").unwrap(),
            "the headline comes first"
        );
        assert!(md.contains("## Targets"), "{md}");
    }
}
