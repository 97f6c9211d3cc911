//! The `scaleout` run: N server replicas on loopback against one PostgreSQL, the load spread
//! across them, adaptive limits against a sweep of fixed ones, and a replica joining cold or
//! warm (from the learned state shared in the `loader_learned` table).
//!
//! - [`ScaleoutArgs`]: what to run (replicas, clients, durations, the fixed totals swept).
//! - [`Replica`]: one in-process server (the real `Application`) on its own runtime thread,
//!   optionally restoring and sharing learned state through
//!   [`LearnedStore`](server::learned_store::LearnedStore).
//! - [`run_replicas`]: one measured run over a set of replicas ([`RunResult`]).
//! - [`join_replica`]: a replica joining a loaded cluster, its limit sampled every 100 ms
//!   ([`JoinResult`]).
//! - [`run`]: the whole experiment; [`ScaleoutReport`] its figures (table and JSON).

/// The `loader_learned` scope the replicas share.
pub const SCOPE: &str = "scaleout";

mod args;
mod join;
mod limits;
mod orchestrate;
mod replica;
mod report;
mod runs;

pub use args::ScaleoutArgs;
pub use join::{JoinResult, join_replica};
pub use limits::{LimitSeries, converged_limit, time_to_reach};
pub use orchestrate::run;
pub use replica::{Replica, ReplicaOptions, Sharing};
pub use report::{ScaleoutReport, best_fixed};
pub use runs::{ReplicaFigures, RunResult, run_replicas};
