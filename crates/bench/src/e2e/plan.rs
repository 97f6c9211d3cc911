//! [`Plan`]: what a `bench-e2e` run will measure, decided from its arguments before
//! anything starts: the servers ([`Contender`]s), the matrix's cells, and an estimate of
//! the wall time, printed at the start.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Contender, E2eArgs, Mode, Workload};

/// The run's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The mixes, in order.
    pub mixes: Vec<Workload>,
    /// Every server of the matrix, in order.
    pub contenders: Vec<Contender>,
    /// Client counts of the matrix.
    pub clients: Vec<usize>,
    /// Client counts at which the client ignoring `Retry-After` runs too.
    pub both_retry_clients: Vec<usize>,
    /// Every client ignores `Retry-After`.
    pub ignore_retry_after: bool,
    /// Client counts of the final table.
    pub final_clients: Vec<usize>,
    /// Confirmation rounds.
    pub confirm_rounds: usize,
    /// Whether autocannon confirms the heavy mix's headline.
    pub outside: bool,
    /// Whether the slowdown run runs.
    pub slowdown: bool,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedCell {
    /// The mix.
    pub workload: Workload,
    /// The server.
    pub contender: Contender,
    /// Closed-loop clients.
    pub clients: usize,
    /// Whether the clients wait the server's retry hint after a refusal.
    pub honor_retry_after: bool,
}

/// The wall time a plan should take, by part, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Seeding, `VACUUM`, prewarm.
    pub setup_s: f64,
    /// The matrix.
    pub matrix_s: f64,
    /// The confirmation rounds.
    pub confirm_s: f64,
    /// The autocannon check.
    pub outside_s: f64,
    /// The slowdown runs.
    pub slowdown_s: f64,
}

impl Estimate {
    /// Everything.
    pub fn total_s(&self) -> f64 {
        self.setup_s + self.matrix_s + self.confirm_s + self.outside_s + self.slowdown_s
    }
}

/// Seconds to start a server and see it ready (PostGraphile introspects the schema).
const START_S: f64 = 3.0;
/// Seconds after a cell's planned end until its last requests are answered.
const TAIL_S: f64 = 1.0;
/// Servers of the final table: engine, best fixed, async-graphql default and best pool,
/// PostGraphile.
const FINAL_SERVERS: f64 = 5.0;
/// Modes of the slowdown run: adaptive, best fixed, async-graphql, none.
const SLOWDOWN_MODES: f64 = 4.0;

impl Plan {
    /// The plan of `args`: `with_postgraphile` when the peer can run (Node.js is there).
    pub fn new(args: &E2eArgs, with_postgraphile: bool) -> Self {
        let mut contenders: Vec<Contender> = Vec::new();
        let mut push = |c: Contender| {
            if !contenders.contains(&c) {
                contenders.push(c);
            }
        };
        for &mode in &args.modes {
            if mode == Mode::AsyncGraphql {
                let mut pools = args.async_graphql_pools.clone();
                pools.push(args.db_connections);
                pools.sort_unstable();
                pools.dedup();
                for pool in pools {
                    push(Contender::ours(mode, pool));
                }
            } else {
                push(Contender::ours(mode, args.db_connections));
            }
        }
        if with_postgraphile {
            push(Contender::PostGraphile {
                pool: args.db_connections,
            });
        }
        Self {
            mixes: dedup(&args.mixes),
            contenders,
            clients: args.clients.clone(),
            both_retry_clients: args.both_retry_clients.clone(),
            ignore_retry_after: args.ignore_retry_after,
            final_clients: args.final_clients.clone(),
            confirm_rounds: args.confirm_rounds,
            outside: args.outside == super::Outside::Autocannon
                && args.mixes.contains(&Workload::Heavy),
            slowdown: !args.no_slowdown,
        }
    }

    /// The retry behaviours measured at `clients`: `true` honours the server's hint.
    pub fn retry_policies(&self, clients: usize) -> Vec<bool> {
        if self.ignore_retry_after {
            vec![false]
        } else if self.both_retry_clients.contains(&clients) {
            vec![true, false]
        } else {
            vec![true]
        }
    }

    /// The matrix's cells of `workload` and `contender`, in the order they run.
    pub fn cells_of(&self, workload: Workload, contender: Contender) -> Vec<PlannedCell> {
        self.clients
            .iter()
            .flat_map(|&clients| {
                self.retry_policies(clients)
                    .into_iter()
                    .map(move |honor_retry_after| PlannedCell {
                        workload,
                        contender,
                        clients,
                        honor_retry_after,
                    })
            })
            .collect()
    }

    /// Every cell of the matrix: mix by mix, server by server (one server start each).
    pub fn cells(&self) -> Vec<PlannedCell> {
        self.mixes
            .iter()
            .flat_map(|&w| {
                self.contenders
                    .iter()
                    .flat_map(move |&c| self.cells_of(w, c))
            })
            .collect()
    }

    /// How long the plan should take with `args`' durations and data set.
    pub fn estimate(&self, args: &E2eArgs) -> Estimate {
        let cell = (args.warmup + args.duration).as_secs_f64() + TAIL_S;
        let mixes = self.mixes.len() as f64;
        let sizes = args.sizes();
        let rows = (sizes.users + sizes.posts + sizes.comments + sizes.follows) as f64;
        let final_servers = FINAL_SERVERS.min(self.contenders.len() as f64);
        let final_cells = self.final_clients.len() as f64;
        Estimate {
            // `server seed` writes about 40 000 rows a second here; then VACUUM ANALYZE,
            // prewarm, two PostgreSQL restarts.
            setup_s: 15.0 + rows / 40_000.0 * 1.5,
            matrix_s: self.cells().len() as f64 * cell
                + mixes * self.contenders.len() as f64 * START_S,
            confirm_s: self.confirm_rounds as f64
                * mixes
                * final_servers
                * (final_cells * cell + START_S),
            outside_s: if self.outside {
                final_servers * (2.0 * cell + START_S)
            } else {
                0.0
            },
            slowdown_s: if self.slowdown {
                mixes
                    * SLOWDOWN_MODES.min(self.contenders.len() as f64)
                    * ((args.warmup + args.slowdown_duration).as_secs_f64() + TAIL_S + START_S)
                    + 5.0 * f64::from(args.pgbench_scale)
            } else {
                0.0
            },
        }
    }
}

fn dedup<T: PartialEq + Copy>(v: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for x in v {
        if !out.contains(x) {
            out.push(*x);
        }
    }
    out
}

/// `1 h 05 min`, `12 min`, `40 s`.
pub fn human(seconds: f64) -> String {
    let d = Duration::from_secs_f64(seconds.max(0.0));
    let (h, m, s) = (d.as_secs() / 3600, d.as_secs() / 60 % 60, d.as_secs() % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, m) => format!("{m} min {s:02} s"),
        (h, m) => format!("{h} h {m:02} min"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn args(extra: &[&str]) -> E2eArgs {
        E2eArgs::parse_from(std::iter::once("bench-e2e").chain(extra.iter().copied()))
    }

    #[test]
    fn async_graphql_runs_at_every_pool_and_its_default_one() {
        let plan = Plan::new(
            &args(&[
                "--modes",
                "adaptive,async-graphql",
                "--async-graphql-pools",
                "4,8",
                "--db-connections",
                "20",
            ]),
            true,
        );
        let labels: Vec<String> = plan.contenders.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            labels,
            [
                "adaptive",
                "async-graphql pool 4",
                "async-graphql pool 8",
                "async-graphql pool 20",
                "postgraphile"
            ]
        );
        assert_eq!(plan.contenders[0].pool(), 20);
    }

    #[test]
    fn both_retry_behaviours_run_at_64_clients_only() {
        let plan = Plan::new(&args(&["--modes", "adaptive", "--mix", "heavy"]), false);
        let cells: Vec<(usize, bool)> = plan
            .cells()
            .iter()
            .map(|c| (c.clients, c.honor_retry_after))
            .collect();
        assert_eq!(cells, [(16, true), (64, true), (64, false), (256, true)]);
        let ignoring = Plan::new(&args(&["--ignore-retry-after"]), false);
        assert_eq!(ignoring.retry_policies(64), [false]);
    }

    #[test]
    fn the_estimate_grows_with_the_grid_and_quick_is_short() {
        let full = args(&[]);
        let plan = Plan::new(&full, true);
        // 10 modes with async-graphql at 5 pools (32 is the default) + PostGraphile = 15
        // servers, 4 cells each (64 twice), 2 mixes.
        assert_eq!(plan.contenders.len(), 15);
        assert_eq!(plan.cells().len(), 15 * 4 * 2);
        let estimate = plan.estimate(&full);
        assert!(
            (2400.0..6000.0).contains(&estimate.total_s()),
            "{estimate:?}: {}",
            human(estimate.total_s())
        );
        let quick = E2eArgs::parse_from_with_quick(["bench-e2e", "--quick"]);
        let quick_estimate = Plan::new(&quick, true).estimate(&quick);
        assert!(quick_estimate.total_s() < 900.0, "{quick_estimate:?}");
        assert!(quick_estimate.total_s() < estimate.total_s() / 4.0);
    }

    #[test]
    fn without_the_heavy_mix_there_is_no_autocannon_check() {
        assert!(!Plan::new(&args(&["--mix", "light"]), true).outside);
        assert!(Plan::new(&args(&["--mix", "heavy"]), true).outside);
        assert!(!Plan::new(&args(&["--outside", "none"]), true).outside);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(40.2), "40 s");
        assert_eq!(human(725.0), "12 min 05 s");
        assert_eq!(human(3900.0), "1 h 05 min");
    }
}
