//! [`Engine`]: the handle to one downstream's engine, the builder that makes it, its
//! configuration, and what it learned.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Engine`]: the cheap handle, its factories (`loader`, `admit_request`) and accessors |
//! | `builder.rs` | [`EngineBuilder`]: every option, with its default |
//! | `config.rs` | [`LoaderConfig`]: every setting, with its default, as a server deserialises it |
//! | `learned.rs` | [`LearnedState`]: what an engine learned, to restore at the next start |
//!
//! The rest of `Engine`'s methods live with what they do: [`Engine::run`] in
//! `dispatch/run.rs`, [`Engine::snapshot`] in `metrics/snapshot.rs`, [`Engine::set_fleet`] in
//! `limit/fleet.rs`, [`Engine::learned`] and [`Engine::restore`] in `engine/learned.rs`.

mod builder;
mod config;
mod learned;

pub use builder::EngineBuilder;
pub use config::LoaderConfig;
pub use learned::{LearnedGroup, LearnedState};

use std::{
    any::{Any, TypeId},
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::{
    BatchFn, ConfigError, LoadError, Loader, QueryGroup, RequestScope,
    batch::{BatchWindow, GroupSettings, GroupState, Spread},
    dispatch::ConcurrencyLimit,
    limit::{LimitController, ScalingStrategy},
    metrics::LocalLoadProbe,
    shed::LoadShedder,
};

/// The adaptive batching engine for one downstream.
///
/// Every [`Loader`] created from an engine shares its concurrency limit: the limit is the
/// number of batch calls the downstream (say, a database pool) executes at once, whatever
/// query group they belong to. The engine moves it with its scaling strategy after every
/// batch call, sizes each group's batches from what the calls cost, and refuses loads with
/// [`LoadError::Overloaded`](crate::LoadError::Overloaded) rather than letting them queue
/// beyond `queue_capacity` or `max_queue_wait`.
///
/// `Engine` is a cheap handle (an `Arc`): clone it into every request. It must be used inside
/// a tokio runtime (each batch runs on a spawned task).
///
/// ```
/// use std::{collections::HashMap, convert::Infallible};
/// use loader_core::{BatchFn, Engine, QueryGroup};
///
/// struct Double;
///
/// impl BatchFn for Double {
///     type Key = u32;
///     type Value = u32;
///     type Error = Infallible;
///     fn group(&self) -> QueryGroup {
///         QueryGroup::new("double")
///     }
///     async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Infallible> {
///         Ok(keys.iter().map(|k| (*k, k * 2)).collect())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::builder().max_concurrency(16).build()?;
/// let loader = engine.loader(Double);
/// let (a, b) = tokio::join!(loader.load(1), loader.load(2)); // one batch call
/// assert_eq!((a?, b?), (Some(2), Some(4)));
/// assert_eq!(engine.snapshot().total.batches, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

/// What an engine shares between its handles, loaders and batch tasks.
pub(crate) struct EngineInner {
    pub(crate) config: LoaderConfig,
    start: Instant,
    /// The downstream's concurrency limit, and the strategy that moves it (`limit/control.rs`).
    pub(crate) limit: Arc<ConcurrencyLimit>,
    pub(crate) controller: Mutex<LimitController>,
    pub(crate) strategy: &'static str,
    /// Per group: its state, and its batch window per batch function type (`batch/`).
    pub(crate) groups: DashMap<QueryGroup, Arc<GroupState>>,
    windows: DashMap<(QueryGroup, TypeId), Arc<dyn Any + Send + Sync>>,
    next_group: AtomicUsize,
    /// Loads waiting for dispatch, all groups.
    queued: Arc<AtomicUsize>,
    spread: Arc<Spread>,
    /// Every admission and refusal (`shed/`).
    pub(crate) shed: Arc<LoadShedder>,
    /// The local runtime's load, and its last reading (f64 as bits).
    probe: LocalLoadProbe,
    pub(crate) local_load: AtomicU64,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("strategy", &self.inner.strategy)
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder with every option at its default.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::new()
    }

    /// An engine with this configuration and the strategy it names.
    ///
    /// ```
    /// let engine = loader_core::Engine::new(loader_core::LoaderConfig::default()).unwrap();
    /// assert_eq!(engine.limit(), 4);
    /// ```
    pub fn new(config: LoaderConfig) -> Result<Engine, ConfigError> {
        EngineBuilder::new().config(config).build()
    }

    pub(crate) fn from_parts(
        config: LoaderConfig,
        strategy: Box<dyn ScalingStrategy>,
        probe: LocalLoadProbe,
        learned: Option<LearnedState>,
    ) -> Engine {
        let name = strategy.name();
        let controller = LimitController::new(
            strategy,
            config.strategy_config(),
            config.metrics_window / 10,
        );
        let start = Instant::now();
        let limit = Arc::new(ConcurrencyLimit::new(controller.limit()));
        let queued = Arc::new(AtomicUsize::new(0));
        let shed = Arc::new(LoadShedder::new(
            &config,
            start,
            limit.clone(),
            queued.clone(),
        ));
        let engine = Engine {
            inner: Arc::new(EngineInner {
                start,
                spread: Arc::new(Spread::new(limit.clone(), queued.clone())),
                limit,
                controller: Mutex::new(controller),
                strategy: name,
                groups: DashMap::new(),
                windows: DashMap::new(),
                next_group: AtomicUsize::new(0),
                queued,
                shed,
                probe,
                local_load: AtomicU64::new(0f64.to_bits()),
                config,
            }),
        };
        if let Some(state) = learned {
            engine.restore(&state);
        }
        engine
    }

    /// A typed handle for one batch function, with a fresh per-request cache, outside any
    /// request: its loads are judged one by one at admission. For the loaders of a request
    /// admitted at the door, use [`RequestScope::loader`].
    ///
    /// Handles whose `f.group()` is equal share the same pending batches (keys from different
    /// callers and requests coalesce) and statistics. Create one per request.
    pub fn loader<F: BatchFn>(&self, f: F) -> Loader<F> {
        self.loader_shared(Arc::new(f))
    }

    /// Like [`loader`](Self::loader), for a batch function already behind an `Arc`.
    pub fn loader_shared<F: BatchFn>(&self, f: Arc<F>) -> Loader<F> {
        let window = self.inner.window::<F>(f.group());
        Loader::new(self.clone(), f, window, RequestScope::standalone())
    }

    /// Admits a new request at the door, before it does any work, or refuses it with
    /// [`LoadError::Overloaded`]: nothing of it ran, and the client may retry after
    /// `retry_after`. An admitted request is served whole: the loads of the loaders made from
    /// its scope ([`RequestScope::loader`], [`RequestScope::run`]) are never refused, they
    /// wait for capacity (bounded only by the caller's own deadline). The request holds its
    /// place until the scope (every clone, and every loader made from it) is dropped.
    ///
    /// How many requests are in flight at once is the door's law (`shed/door.rs`): it grows while
    /// the door is full and batches barely wait for the concurrency limit, and comes down when
    /// they wait more than two calls, never under the limit itself nor over
    /// [`LoaderConfig::max_requests`]. A request that finds every place taken waits in line
    /// (first come, first served), unless [`LoaderConfig::max_requests_waiting`] already wait
    /// ([`OverloadReason::DoorFull`](crate::OverloadReason::DoorFull)) or its expected wait exceeds
    /// [`LoaderConfig::max_queue_wait`] ([`OverloadReason::ExpectedWait`](crate::OverloadReason::ExpectedWait)); one still waiting
    /// after `max_queue_wait` is refused then ([`OverloadReason::DoorWait`](crate::OverloadReason::DoorWait)). Refusals are counted in
    /// [`Snapshot::requests_refused`](crate::Snapshot::requests_refused).
    ///
    /// Memory is bounded: at most `max_requests` admitted requests, each with the loads its
    /// own work fans out to, and `max_requests_waiting` futures at the door.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let engine = loader_core::Engine::builder().build().unwrap();
    /// let request = engine.admit_request().await.expect("an idle engine admits");
    /// assert_eq!(engine.snapshot().requests_in_flight, 1);
    /// drop(request);
    /// assert_eq!(engine.snapshot().requests_in_flight, 0);
    /// assert_eq!(engine.snapshot().requests_refused, 0);
    /// # }
    /// ```
    pub async fn admit_request(&self) -> Result<RequestScope, LoadError> {
        let place = self.inner.shed.admit_request().await?;
        Ok(RequestScope::at_door(self.clone(), place))
    }

    /// The current concurrency limit.
    pub fn limit(&self) -> usize {
        self.inner.limit.limit()
    }

    /// Batch calls executing now.
    pub fn in_flight(&self) -> usize {
        self.inner.limit.in_flight()
    }

    /// Loads (key registrations) waiting to be dispatched, all groups.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &LoaderConfig {
        &self.inner.config
    }
}

impl EngineInner {
    /// Time since the engine started (tokio's clock).
    pub(crate) fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// The group's state, created on first use.
    pub(crate) fn group(&self, name: QueryGroup) -> Arc<GroupState> {
        if let Some(g) = self.groups.get(&name) {
            return g.clone();
        }
        self.groups
            .entry(name.clone())
            .or_insert_with(|| {
                Arc::new(GroupState::new(
                    name,
                    self.next_group.fetch_add(1, Ordering::Relaxed),
                    GroupSettings {
                        max_batch_size: self.config.max_batch_size,
                        target_response_time: self.config.target_response_time,
                        metrics_window: self.config.metrics_window,
                    },
                    self.queued.clone(),
                    self.spread.clone(),
                    self.now(),
                    self.limit.limit(),
                ))
            })
            .clone()
    }

    /// The batch window of a group for batch functions of type `F`.
    pub(crate) fn window<F: BatchFn>(&self, group: QueryGroup) -> Arc<BatchWindow<F>> {
        let key = (group, TypeId::of::<F>());
        let any = match self.windows.get(&key) {
            Some(w) => w.clone(),
            None => {
                let state = self.group(key.0.clone());
                self.windows
                    .entry(key)
                    .or_insert_with(|| Arc::new(BatchWindow::<F>::new(state)))
                    .clone()
            }
        };
        any.downcast::<BatchWindow<F>>()
            .unwrap_or_else(|_| unreachable!("windows are keyed by their batch function's type"))
    }

    /// Reads the local runtime's load (`0.0..=1.0`) and remembers it for the snapshot.
    pub(crate) fn local_load(&self) -> f64 {
        let load = (self.probe)().clamp(0.0, 1.0);
        self.local_load.store(load.to_bits(), Ordering::Relaxed);
        load
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ids;

    impl BatchFn for Ids {
        type Key = u32;
        type Value = u32;
        type Error = std::convert::Infallible;
        fn group(&self) -> QueryGroup {
            QueryGroup::new("ids")
        }
        async fn load(
            &self,
            keys: &[u32],
        ) -> Result<std::collections::HashMap<u32, u32>, Self::Error> {
            Ok(keys.iter().map(|k| (*k, *k)).collect())
        }
    }

    #[test]
    fn engine_loader_and_their_futures_are_send_and_sync() {
        fn bounds<T: Send + Sync + Clone + 'static>() {}
        fn send<T: Send>(_: &T) {}
        bounds::<Engine>();
        bounds::<Loader<Ids>>();
        bounds::<crate::Snapshot>();
        bounds::<LearnedState>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let engine = Engine::builder().build().unwrap();
        let loader = engine.loader(Ids);
        // Resolvers (async-graphql, axum) need `Send` futures.
        send(&loader.load(1));
        send(&loader.load_many([1, 2]));
    }

    #[tokio::test]
    async fn loaders_of_one_group_share_its_window_and_state() {
        let engine = Engine::builder().build().unwrap();
        let a = engine.loader(Ids);
        let b = engine.loader_shared(Arc::new(Ids));
        assert!(Arc::ptr_eq(&a.window(), &b.window()));
        assert_eq!(a.group().as_str(), "ids");
        assert_eq!(engine.inner.groups.len(), 1);
    }
}
