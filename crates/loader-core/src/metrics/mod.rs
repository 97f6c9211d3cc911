//! Metrics: a lock-light collector over `metrics_window` and the snapshot it produces.
//!
//! Batches record into per-group windows (one short lock per batch call, never per key);
//! the engine merges them into a [`Snapshot`] on demand.

mod history;
mod snapshot;
mod window;

pub use snapshot::{CostEstimate, GroupSnapshot, LimitPoint, Percentiles, Snapshot};

pub(crate) use history::{LimitHistory, ThroughputTicker};
pub(crate) use window::{BatchEnd, BatchRecord, WindowSummary, WindowedStats};
