//! The load driver: closed-loop clients sending a [`QueryMix`] to a GraphQL endpoint.
//!
//! - [`LoadConfig`] and [`run`]: the run itself ([`run`] in `driver.rs`).
//! - [`QueryMix`]: which queries, how often, with which random ids;
//!   [`discover_id_ranges`]: the ids a server holds, for the mix's ranges.
//! - [`Outcome`]: one response classified: complete, partial (data plus errors), refused
//!   (`503`), another error, transport failure, timeout.
//! - [`Recorder`] and [`LoadReport`]: per-second series and measured totals.
//! - [`summarize_phases`] / [`recovery_time`]: before / during / after a disturbance.

mod cli;
mod config;
mod driver;
mod id_ranges;
mod mix;
mod outcome;
mod phases;
mod recorder;
mod report;
mod tally;

pub use cli::{IdRangeSource, LoadgenArgs};
pub use config::{LoadConfig, MAX_RETRY_WAIT};
pub use driver::run;
pub use id_ranges::{IdRanges, discover_id_ranges};
pub use mix::{DEFAULT_POSTS, DEFAULT_USERS, HEAVY_QUERY, MixQuery, QueryMix};
pub use outcome::{OVERLOADED, Outcome, TransportKind, retry_after_header, retry_after_hint};
pub use phases::{Phase, PhaseSummary, ok_series, recovery_time, summarize_phases};
pub use recorder::{Recorder, RunFacts};
pub use report::{LatencySummary, LoadReport, SecondPoint};
