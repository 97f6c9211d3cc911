//! [`TargetCheck`]s: the targets of the final table, each printed with its figures and
//! PASS or FAIL.
//!
//! - Against what a user would pick instead (every mix, every final client count): the
//!   engine's goodput at least 1.0x async-graphql's on its best pool and 1.2x on its
//!   default pool, and the engine's p99 of complete responses at most 1.2x the best pool's.
//! - On the heavy mix: no partial answer in any cell of the engine; goodput at least 1.2x
//!   async-graphql's (default pool) at every client count; and, as the next mark, at least
//!   PostGraphile's.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{FinalTable, MatrixCell, Role, Workload, final_table::engine_of};

/// One target, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// The mix.
    pub workload: Workload,
    /// The client count, or `None` for a target over every cell.
    pub clients: Option<usize>,
    /// What is asked.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// Whether it is met.
    pub pass: bool,
}

/// The targets judged on a final table.
pub fn final_table_targets(table: &FinalTable) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    let Some(engine) = table.row(Role::Engine) else {
        return out;
    };
    let check = |target: &str, measured: String, pass: bool| TargetCheck {
        workload: table.workload,
        clients: Some(table.clients),
        target: target.to_string(),
        measured,
        pass,
    };
    let e = engine.figures;
    if let Some(best) = table.row(Role::AsyncGraphqlBest) {
        let ratio = e.complete_per_s / best.figures.complete_per_s.max(1e-9);
        out.push(check(
            "engine goodput >= 1.0x async-graphql, best pool",
            format!(
                "{:.1} / {:.1} complete/s = {ratio:.2}x",
                e.complete_per_s, best.figures.complete_per_s
            ),
            ratio >= 1.0,
        ));
        let p99 = e.p99_ms / best.figures.p99_ms.max(1e-9);
        out.push(check(
            "engine p99 of complete responses <= 1.2x async-graphql, best pool",
            format!(
                "{:.1} / {:.1} ms = {p99:.2}x",
                e.p99_ms, best.figures.p99_ms
            ),
            e.complete_per_s > 0.0 && p99 <= 1.2,
        ));
    }
    if let Some(default) = table.row(Role::AsyncGraphqlDefault) {
        let ratio = e.complete_per_s / default.figures.complete_per_s.max(1e-9);
        out.push(check(
            "engine goodput >= 1.2x async-graphql, default pool",
            format!(
                "{:.1} / {:.1} complete/s = {ratio:.2}x",
                e.complete_per_s, default.figures.complete_per_s
            ),
            ratio >= 1.2,
        ));
    }
    out
}

/// The heavy mix's targets: over the engine's matrix cells (and the final tables' medians
/// where they exist, which are the better figure at their client counts).
pub fn heavy_mix_targets(matrix: &[MatrixCell], tables: &[FinalTable]) -> Vec<TargetCheck> {
    let heavy = Workload::Heavy;
    let Some(engine) = engine_of(matrix, heavy) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let engine_cells: Vec<&MatrixCell> = matrix
        .iter()
        .filter(|c| c.workload == heavy && c.contender == engine)
        .collect();
    let partial: u64 = engine_cells.iter().map(|c| c.report.partial).sum();
    let worst = engine_cells
        .iter()
        .max_by(|a, b| a.report.partial_per_s.total_cmp(&b.report.partial_per_s));
    let final_partial: f64 = tables
        .iter()
        .filter(|t| t.workload == heavy)
        .filter_map(|t| t.row(Role::Engine))
        .map(|r| r.figures.partial_per_s)
        .sum();
    out.push(TargetCheck {
        workload: heavy,
        clients: None,
        target: "no partial answer (data plus errors) in any cell of the engine".into(),
        measured: match worst {
            Some(w) if partial > 0 => format!(
                "{partial} partial answers in the matrix; most at {} clients{}: {:.1}/s",
                w.clients,
                if w.honor_retry_after {
                    ""
                } else {
                    " ignoring Retry-After"
                },
                w.report.partial_per_s
            ),
            _ if final_partial > 0.0 => "partial answers in the confirmation rounds".into(),
            _ => format!("0 in {} cells", engine_cells.len()),
        },
        pass: partial == 0 && final_partial == 0.0,
    });
    let mut clients: Vec<usize> = engine_cells.iter().map(|c| c.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    for n in clients {
        let goodput = |role: Role,
                       pick: &dyn Fn(&MatrixCell) -> bool|
         -> Option<(f64, &'static str)> {
            let table = tables
                .iter()
                .find(|t| t.workload == heavy && t.clients == n);
            if let Some(row) = table.and_then(|t| t.row(role)) {
                return Some((row.figures.complete_per_s, "final table"));
            }
            matrix
                .iter()
                .find(|c| c.workload == heavy && c.clients == n && c.honor_retry_after && pick(c))
                .map(|c| (c.report.ok_per_s, "matrix"))
        };
        let Some((e, source)) = goodput(Role::Engine, &|c| c.contender == engine) else {
            continue;
        };
        let default_pool = engine.pool();
        let ag = goodput(Role::AsyncGraphqlDefault, &|c| {
            c.contender.is_async_graphql() && c.contender.pool() == default_pool
        });
        if let Some((a, _)) = ag {
            let ratio = e / a.max(1e-9);
            out.push(TargetCheck {
                workload: heavy,
                clients: Some(n),
                target: "engine goodput >= 1.2x async-graphql (default pool)".into(),
                measured: format!("{e:.1} / {a:.1} complete/s = {ratio:.2}x ({source})"),
                pass: ratio >= 1.2,
            });
        }
        let pg = goodput(Role::PostGraphile, &|c| {
            matches!(c.contender, super::Contender::PostGraphile { .. })
        });
        if let Some((p, _)) = pg {
            let ratio = e / p.max(1e-9);
            out.push(TargetCheck {
                workload: heavy,
                clients: Some(n),
                target: "next mark: engine goodput >= 1.0x PostGraphile".into(),
                measured: format!("{e:.1} / {p:.1} complete/s = {ratio:.2}x ({source})"),
                pass: ratio >= 1.0,
            });
        }
    }
    out
}

/// Targets as a Markdown table.
pub fn markdown(checks: &[TargetCheck]) -> String {
    let mut out =
        String::from("| mix | clients | target | measured | result |\n|---|---:|---|---|---|\n");
    for c in checks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.workload,
            c.clients
                .map_or_else(|| "all".to_string(), |n| n.to_string()),
            c.target,
            c.measured,
            if c.pass { "PASS" } else { "**FAIL**" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        e2e::{Contender, Cost, Figures, FinalRow, Mode},
        load::LoadReport,
    };

    fn row(role: Role, contender: Contender, complete: f64, p99: f64) -> FinalRow {
        FinalRow {
            role,
            contender,
            figures: Figures {
                complete_per_s: complete,
                p99_ms: p99,
                ..Figures::default()
            },
            runs: vec![complete],
            engine_ratio: None,
            engine_ratio_per_round: Vec::new(),
        }
    }

    fn engine() -> Contender {
        Contender::ours(Mode::Adaptive, 32)
    }

    #[test]
    fn final_table_targets_compare_with_both_pools() {
        let table = FinalTable {
            workload: Workload::Light,
            clients: 64,
            source: String::new(),
            rows: vec![
                row(Role::Engine, engine(), 110.0, 130.0),
                row(
                    Role::AsyncGraphqlDefault,
                    Contender::ours(Mode::AsyncGraphql, 32),
                    100.0,
                    100.0,
                ),
                row(
                    Role::AsyncGraphqlBest,
                    Contender::ours(Mode::AsyncGraphql, 8),
                    105.0,
                    100.0,
                ),
            ],
        };
        let checks = final_table_targets(&table);
        let pass: Vec<(&str, bool)> = checks.iter().map(|c| (c.target.as_str(), c.pass)).collect();
        assert_eq!(
            pass,
            [
                ("engine goodput >= 1.0x async-graphql, best pool", true),
                (
                    "engine p99 of complete responses <= 1.2x async-graphql, best pool",
                    false
                ),
                ("engine goodput >= 1.2x async-graphql, default pool", false),
            ]
        );
        assert!(checks[1].measured.contains("1.30x"), "{:?}", checks[1]);
        let md = markdown(&checks);
        assert!(md.contains("| light | 64 | engine goodput >= 1.0x async-graphql, best pool | 110.0 / 105.0 complete/s = 1.05x | PASS |"), "{md}");
        assert!(md.contains("**FAIL**"));
    }

    fn cell(contender: Contender, clients: usize, ok: f64, partial: u64) -> MatrixCell {
        MatrixCell {
            workload: Workload::Heavy,
            contender,
            clients,
            honor_retry_after: true,
            cost: Cost::default(),
            loader_stats: None,
            report: LoadReport {
                ok_per_s: ok,
                partial,
                partial_per_s: partial as f64 / 10.0,
                ..LoadReport::default()
            },
        }
    }

    #[test]
    fn heavy_targets_see_partial_answers_and_compare_every_client_count() {
        let ag = Contender::ours(Mode::AsyncGraphql, 32);
        let pg = Contender::PostGraphile { pool: 32 };
        let matrix = vec![
            cell(engine(), 16, 30.0, 0),
            cell(engine(), 64, 6.0, 90),
            cell(ag, 16, 20.0, 0),
            cell(ag, 64, 20.0, 0),
            cell(pg, 16, 40.0, 0),
            cell(pg, 64, 38.0, 0),
            cell(Contender::ours(Mode::AsyncGraphql, 8), 16, 1.0, 0),
        ];
        let checks = heavy_mix_targets(&matrix, &[]);
        assert!(!checks[0].pass);
        assert!(
            checks[0].measured.contains("90 partial answers"),
            "{:?}",
            checks[0]
        );
        assert!(
            checks[0].measured.contains("most at 64 clients"),
            "{:?}",
            checks[0]
        );
        let at: Vec<(Option<usize>, bool)> =
            checks[1..].iter().map(|c| (c.clients, c.pass)).collect();
        // 16: 30/20 = 1.5 pass, 30/40 fail; 64: 6/20 fail, 6/38 fail.
        assert_eq!(
            at,
            [
                (Some(16), true),
                (Some(16), false),
                (Some(64), false),
                (Some(64), false)
            ]
        );
        assert!(
            checks[1].measured.contains("1.50x (matrix)"),
            "{:?}",
            checks[1]
        );
        let clean: Vec<MatrixCell> = matrix
            .into_iter()
            .map(|mut c| {
                c.report.partial = 0;
                c
            })
            .collect();
        assert!(heavy_mix_targets(&clean, &[])[0].pass);
    }
}
