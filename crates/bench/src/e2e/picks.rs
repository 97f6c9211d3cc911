//! [`Picks`]: from the matrix of one mix, the best fixed limit and async-graphql's best
//! pool (what a user tuning by hand would settle on), and whether each sits at an edge of
//! its grid (then a value outside the grid might do better).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Contender, MatrixCell, Mode, Workload};

/// The choices made for one mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Picks {
    /// The mix.
    pub workload: Workload,
    /// The client counts the choice is judged on (those of the final table that ran).
    pub judged_at: Vec<usize>,
    /// The fixed limit with the highest mean complete/s over `judged_at`.
    pub best_fixed: Option<Contender>,
    /// The best fixed limit at each client count of the matrix.
    pub best_fixed_by_clients: Vec<(usize, Contender)>,
    /// The fixed limits measured, ascending.
    pub fixed_grid: Vec<usize>,
    /// async-graphql's pool with the highest mean complete/s over `judged_at`.
    pub best_pool: Option<Contender>,
    /// The pools measured, ascending.
    pub pools: Vec<u32>,
    /// async-graphql on the default pool (`--db-connections`).
    pub default_pool: Option<Contender>,
}

/// Which edge of its grid a choice sits at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Edge {
    /// The smallest value measured.
    Lowest,
    /// The largest value measured.
    Highest,
}

fn edge<T: PartialEq + Copy>(grid: &[T], value: T) -> Option<Edge> {
    if grid.len() < 2 {
        return None;
    }
    if grid.first() == Some(&value) {
        Some(Edge::Lowest)
    } else if grid.last() == Some(&value) {
        Some(Edge::Highest)
    } else {
        None
    }
}

/// Mean complete/s of `contender` over the cells of `workload` at `clients` (clients
/// honouring `Retry-After` where both kinds ran); `None` if none ran.
fn score(
    cells: &[MatrixCell],
    workload: Workload,
    contender: Contender,
    clients: &[usize],
) -> Option<f64> {
    let values: Vec<f64> = clients
        .iter()
        .filter_map(|&n| {
            let of = |honor: bool| {
                cells.iter().find(|c| {
                    c.workload == workload
                        && c.contender == contender
                        && c.clients == n
                        && c.honor_retry_after == honor
                })
            };
            of(true).or_else(|| of(false)).map(|c| c.report.ok_per_s)
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn best(
    cells: &[MatrixCell],
    workload: Workload,
    clients: &[usize],
    of_kind: impl Fn(Contender) -> bool,
) -> Option<Contender> {
    let mut candidates: Vec<Contender> = Vec::new();
    for c in cells
        .iter()
        .filter(|c| c.workload == workload && of_kind(c.contender))
    {
        if !candidates.contains(&c.contender) {
            candidates.push(c.contender);
        }
    }
    candidates
        .into_iter()
        .filter_map(|c| Some((c, score(cells, workload, c, clients)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

impl Picks {
    /// The choices for `workload` from the matrix `cells`, judged at `final_clients` (or at
    /// every client count of the matrix, if none of those ran); `default_pool` is
    /// `--db-connections`.
    pub fn choose(
        cells: &[MatrixCell],
        workload: Workload,
        final_clients: &[usize],
        default_pool: u32,
    ) -> Self {
        let of_mix: Vec<&MatrixCell> = cells.iter().filter(|c| c.workload == workload).collect();
        let mut ran_clients: Vec<usize> = of_mix.iter().map(|c| c.clients).collect();
        ran_clients.sort_unstable();
        ran_clients.dedup();
        let mut judged_at: Vec<usize> = final_clients
            .iter()
            .copied()
            .filter(|n| ran_clients.contains(n))
            .collect();
        if judged_at.is_empty() {
            judged_at = ran_clients.clone();
        }
        let is_fixed = |c: Contender| c.fixed_limit().is_some();
        let mut fixed_grid: Vec<usize> = of_mix
            .iter()
            .filter_map(|c| c.contender.fixed_limit())
            .collect();
        fixed_grid.sort_unstable();
        fixed_grid.dedup();
        let mut pools: Vec<u32> = of_mix
            .iter()
            .filter(|c| c.contender.is_async_graphql())
            .map(|c| c.contender.pool())
            .collect();
        pools.sort_unstable();
        pools.dedup();
        let default = Contender::ours(Mode::AsyncGraphql, default_pool);
        Self {
            workload,
            best_fixed: best(cells, workload, &judged_at, is_fixed),
            best_fixed_by_clients: ran_clients
                .iter()
                .filter_map(|&n| Some((n, best(cells, workload, &[n], is_fixed)?)))
                .collect(),
            fixed_grid,
            best_pool: best(cells, workload, &judged_at, Contender::is_async_graphql),
            pools,
            default_pool: of_mix
                .iter()
                .any(|c| c.contender == default)
                .then_some(default),
            judged_at,
        }
    }

    /// Where the best fixed limit sits in its grid.
    pub fn fixed_edge(&self) -> Option<Edge> {
        edge(&self.fixed_grid, self.best_fixed?.fixed_limit()?)
    }

    /// Where the best pool sits in its grid.
    pub fn pool_edge(&self) -> Option<Edge> {
        edge(&self.pools, self.best_pool?.pool())
    }

    /// The choices as Markdown lines, with a warning where a choice is at an edge.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let at: Vec<String> = self.judged_at.iter().map(usize::to_string).collect();
        let judged = format!("highest mean complete/s at {} clients", at.join(" and "));
        if let Some(best) = self.best_fixed {
            let grid: Vec<String> = self.fixed_grid.iter().map(usize::to_string).collect();
            let _ = write!(
                out,
                "- best fixed limit ({judged}): **{best}** of {{{}}}",
                grid.join(", ")
            );
            match (self.fixed_edge(), best.fixed_limit()) {
                (Some(Edge::Lowest), Some(1)) => out.push_str(
                    "; at the lower edge of the grid, which is the least limit there is",
                ),
                (Some(Edge::Lowest), _) => out.push_str(
                    "; **at the lower edge of the grid**: a smaller limit may do better (add it to --modes)",
                ),
                (Some(Edge::Highest), _) => out.push_str(
                    "; **at the upper edge of the grid**: a larger limit may do better (add it to --modes)",
                ),
                (None, _) => {}
            }
            let by: Vec<String> = self
                .best_fixed_by_clients
                .iter()
                .map(|(n, c)| format!("{c} at {n}"))
                .collect();
            let _ = writeln!(out, "; best at each client count: {}", by.join(", "));
        }
        if let Some(best) = self.best_pool {
            let pools: Vec<String> = self.pools.iter().map(u32::to_string).collect();
            let _ = write!(
                out,
                "- async-graphql, best pool ({judged}): **pool {}** of {{{}}}",
                best.pool(),
                pools.join(", ")
            );
            match self.pool_edge() {
                Some(Edge::Lowest) => out.push_str(
                    "; **at the lower edge of the grid**: a smaller pool may do better (add it to --async-graphql-pools)",
                ),
                Some(Edge::Highest) => out.push_str(
                    "; **at the upper edge of the grid**: a larger pool may do better (add it to --async-graphql-pools)",
                ),
                None => {}
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{e2e::Cost, load::LoadReport};

    fn cell(workload: Workload, contender: Contender, clients: usize, ok_per_s: f64) -> MatrixCell {
        MatrixCell {
            workload,
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

    fn fixed(n: usize) -> Contender {
        Contender::ours(Mode::Fixed(n), 32)
    }

    fn pool(n: u32) -> Contender {
        Contender::ours(Mode::AsyncGraphql, n)
    }

    #[test]
    fn the_best_is_judged_at_the_final_client_counts_per_mix() {
        let h = Workload::Heavy;
        let cells = vec![
            cell(h, fixed(1), 16, 100.0),
            cell(h, fixed(1), 64, 10.0),
            cell(h, fixed(1), 256, 10.0),
            cell(h, fixed(4), 16, 50.0),
            cell(h, fixed(4), 64, 30.0),
            cell(h, fixed(4), 256, 20.0),
            cell(h, fixed(8), 64, 25.0),
            cell(h, fixed(8), 256, 28.0),
            cell(h, pool(4), 64, 20.0),
            cell(h, pool(4), 256, 20.0),
            cell(h, pool(32), 64, 19.0),
            cell(h, pool(32), 256, 18.0),
            // Another mix does not count.
            cell(Workload::Light, fixed(1), 64, 9_999.0),
        ];
        let picks = Picks::choose(&cells, h, &[64, 256], 32);
        assert_eq!(picks.judged_at, [64, 256]);
        // Means at 64 and 256: fixed:1 10, fixed:4 25, fixed:8 26.5 (fixed:1 won at 16 only).
        assert_eq!(picks.best_fixed, Some(fixed(8)));
        assert_eq!(
            picks.best_fixed_by_clients,
            [(16, fixed(1)), (64, fixed(4)), (256, fixed(8))]
        );
        assert_eq!(picks.fixed_edge(), Some(Edge::Highest));
        assert_eq!(picks.best_pool, Some(pool(4)));
        assert_eq!(picks.pool_edge(), Some(Edge::Lowest));
        assert_eq!(picks.default_pool, Some(pool(32)));
    }

    #[test]
    fn edges_of_the_grids_are_reported() {
        let l = Workload::Light;
        let cells = vec![
            cell(l, fixed(2), 64, 90.0),
            cell(l, fixed(4), 64, 50.0),
            cell(l, fixed(32), 64, 10.0),
            cell(l, pool(4), 64, 10.0),
            cell(l, pool(8), 64, 20.0),
            cell(l, pool(32), 64, 30.0),
        ];
        let picks = Picks::choose(&cells, l, &[64, 256], 32);
        assert_eq!(picks.judged_at, [64], "256 did not run");
        assert_eq!(picks.best_fixed, Some(fixed(2)));
        assert_eq!(picks.fixed_edge(), Some(Edge::Lowest));
        assert_eq!(picks.best_pool, Some(pool(32)));
        assert_eq!(picks.pool_edge(), Some(Edge::Highest));
        assert_eq!(picks.default_pool, Some(pool(32)));
        let md = picks.markdown();
        assert!(
            md.contains("**fixed:2** of {2, 4, 32}; **at the lower edge of the grid**"),
            "{md}"
        );
        assert!(
            md.contains("**pool 32** of {4, 8, 32}; **at the upper edge"),
            "{md}"
        );
        assert!(
            md.contains("best at each client count: fixed:2 at 64"),
            "{md}"
        );
    }

    #[test]
    fn fixed_one_is_an_edge_that_cannot_be_extended() {
        let l = Workload::Light;
        let cells = vec![
            cell(l, fixed(1), 64, 90.0),
            cell(l, fixed(4), 64, 50.0),
            cell(l, fixed(8), 64, 20.0),
        ];
        let picks = Picks::choose(&cells, l, &[64], 32);
        assert_eq!(picks.fixed_edge(), Some(Edge::Lowest));
        assert!(
            picks.markdown().contains("the least limit there is"),
            "{}",
            picks.markdown()
        );
        let middle = Picks::choose(
            &[
                cell(l, fixed(1), 64, 1.0),
                cell(l, fixed(4), 64, 50.0),
                cell(l, fixed(8), 64, 20.0),
            ],
            l,
            &[64],
            32,
        );
        assert_eq!(middle.fixed_edge(), None);
        assert_eq!(middle.best_pool, None);
        assert!(!middle.markdown().contains("edge"));
    }
}
