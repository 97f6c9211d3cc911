//! A simulator that drives the real [`loader_core`] engine against a simulated backend
//! whose best concurrency is known, to show how close each scaling strategy gets to it.
//!
//! - [`Scenario`] (`scenario.rs`, `schedule.rs`): the TOML file: backend, load, duration;
//!   every number may be a [`Schedule`] over simulated time.
//! - [`backend`]: the processor-sharing model with an overload penalty and the
//!   [`BatchFn`](loader_core::BatchFn) that calls it.
//! - `load.rs`: closed-loop clients or open-loop Poisson arrivals, one `load_many` each.
//! - [`run`] (`run.rs`): one simulation on tokio's paused clock, sampled every 100 ms, into a
//!   [`RunReport`]; [`analysis`] derives steady-state figures from the samples.
//! - `designs/`: designs compared with the law by measurement (`usl`, `extremum`), run by
//!   name like the built-in strategies ([`Windowed`] over [`Usl`] or [`Extremum`]).
//! - [`sweep`] (`sweep.rs`): fixed limits to find the oracle, then every strategy;
//!   [`targets`] checks issue 3's goals; [`report`] prints tables; [`plot`] draws SVGs.
//!
//! # Example
//!
//! ```
//! use loader_core::limit::StrategyKind;
//! use loader_sim::{RunOptions, Scenario, run};
//!
//! let scenario = Scenario::from_toml_str(r#"
//!     duration_s = 2
//!     warmup_s = 1
//!     [backend]
//!     capacity = 8
//!     base_latency_ms = 4.0
//!     per_key_latency_ms = 0.1
//!     overload_penalty = 0.5
//!     [load]
//!     mode = "closed"
//!     clients = 20
//!     keys_per_request = 3
//!     key_space = 100000
//!     request_timeout_ms = 1000
//! "#).unwrap();
//! let report = run(&scenario, &RunOptions::new(StrategyKind::Fixed(Some(8)))).unwrap();
//! assert_eq!(report.unaccounted, 0);
//! assert!(report.keys_per_s > 0.0);
//! ```

pub mod analysis;
pub mod backend;
pub mod eval;
pub mod family;
pub mod oracle;
pub mod plot;
pub mod report;
pub mod targets;

mod designs;
mod digest;
mod error;
mod load;
mod phase;
mod recorder;
mod run;
mod scenario;
mod schedule;
mod strategy;
mod sweep;

pub use designs::{Design, Extremum, ExtremumTuning, Usl, UslTuning, Windowed};
pub use digest::{PhaseFigures, Point, RunDigest, mean_cv};
pub use error::SimError;
pub use phase::{MIN_STEADY_S, Phase, phases};
pub use recorder::{Counts, Latency};
pub use run::{
    BuildStrategy, CustomStrategy, RunOptions, RunReport, SAMPLE_INTERVAL, Segment, run,
};
pub use scenario::{BackendSpec, GroupSpec, LoadMode, LoadSpec, Scenario};
pub use schedule::Schedule;
pub use strategy::{LATE, Overrides, StrategySpec};
pub use sweep::{
    FixedPoint, StrategyRow, SweepOptions, SweepReport, coarse_limits, fine_limits, run_many, sweep,
};
