//! [`FinalTable`]: the headline of a `bench-e2e` run, one per mix and final client count:
//! the engine (adaptive, no tuning), the best fixed limit, async-graphql's `DataLoader` on
//! its default pool and on its best pool, and PostGraphile; medians of the confirmation
//! rounds (or the matrix's single run when there were none), with the engine's ratio to
//! each.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Confirmation, Contender, Figures, MatrixCell, Mode, Picks, Workload, figures::median};

/// What a row of the final table stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The engine with its adaptive limit.
    Engine,
    /// The engine with the best fixed limit of the matrix.
    FixedBest,
    /// async-graphql's `DataLoader` on `--db-connections`.
    AsyncGraphqlDefault,
    /// async-graphql's `DataLoader` on its best pool of the matrix.
    AsyncGraphqlBest,
    /// PostGraphile.
    PostGraphile,
}

impl Role {
    /// The row's name, with the server it is.
    pub fn label(self, contender: Contender) -> String {
        match self {
            Role::Engine => format!("engine ({contender})"),
            Role::FixedBest => format!("fixed best ({contender})"),
            Role::AsyncGraphqlDefault => {
                format!("async-graphql, default pool ({})", contender.pool())
            }
            Role::AsyncGraphqlBest => format!("async-graphql, best pool ({})", contender.pool()),
            Role::PostGraphile => format!("PostGraphile (pool {})", contender.pool()),
        }
    }
}

/// The servers of the final table of one mix, in order; one server may hold two roles
/// (the best pool may be the default one).
pub fn final_servers(
    picks: &Picks,
    engine: Option<Contender>,
    postgraphile: Option<Contender>,
) -> Vec<(Role, Contender)> {
    [
        (Role::Engine, engine),
        (Role::FixedBest, picks.best_fixed),
        (Role::AsyncGraphqlDefault, picks.default_pool),
        (Role::AsyncGraphqlBest, picks.best_pool),
        (Role::PostGraphile, postgraphile),
    ]
    .into_iter()
    .filter_map(|(role, c)| Some((role, c?)))
    .collect()
}

/// The distinct servers of [`final_servers`], in order: what the confirmation runs.
pub fn distinct(servers: &[(Role, Contender)]) -> Vec<Contender> {
    let mut out: Vec<Contender> = Vec::new();
    for (_, c) in servers {
        if !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

/// One row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalRow {
    /// What it stands for.
    pub role: Role,
    /// The server.
    pub contender: Contender,
    /// Medians (or the single run).
    pub figures: Figures,
    /// complete/s of each run.
    pub runs: Vec<f64>,
    /// The engine's median complete/s over this row's (None for the engine's own row).
    pub engine_ratio: Option<f64>,
    /// The engine's complete/s over this row's, round by round.
    pub engine_ratio_per_round: Vec<f64>,
}

/// The final table of one mix at one client count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalTable {
    /// The mix.
    pub workload: Workload,
    /// Closed-loop clients (honouring `Retry-After`).
    pub clients: usize,
    /// Where the figures come from.
    pub source: String,
    /// The rows.
    pub rows: Vec<FinalRow>,
}

impl FinalTable {
    /// The table of `workload` at `clients` for `servers`: medians of `confirmation` if it
    /// has runs of them, else the matrix's cells.
    pub fn build(
        workload: Workload,
        clients: usize,
        servers: &[(Role, Contender)],
        confirmation: &Confirmation,
        matrix: &[MatrixCell],
    ) -> Option<Self> {
        let engine = servers
            .iter()
            .find(|(r, _)| *r == Role::Engine)
            .map(|(_, c)| *c);
        let confirmed = servers
            .iter()
            .any(|(_, c)| !confirmation.runs(workload, *c, clients).is_empty());
        let runs_of = |c: Contender| -> Vec<(usize, Figures)> {
            if confirmed {
                confirmation
                    .runs(workload, c, clients)
                    .into_iter()
                    .map(|r| (r.round, r.figures))
                    .collect()
            } else {
                matrix
                    .iter()
                    .filter(|m| {
                        m.workload == workload
                            && m.contender == c
                            && m.clients == clients
                            && m.honor_retry_after
                    })
                    .map(|m| (0, Figures::of(&m.report, &m.cost)))
                    .collect()
            }
        };
        let engine_runs = engine.map(runs_of).unwrap_or_default();
        let engine_median = median(engine_runs.iter().map(|(_, f)| f.complete_per_s).collect());
        let rows: Vec<FinalRow> = servers
            .iter()
            .filter_map(|&(role, contender)| {
                let runs = runs_of(contender);
                let figures = Figures::median(&runs.iter().map(|(_, f)| *f).collect::<Vec<_>>())?;
                let is_engine = role == Role::Engine;
                Some(FinalRow {
                    role,
                    contender,
                    figures,
                    runs: runs.iter().map(|(_, f)| f.complete_per_s).collect(),
                    engine_ratio: engine_median
                        .filter(|_| !is_engine)
                        .map(|e| ratio(e, figures.complete_per_s)),
                    engine_ratio_per_round: if is_engine {
                        Vec::new()
                    } else {
                        runs.iter()
                            .filter_map(|(round, f)| {
                                let (_, e) = engine_runs.iter().find(|(r, _)| r == round)?;
                                Some(ratio(e.complete_per_s, f.complete_per_s))
                            })
                            .collect()
                    },
                })
            })
            .collect();
        (!rows.is_empty()).then(|| FinalTable {
            workload,
            clients,
            source: if confirmed {
                format!(
                    "medians of {} confirmation rounds in alternating order",
                    confirmation.rounds
                )
            } else {
                "the matrix (one run per cell; no confirmation rounds)".to_string()
            },
            rows,
        })
    }

    /// The row of `role`.
    pub fn row(&self, role: Role) -> Option<&FinalRow> {
        self.rows.iter().find(|r| r.role == role)
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "**{} mix, {} clients** ({})\n\n| server | {} | runs (complete/s) | engine's goodput ratio | per round |\n|---|{}|---|---:|---|\n",
            self.workload,
            self.clients,
            self.source,
            Figures::HEADER.0,
            Figures::HEADER.1
        );
        for row in &self.rows {
            let runs: Vec<String> = row.runs.iter().map(|r| format!("{r:.1}")).collect();
            let per_round: Vec<String> = row
                .engine_ratio_per_round
                .iter()
                .map(|r| format_ratio(*r, ""))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                row.role.label(row.contender),
                row.figures.cells(),
                runs.join(", "),
                row.engine_ratio
                    .map_or_else(|| "-".to_string(), |r| format_ratio(r, "x")),
                per_round.join(", "),
            );
        }
        out
    }
}

/// The engine's goodput over a peer's: infinite when the peer completed nothing (and the
/// engine did), not a division by a tiny number.
fn ratio(engine: f64, peer: f64) -> f64 {
    if peer > 0.0 {
        engine / peer
    } else if engine > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

/// A ratio for the tables: `∞` when the peer completed nothing.
fn format_ratio(r: f64, unit: &str) -> String {
    if r.is_finite() {
        format!("{r:.2}{unit}")
    } else {
        "∞ (peer completed none)".to_string()
    }
}

/// The engine of the final table: adaptive on `--db-connections`, if it ran.
pub fn engine_of(matrix: &[MatrixCell], workload: Workload) -> Option<Contender> {
    matrix
        .iter()
        .find(|c| c.workload == workload && c.contender.mode() == Some(Mode::Adaptive))
        .map(|c| c.contender)
}

/// PostGraphile, if it ran on `workload`.
pub fn postgraphile_of(matrix: &[MatrixCell], workload: Workload) -> Option<Contender> {
    matrix
        .iter()
        .find(|c| c.workload == workload && matches!(c.contender, Contender::PostGraphile { .. }))
        .map(|c| c.contender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::ConfirmCell;

    #[test]
    fn a_peer_that_completed_nothing_gives_an_infinite_ratio_not_a_huge_number() {
        assert_eq!(ratio(19.3, 0.0), f64::INFINITY);
        assert_eq!(
            format_ratio(ratio(19.3, 0.0), "x"),
            "∞ (peer completed none)"
        );
        assert_eq!(format_ratio(ratio(18.0, 12.0), "x"), "1.50x");
        assert_eq!(ratio(0.0, 0.0), 1.0);
    }

    fn figures(complete: f64, p99: f64) -> Figures {
        Figures {
            complete_per_s: complete,
            p99_ms: p99,
            ..Figures::default()
        }
    }

    #[test]
    fn rows_hold_medians_and_the_engines_ratios() {
        let engine = Contender::ours(Mode::Adaptive, 32);
        let pool = Contender::ours(Mode::AsyncGraphql, 32);
        let servers = vec![
            (Role::Engine, engine),
            (Role::AsyncGraphqlDefault, pool),
            (Role::AsyncGraphqlBest, pool),
        ];
        let mut confirmation = Confirmation {
            rounds: 2,
            cells: Vec::new(),
        };
        for (round, e, p) in [(0, 30.0, 20.0), (1, 50.0, 20.0)] {
            for (c, v) in [(engine, e), (pool, p)] {
                confirmation.cells.push(ConfirmCell {
                    workload: Workload::Heavy,
                    contender: c,
                    clients: 64,
                    round,
                    figures: figures(v, 100.0),
                });
            }
        }
        let t = FinalTable::build(Workload::Heavy, 64, &servers, &confirmation, &[]).unwrap();
        assert_eq!(
            t.rows.len(),
            3,
            "the default pool is also the best: two rows"
        );
        let e = t.row(Role::Engine).unwrap();
        assert_eq!((e.figures.complete_per_s, e.engine_ratio), (40.0, None));
        let best = t.row(Role::AsyncGraphqlBest).unwrap();
        assert_eq!(best.engine_ratio, Some(2.0));
        assert_eq!(best.engine_ratio_per_round, [1.5, 2.5]);
        let md = t.markdown();
        assert!(
            md.contains("| async-graphql, best pool (32) | 20.0 |"),
            "{md}"
        );
        assert!(md.contains("| 2.00x | 1.50, 2.50 |"), "{md}");
        assert!(md.contains("medians of 2 confirmation rounds"), "{md}");
        assert!(FinalTable::build(Workload::Light, 64, &servers, &confirmation, &[]).is_none());
    }
}
