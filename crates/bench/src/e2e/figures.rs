//! [`Figures`]: the columns of every table of `bench-e2e`: goodput, partial answers,
//! refusals and other errors apart, the latency of complete responses, and the CPU per
//! request of the server and of PostgreSQL; [`Figures::median`] of several runs.

use serde::{Deserialize, Serialize};

use crate::load::LoadReport;

/// What one cell measured, beyond the load report: CPU and statements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// CPU of the server process (user + system, every thread; `/proc/PID/stat`) over the
    /// measured part, per response.
    pub server_cpu_ms_per_request: Option<f64>,
    /// CPU of the PostgreSQL cluster (the postmaster, its backends and the backends that
    /// ended; `/proc`) over the measured part, per response.
    pub pg_cpu_ms_per_request: Option<f64>,
    /// SQL statements in the measured part (`pg_stat_statements`), if counted.
    pub statements: Option<u64>,
    /// `false` when `pg_stat_statements` evicted entries: `statements` is a lower bound.
    pub statements_exact: bool,
    /// `statements / responses`, if counted.
    pub statements_per_request: Option<f64>,
}

/// One row's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Complete responses per second: `2xx`, data, no errors (goodput).
    pub complete_per_s: f64,
    /// Partial answers per second: data plus errors.
    pub partial_per_s: f64,
    /// Refusals per second: `503`.
    pub refused_per_s: f64,
    /// Other failures per second: errors without data, other statuses, no response,
    /// client timeouts.
    pub other_errors_per_s: f64,
    /// Median latency of complete responses, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of complete responses, ms.
    pub p99_ms: f64,
    /// Server CPU per response, ms.
    pub server_cpu_ms: Option<f64>,
    /// PostgreSQL CPU per response, ms.
    pub pg_cpu_ms: Option<f64>,
}

impl Figures {
    /// The figures of a load report and its cost.
    pub fn of(report: &LoadReport, cost: &Cost) -> Self {
        Self {
            complete_per_s: report.ok_per_s,
            partial_per_s: report.partial_per_s,
            refused_per_s: report.refused_per_s,
            other_errors_per_s: report.other_errors_per_s,
            p50_ms: report.ok_latency.p50_ms,
            p99_ms: report.ok_latency.p99_ms,
            server_cpu_ms: cost.server_cpu_ms_per_request,
            pg_cpu_ms: cost.pg_cpu_ms_per_request,
        }
    }

    /// The median of each figure over `runs` (each figure on its own); `None` for no runs.
    pub fn median(runs: &[Figures]) -> Option<Figures> {
        if runs.is_empty() {
            return None;
        }
        let of = |f: fn(&Figures) -> f64| median(runs.iter().map(f).collect()).unwrap_or(0.0);
        let of_some = |f: fn(&Figures) -> Option<f64>| median(runs.iter().filter_map(f).collect());
        Some(Figures {
            complete_per_s: of(|r| r.complete_per_s),
            partial_per_s: of(|r| r.partial_per_s),
            refused_per_s: of(|r| r.refused_per_s),
            other_errors_per_s: of(|r| r.other_errors_per_s),
            p50_ms: of(|r| r.p50_ms),
            p99_ms: of(|r| r.p99_ms),
            server_cpu_ms: of_some(|r| r.server_cpu_ms),
            pg_cpu_ms: of_some(|r| r.pg_cpu_ms),
        })
    }

    /// The Markdown cells `complete/s | partial/s | refused/s | other/s | p50 | p99 |
    /// server CPU | PG CPU` (no leading or trailing bar).
    pub fn cells(&self) -> String {
        let p = |ms: f64| {
            if self.complete_per_s > 0.0 {
                format!("{ms:.1}")
            } else {
                "-".to_string()
            }
        };
        let cpu = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"));
        format!(
            "{:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {}",
            self.complete_per_s,
            self.partial_per_s,
            self.refused_per_s,
            self.other_errors_per_s,
            p(self.p50_ms),
            p(self.p99_ms),
            cpu(self.server_cpu_ms),
            cpu(self.pg_cpu_ms),
        )
    }

    /// The header of [`cells`](Self::cells): names and alignment rows.
    pub const HEADER: (&'static str, &'static str) = (
        "complete/s | partial/s | refused/s | other err/s | p50 ms | p99 ms | server CPU ms/req | PG CPU ms/req",
        "---:|---:|---:|---:|---:|---:|---:|---:",
    );
}

/// The median of `v`; `None` when empty.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(complete: f64, p99: f64, cpu: Option<f64>) -> Figures {
        Figures {
            complete_per_s: complete,
            p99_ms: p99,
            server_cpu_ms: cpu,
            ..Figures::default()
        }
    }

    #[test]
    fn medians_are_taken_figure_by_figure_and_skip_missing_cpu() {
        let m = Figures::median(&[
            run(10.0, 300.0, Some(4.0)),
            run(30.0, 100.0, None),
            run(20.0, 200.0, Some(2.0)),
        ])
        .unwrap();
        assert_eq!((m.complete_per_s, m.p99_ms), (20.0, 200.0));
        assert_eq!(m.server_cpu_ms, Some(3.0));
        assert_eq!(m.pg_cpu_ms, None);
        assert_eq!(Figures::median(&[]), None);
    }

    #[test]
    fn cells_show_no_latency_without_complete_responses() {
        let none = Figures {
            refused_per_s: 12.0,
            ..Figures::default()
        };
        assert_eq!(none.cells(), "0.0 | 0.0 | 12.0 | 0.0 | - | - | n/a | n/a");
        assert_eq!(
            Figures::HEADER.0.split('|').count(),
            Figures::HEADER.1.split('|').count()
        );
        assert_eq!(
            none.cells().split('|').count(),
            Figures::HEADER.1.split('|').count()
        );
    }

    #[test]
    fn figures_come_from_the_report_and_the_cost() {
        let report = LoadReport {
            ok_per_s: 5.0,
            partial_per_s: 1.0,
            refused_per_s: 2.0,
            other_errors_per_s: 0.5,
            ..LoadReport::default()
        };
        let cost = Cost {
            server_cpu_ms_per_request: Some(30.0),
            pg_cpu_ms_per_request: Some(20.0),
            ..Cost::default()
        };
        let f = Figures::of(&report, &cost);
        assert_eq!(
            (
                f.complete_per_s,
                f.partial_per_s,
                f.refused_per_s,
                f.other_errors_per_s
            ),
            (5.0, 1.0, 2.0, 0.5)
        );
        assert_eq!((f.server_cpu_ms, f.pg_cpu_ms), (Some(30.0), Some(20.0)));
    }
}
