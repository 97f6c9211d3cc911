//! The confirmation: the servers of the final table (engine, best fixed limit,
//! async-graphql on its default and its best pool, PostGraphile) run again at the final
//! client counts in alternating order (ABCDE EDCBA ...), a fresh server per run, so that
//! neither the order of the matrix (the first server after seeding runs on a colder cache)
//! nor a drift of the machine favours one of them. The final table holds the medians.

use serde::{Deserialize, Serialize};

use super::{Contender, Figures, Workload};

/// One run of one server in the confirmation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmCell {
    /// The mix.
    pub workload: Workload,
    /// The server.
    pub contender: Contender,
    /// Closed-loop clients.
    pub clients: usize,
    /// Round (0-based); odd rounds run the servers in reverse order.
    pub round: usize,
    /// What it measured.
    pub figures: Figures,
}

/// Every confirmation run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Confirmation {
    /// Rounds asked for.
    pub rounds: usize,
    /// The runs, in the order they ran.
    pub cells: Vec<ConfirmCell>,
}

/// The order of the servers in `round`: as given in even rounds, reversed in odd ones.
pub fn order<T: Clone>(servers: &[T], round: usize) -> Vec<T> {
    let mut v = servers.to_vec();
    if round % 2 == 1 {
        v.reverse();
    }
    v
}

impl Confirmation {
    /// Every run of `contender` on `workload` at `clients`, in round order.
    pub fn runs(
        &self,
        workload: Workload,
        contender: Contender,
        clients: usize,
    ) -> Vec<&ConfirmCell> {
        let mut runs: Vec<&ConfirmCell> = self
            .cells
            .iter()
            .filter(|c| c.workload == workload && c.contender == contender && c.clients == clients)
            .collect();
        runs.sort_by_key(|c| c.round);
        runs
    }

    /// `a`'s complete/s over `b`'s in each round where both ran: runs of one round are
    /// next to each other in time, so a drift of the machine over the rounds cancels out.
    pub fn round_ratios(
        &self,
        workload: Workload,
        clients: usize,
        a: Contender,
        b: Contender,
    ) -> Vec<f64> {
        let of = |c: Contender| self.runs(workload, c, clients);
        let (ra, rb) = (of(a), of(b));
        ra.iter()
            .filter_map(|x| {
                let y = rb.iter().find(|y| y.round == x.round)?;
                Some(x.figures.complete_per_s / y.figures.complete_per_s.max(1e-9))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::Mode;

    fn cell(contender: Contender, round: usize, complete: f64) -> ConfirmCell {
        ConfirmCell {
            workload: Workload::Heavy,
            contender,
            clients: 64,
            round,
            figures: Figures {
                complete_per_s: complete,
                ..Figures::default()
            },
        }
    }

    #[test]
    fn rounds_alternate_the_order() {
        let servers = [1, 2, 3];
        assert_eq!(order(&servers, 0), servers);
        assert_eq!(order(&servers, 1), [3, 2, 1]);
        assert_eq!(order(&servers, 2), servers);
    }

    #[test]
    fn ratios_pair_the_runs_of_one_round() {
        let engine = Contender::ours(Mode::Adaptive, 32);
        let peer = Contender::PostGraphile { pool: 32 };
        let c = Confirmation {
            rounds: 2,
            cells: vec![
                cell(engine, 0, 40.0),
                cell(peer, 0, 20.0),
                cell(peer, 1, 40.0),
                cell(engine, 1, 30.0),
                cell(engine, 2, 99.0),
            ],
        };
        assert_eq!(
            c.round_ratios(Workload::Heavy, 64, engine, peer),
            [2.0, 0.75]
        );
        assert_eq!(c.runs(Workload::Heavy, engine, 64).len(), 3);
        assert!(c.runs(Workload::Light, engine, 64).is_empty());
        assert!(
            c.round_ratios(Workload::Heavy, 256, engine, peer)
                .is_empty()
        );
    }
}
