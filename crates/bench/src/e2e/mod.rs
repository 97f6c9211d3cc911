//! The `bench-e2e` orchestrator: a throwaway PostgreSQL ([`BenchPostgres`]), a seeded data
//! set, each server under test ([`Contender`]: this `server` in each [`Mode`] through
//! [`ServerLaunch`], async-graphql's `DataLoader` at several pools, PostGraphile through
//! [`PostGraphileLaunch`]) on each mix ([`Workload`]), then the final tables and their
//! targets; [`E2eResults`] as tables, JSON and SVG.
//!
//! - [`Plan`]: what will run, and how long it should take.
//! - [`measure`](cell): one cell and its cost ([`Cost`]: CPU of the server and of
//!   PostgreSQL, statements); [`Figures`] are the columns of every table.
//! - [`Picks`]: the best fixed limit and async-graphql's best pool, and grid edges.
//! - [`Confirmation`] and [`FinalTable`]: the final servers again in alternating order;
//!   [`TargetCheck`]s judged on them.
//! - [`count_rows`] / [`compare_row_counts`]: PostGraphile's answers hold the same rows.
//! - [`OutsideRun`]: autocannon checks the heavy mix's headline, bodies compared.

mod args;
mod autocannon;
mod cell;
mod confirm;
mod contender;
mod equivalence;
mod figures;
mod final_table;
mod mode;
mod node_tools;
mod picks;
mod plan;
mod plot;
mod postgraphile;
mod postgres;
mod results;
mod row_counts;
mod run;
mod server_process;
mod targets;
mod workload;

pub use args::{E2eArgs, Outside, Peer, Sizes};
pub use autocannon::{AutocannonSummary, OutsideRun, outside_markdown};
pub use confirm::{ConfirmCell, Confirmation};
pub use contender::Contender;
pub use equivalence::EquivalenceCheck;
pub use figures::{Cost, Figures};
pub use final_table::{FinalRow, FinalTable, Role};
pub use mode::Mode;
pub use node_tools::NodeTools;
pub use picks::{Edge, Picks};
pub use plan::{Estimate, Plan, PlannedCell};
pub use plot::plot_slowdown;
pub use postgraphile::PostGraphileLaunch;
pub use postgres::BenchPostgres;
pub use results::{DataSet, E2eResults, MatrixCell, SlowdownRun, Soak};
pub use row_counts::{
    Naming, OUR_NAMING, POSTGRAPHILE_NAMING, RowCounts, RowKind, RowMismatch, compare_row_counts,
    count_rows,
};
pub use run::{run, save};
pub use server_process::{ServerLaunch, ServerProcess, has_loader_switch, rss_kib};
pub use targets::TargetCheck;
pub use workload::Workload;
