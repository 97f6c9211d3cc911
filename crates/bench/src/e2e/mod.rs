//! The `bench-e2e` orchestrator: a throwaway PostgreSQL ([`BenchPostgres`]), a seeded data
//! set, the `server` binary in each [`Mode`] ([`ServerLaunch`]), the load matrix, the
//! "database gets slower" run, the memory soak; [`E2eResults`] as tables, JSON and SVG.

mod args;
mod confirm;
mod mode;
mod plot;
mod postgres;
mod results;
mod run;
mod server_process;

pub use args::{E2eArgs, Sizes};
pub use confirm::{ConfirmCell, Confirmation};
pub use mode::Mode;
pub use plot::plot_slowdown;
pub use postgres::BenchPostgres;
pub use results::{DataSet, E2eResults, MatrixCell, SlowdownRun, Soak};
pub use run::{run, save};
pub use server_process::{ServerLaunch, ServerProcess, has_loader_switch, rss_kib};
