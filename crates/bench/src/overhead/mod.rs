//! The `bench-overhead` run: what the engine costs when the database costs (almost)
//! nothing. The `server` binary runs on an in-memory SQLite database (or a file on tmpfs)
//! holding the demo data, clients send the built-in mix of small nested queries, and each
//! loader mode's requests/s is compared with a baseline mode's (async-graphql's
//! `DataLoader`) measured in the same process, in alternating rounds.
//!
//! - [`OverheadArgs`]: the command line (modes, baseline, clients, rounds, durations).
//! - [`Backing`] / [`BackingStore`]: where the database lives; a tmpfs file is removed when
//!   its store is dropped.
//! - [`cpu_time`]: the server's CPU time, read at the end of the warm-up and of the run,
//!   gives its CPU per request.
//! - [`overhead_mix`]: `builtin` (nested queries) or `tiny` (one load per request), ids
//!   narrowed to the demo data.
//! - [`schedule`]: the order of the rounds (ABBA, so neither mode always runs first).
//! - [`OverheadResults`]: every round, the per-mode medians and the ratios to the baseline,
//!   as JSON and a Markdown table.
//! - [`run`]: the whole sequence; [`save`] writes `results.json` and `results.md`.
//!
//! ```no_run
//! use bench::overhead::{OverheadArgs, run};
//! use clap::Parser as _;
//!
//! # async fn example() -> anyhow::Result<()> {
//! let args = OverheadArgs::parse_from(["bench-overhead", "--rounds", "3", "--duration", "10s"]);
//! let results = run(args, "bench-overhead --rounds 3".into()).await?;
//! if let Some(ratio) = results.target_ratio() {
//!     println!("adaptive / async-graphql: {:.3}", ratio.of_medians);
//! }
//! # Ok(())
//! # }
//! ```

mod args;
mod backing;
mod mix;
mod results;
mod run;
mod schedule;

pub use crate::proc_cpu::cpu_time;
pub use args::OverheadArgs;
pub use backing::{Backing, BackingStore};
pub use mix::overhead_mix;
pub use results::{
    ModeSummary, OverheadResults, Ratio, RoundResult, TARGET_MIN_RATIO, limit_time_shares, median,
    summarize,
};
pub use run::{run, save};
pub use schedule::{Slot, schedule};
