//! Concurrency-limit strategies: pure algorithms that turn completed batch calls into a limit.
//!
//! Every strategy implements [`ScalingStrategy`]. The engine feeds it one [`Sample`] per
//! finished batch call (and nothing else: no clock, no I/O), reads back the limit, and clamps it
//! to `[min_concurrency, max_concurrency]`. Time arrives inside the sample (`Sample::now`), so
//! the strategies are deterministic and are unit-tested with synthetic sequences.
//!
//! | name        | file            | idea |
//! |-------------|-----------------|------|
//! | `fixed`     | `fixed.rs`      | never changes: the baseline |
//! | `aimd`      | `aimd.rs`       | additive increase, multiplicative decrease on drop/timeout/slow call |
//! | `vegas`     | `vegas.rs`      | TCP Vegas: estimated queue = limit * (1 - rtt_noload / rtt) |
//! | `gradient2` | `gradient2.rs`  | Netflix Gradient2: long/short RTT EWMA ratio drives the limit |
//! | `adaptive`  | `adaptive.rs`   | ours (default): keep a change when goodput pays for it, probe rarely, latency alarm (`docs/adaptive.md`) |
//!
//! Beside the strategies:
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`ScalingStrategy`], its [`Sample`] and [`StrategyConfig`] |
//! | `kind.rs` | [`StrategyKind`]: the strategies by name (`"fixed:16"`, `"adaptive"`, ...) |
//! | `control.rs` | `LimitController`: applies a strategy to the engine's limit, clamps it, keeps its history |
//! | `fleet.rs` | [`FleetView`]: what a replica knows of the others on its downstream ([`Engine::set_fleet`]) |
//! | `ewma.rs` | the moving averages the strategies share |
//!
//! [`Engine::set_fleet`]: crate::Engine::set_fleet

mod adaptive;
mod aimd;
mod control;
mod ewma;
mod fixed;
mod fleet;
mod gradient2;
mod kind;
mod vegas;

pub use adaptive::{Adaptive, Tuning};
pub use aimd::Aimd;
pub use fixed::Fixed;
pub use fleet::FleetView;
pub use gradient2::Gradient2;
pub use kind::{StrategyKind, UnknownStrategy};
pub use vegas::Vegas;

pub(crate) use control::LimitController;

use std::time::Duration;

/// How a batch call ended, as the limit strategies see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The batch function returned `Ok`.
    Success,
    /// The batch function returned `Err` or panicked: the downstream may be failing.
    Error,
    /// The per-batch timeout cut the call: the downstream is too slow.
    Timeout,
}

/// One finished batch call: everything a strategy may base a decision on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Time since the engine started (tokio's clock, so paused time in tests works).
    pub now: Duration,
    /// How long the batch call took, from dispatch to answer.
    pub rtt: Duration,
    /// Number of (deduplicated) keys in the batch.
    pub batch_size: usize,
    /// Loads the call answered: the keys its callers asked for, before deduplication (a key
    /// that two requests asked for counts twice). What the callers see served; at least
    /// `batch_size` when every caller stayed.
    pub loads: usize,
    /// Batch calls in flight when this one was dispatched, itself included.
    pub in_flight: usize,
    /// The limit in force when this one was dispatched.
    pub limit: usize,
    /// This call's place in the order of dispatch: the calls granted a permit before it.
    pub seq: u64,
    /// Calls granted a permit so far, read when this one finished (the next call's `seq`).
    pub granted: u64,
    /// Every call whose `seq` is below this has finished (this one included), read when this
    /// one finished. With `granted`, it tells a strategy when all the calls dispatched in an
    /// interval have come back, cancelled ones included (they send no sample).
    pub done_below: u64,
    /// Batches waiting for a permit when this one finished (all groups).
    pub queued: usize,
    /// Local runtime load in `0.0..=1.0`: fraction of tokio worker time spent busy over the
    /// last sampling interval (`0.0` when unknown).
    pub local_load: f64,
    /// How the call ended.
    pub outcome: Outcome,
    /// Requests admitted at the engine's door ([`Engine::admit_request`]) that have ended so
    /// far, a running count read when this call finished (`0` for an engine whose callers do
    /// not admit requests). Its rate over a window is the goodput a server cares about:
    /// requests served, which keys per second only stand for while every request costs the
    /// same keys.
    ///
    /// [`Engine::admit_request`]: crate::Engine::admit_request
    pub requests_ended: u64,
    /// The call's query group: its index in the engine, in order of first use. Calls of one
    /// group cost alike; calls of different groups may not (a cheap lookup by key and a
    /// list of children per parent share one limit).
    pub group: usize,
}

/// Bounds and targets shared by every strategy; built from the engine's configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyConfig {
    /// Lower bound of the limit. By default, this is `1`.
    pub min_concurrency: usize,
    /// Starting limit. By default, this is `4`.
    pub initial_concurrency: usize,
    /// Upper bound of the limit. By default, this is `256`.
    pub max_concurrency: usize,
}

impl Default for StrategyConfig {
    /// The part of [`LoaderConfig::default`](crate::LoaderConfig::default) the strategies see.
    fn default() -> Self {
        crate::LoaderConfig::default().strategy_config()
    }
}

impl StrategyConfig {
    /// Clamps `limit` into `[min_concurrency, max_concurrency]`.
    pub fn clamp(&self, limit: usize) -> usize {
        limit.clamp(self.min_concurrency.max(1), self.max_concurrency.max(1))
    }
}

/// A concurrency-limit algorithm: pure, driven only by samples.
///
/// The engine calls [`on_sample`](ScalingStrategy::on_sample) after every batch call and
/// applies the returned limit (clamped to the configured bounds). When the limit changed, it
/// reads [`reason`](ScalingStrategy::reason) for the tracing event and the metrics history.
pub trait ScalingStrategy: Send + Sync + 'static {
    /// The strategy's name as used in configuration (`"aimd"`, `"adaptive"`, ...).
    fn name(&self) -> &'static str;
    /// Current limit.
    fn limit(&self) -> usize;
    /// Feeds one finished batch call; returns the (possibly unchanged) limit.
    fn on_sample(&mut self, sample: &Sample) -> usize;
    /// Why the limit last changed, e.g. `"latency rising"`, `"error rate 12% > 5%"`.
    fn reason(&self) -> &str;
    /// Starts from a limit learned earlier (restored state), clamped to the bounds.
    fn warm_start(&mut self, limit: usize);
    /// What this replica knows of the other replicas of its fleet sharing the downstream
    /// ([`FleetView`]): how many they are and the permits they hold. A strategy that judges
    /// its experiments by its own goodput can size them against the whole downstream's
    /// concurrency (the adaptive law's free test does). By default, this is ignored.
    fn set_fleet(&mut self, view: FleetView) {
        let _ = view;
    }
}
