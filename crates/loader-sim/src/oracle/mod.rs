//! The references a strategy is judged against.
//!
//! - [`search`] (`search.rs`): the best fixed limit of steady conditions, found by running
//!   fixed limits, and the *band* of limits that serve nearly as well.
//! - [`ScheduledLimit`] (`scheduled.rs`): a fixed limit per phase, switched at each change.
//! - [`compute`] (`per_phase.rs`): the per-phase oracle of a scenario (a search per phase,
//!   then one run with [`ScheduledLimit`]) and the best single fixed limit.
//! - [`OracleCache`] (`cache.rs`): oracles on disk, keyed by scenario, options and code.

mod cache;
mod per_phase;
mod scheduled;
pub mod search;

pub use cache::{ENGINE_FINGERPRINT, OracleCache, key};
pub use per_phase::{ORACLE_KIND, Oracle, PhaseOracle, compute};
pub use scheduled::ScheduledLimit;
pub use search::{Search, SearchOptions, Tried};
