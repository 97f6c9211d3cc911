//! What the engine measured: per-group figures over `metrics_window`, the limit's history,
//! the local runtime's load, and the [`Snapshot`] that gathers them.
//!
//! Batches record into per-group intervals (one short lock per batch call, never per key);
//! [`Engine::snapshot`](crate::Engine::snapshot) merges them on demand.
//!
//! | file | what it holds |
//! |---|---|
//! | `interval.rs` | `WindowedStats`: counters and histograms over a sliding `metrics_window` |
//! | `history.rs` | `LimitHistory`, `ThroughputTicker`: the (limit, throughput) history and the best limit |
//! | `local_load.rs` | `RuntimeBusyProbe`: how busy the local tokio runtime is |
//! | `snapshot.rs` | [`Snapshot`] and its parts, and how the engine assembles it |

mod history;
mod interval;
mod local_load;
mod snapshot;

pub use snapshot::{CostEstimate, GroupSnapshot, LimitPoint, Percentiles, Snapshot};

pub(crate) use history::{LimitHistory, ThroughputTicker};
pub(crate) use interval::{BatchEnd, BatchRecord, WindowSummary, WindowedStats};
pub(crate) use local_load::{LocalLoadProbe, RuntimeBusyProbe};
