//! [`Engine`]: the handle to one downstream's engine, the builder that makes it, its
//! configuration, and what it learned.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Engine`]: the cheap handle, its factories (`loader`, `admit_request`, `run`) and accessors |
//! | `builder.rs` | [`EngineBuilder`]: every option, with its default |
//! | `config.rs` | [`LoaderConfig`]: every setting, with its default, as a server deserialises it |
//! | `learned.rs` | [`LearnedState`]: what an engine learned, to restore at the next start |

mod builder;
mod config;
mod learned;

pub use builder::EngineBuilder;
pub use config::LoaderConfig;
pub use learned::{LEARNED_STATE_VERSION, LearnedGroup, LearnedState};

use std::{
    any::{Any, TypeId},
    collections::BTreeMap,
    fmt,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::{
    BatchFn, ConfigError, LoadError, Loader, OverloadReason, QueryGroup, RequestScope,
    batch::BatchWindow,
    batch::Spread,
    batch::{GroupSettings, GroupState},
    dispatch::ConcurrencyLimit,
    limit::{FleetView, Sample},
    limit::{LimitChange, LimitController},
    metrics::LocalLoadProbe,
    metrics::{Snapshot, WindowSummary},
    shed::DoorLaw,
    shed::Pressure,
    shed::{DEEP_WAVES, OverloadMode, QueueReading},
};

/// Requests admitted at once before the door's law has measured anything, per permit of the
/// initial concurrency limit.
const DOOR_INITIAL_PER_PERMIT: usize = 4;

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

pub(crate) struct EngineInner {
    pub(crate) config: LoaderConfig,
    start: Instant,
    pub(crate) limit: Arc<ConcurrencyLimit>,
    controller: Mutex<LimitController>,
    groups: DashMap<QueryGroup, Arc<GroupState>>,
    windows: DashMap<(QueryGroup, TypeId), Arc<dyn Any + Send + Sync>>,
    queued: Arc<AtomicUsize>,
    spread: Arc<Spread>,
    next_group: AtomicUsize,
    /// Recent mean batch call duration (f64 seconds as bits), for admission.
    mean_rtt: AtomicU64,
    probe: LocalLoadProbe,
    local_load: AtomicU64,
    strategy: &'static str,
    /// Requests refused by [`Engine::admit_request`].
    requests_refused: AtomicU64,
    /// The door: places for requests admitted by [`Engine::admit_request`], one permit each,
    /// held until the request ends; its limit is the door law's cap.
    requests: Arc<ConcurrencyLimit>,
    /// How many requests the door admits at once (`shed/door.rs`).
    door: Mutex<DoorLaw>,
    /// Requests admitted by [`Engine::admit_request`] that have ended, for the strategy's
    /// request rate ([`Sample::requests_ended`](crate::limit::Sample::requests_ended)).
    pub(crate) requests_ended: AtomicU64,
    /// Tells a queue that keeps growing from a long one (`shed/overload.rs`); `overloaded` mirrors
    /// whether it is active, for admission's fast path.
    overload: Mutex<OverloadMode>,
    overloaded: AtomicBool,
    /// New work admitted and answered, for `shed/overload.rs`.
    pub(crate) new_work: NewWork,
}

/// Counts of new work (standalone loads) since the start: what a closed loop cannot make
/// arrive faster than it is answered.
#[derive(Debug, Default)]
pub(crate) struct NewWork {
    arrived: AtomicU64,
    answered: AtomicU64,
    answer_events: AtomicU64,
}

impl NewWork {
    pub(crate) fn arrived(&self, n: usize) {
        self.arrived.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `n` standalone loads answered at once (by one batch).
    pub(crate) fn answered(&self, n: usize) {
        if n > 0 {
            self.answered.fetch_add(n as u64, Ordering::Relaxed);
            self.answer_events.fetch_add(1, Ordering::Relaxed);
        }
    }
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
        strategy: Box<dyn crate::limit::ScalingStrategy>,
        probe: LocalLoadProbe,
        learned: Option<LearnedState>,
    ) -> Engine {
        let name = strategy.name();
        let controller = LimitController::new(
            strategy,
            config.strategy_config(),
            config.metrics_window / 10,
        );
        let limit = Arc::new(ConcurrencyLimit::new(controller.limit()));
        let door = DoorLaw::new(
            DOOR_INITIAL_PER_PERMIT * controller.limit(),
            config.max_requests,
        );
        let queued = Arc::new(AtomicUsize::new(0));
        let engine = Engine {
            inner: Arc::new(EngineInner {
                start: Instant::now(),
                spread: Arc::new(Spread::new(limit.clone(), queued.clone())),
                limit,
                controller: Mutex::new(controller),
                groups: DashMap::new(),
                windows: DashMap::new(),
                queued,
                next_group: AtomicUsize::new(0),
                mean_rtt: AtomicU64::new(0f64.to_bits()),
                probe,
                local_load: AtomicU64::new(0f64.to_bits()),
                strategy: name,
                requests_refused: AtomicU64::new(0),
                requests: Arc::new(ConcurrencyLimit::new(door.cap())),
                door: Mutex::new(door),
                requests_ended: AtomicU64::new(0),
                overload: Mutex::new(OverloadMode::default()),
                overloaded: AtomicBool::new(false),
                new_work: NewWork::default(),
                config,
            }),
        };
        if let Some(state) = learned {
            engine.restore(&state);
        }
        engine
    }

    /// A typed handle for one batch function, with a fresh per-request cache.
    ///
    /// Handles whose `f.group()` is equal share the same pending batches (keys from different
    /// callers and requests coalesce) and statistics. Create one per request.
    pub fn loader<F: BatchFn>(&self, f: F) -> Loader<F> {
        self.loader_shared(Arc::new(f))
    }

    /// Like [`loader`](Self::loader), for a batch function already behind an `Arc`.
    pub fn loader_shared<F: BatchFn>(&self, f: Arc<F>) -> Loader<F> {
        let window = self.inner.window::<F>(f.group());
        Loader::new(self.clone(), f, window)
    }

    /// Admits a new request at the door, before it does any work, or refuses it with
    /// [`LoadError::Overloaded`]: nothing of it ran, and the client may retry after
    /// `retry_after`. An admitted request is served whole: the loads of loaders attached to
    /// its scope ([`Loader::in_request`]) are never refused, they wait for capacity (bounded
    /// only by the caller's own deadline). The request holds its place until the scope (every
    /// clone) is dropped.
    ///
    /// How many requests are in flight at once is the door's law (`shed/door.rs`): it grows while
    /// the door is full and batches barely wait for the concurrency limit, and comes down when
    /// they wait more than two calls, never under the limit itself nor over
    /// [`LoaderConfig::max_requests`]. A request that finds every place taken waits in line
    /// (first come, first served), unless [`LoaderConfig::max_requests_waiting`] already wait
    /// (reason `"door full"`) or its expected wait exceeds [`LoaderConfig::max_queue_wait`]
    /// (reason `"expected wait"`); one still waiting after `max_queue_wait` is refused then
    /// (reason `"door wait"`). Refusals are counted in [`Snapshot::requests_refused`].
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
        let inner = &self.inner;
        let door = &inner.requests;
        let free = door.in_flight() < door.limit() && door.waiting() == 0;
        if !free {
            let position = door.waiting() + 1;
            let refusal = {
                let mut law = inner.door.lock();
                law.reached();
                let wait = law.expected_wait(position);
                let retry_after = wait.unwrap_or(law.latency()).max(Duration::from_millis(1));
                if position > inner.config.max_requests_waiting {
                    Some((OverloadReason::DoorFull, retry_after))
                } else if wait.is_some_and(|w| w > inner.config.max_queue_wait) {
                    Some((OverloadReason::ExpectedWait, retry_after))
                } else {
                    None
                }
            };
            if let Some((reason, retry_after)) = refusal {
                return Err(inner.refuse_request(reason, retry_after));
            }
        }
        match tokio::time::timeout(inner.config.max_queue_wait, door.acquire(0)).await {
            Ok(permit) => Ok(RequestScope::at_door(inner, permit)),
            Err(_) => {
                let retry_after = inner.door.lock().latency().max(Duration::from_millis(1));
                Err(inner.refuse_request(OverloadReason::DoorWait, retry_after))
            }
        }
    }

    /// Everything the engine measured over the metrics window.
    pub fn snapshot(&self) -> Snapshot {
        let inner = &self.inner;
        let now = inner.now();
        let mut total = WindowSummary::empty();
        let mut groups = BTreeMap::new();
        let mut target = 0;
        for entry in inner.groups.iter() {
            let (summary, snap) = entry.value().snapshot(now);
            total.merge(&summary);
            target = target.max(snap.target_batch_size);
            groups.insert(entry.key().as_str().to_string(), snap);
        }
        let mut total = total.to_snapshot();
        total.in_flight = self.in_flight();
        total.queued = self.queued();
        total.target_batch_size = target;
        let (strategy, limit_history, fleet_others) = {
            let c = inner.controller.lock();
            (c.name().to_string(), c.history(), c.fleet_others())
        };
        Snapshot {
            strategy,
            limit: self.limit(),
            in_flight: self.in_flight(),
            queued: self.queued(),
            local_load: f64::from_bits(inner.local_load.load(Ordering::Relaxed)),
            window_s: inner.config.metrics_window.as_secs_f64(),
            total,
            groups,
            limit_history,
            requests_refused: inner.requests_refused.load(Ordering::Relaxed),
            requests_in_flight: inner.requests.in_flight(),
            requests_waiting: inner.requests.waiting(),
            request_cap: inner.requests.limit(),
            overloaded: inner.overloaded(),
            fleet_others,
            overloads: inner.overload.lock().episodes(),
        }
    }

    /// What this replica knows of the other replicas of its fleet on the same downstream
    /// ([`FleetView`]): how many they are, the permits they hold, and its rank in the turns
    /// of the fleet's shared clock. A server's replicas learn each other's limits through a
    /// shared table (the server's `fleet.rs`) and call this every heartbeat; the engine stamps
    /// [`FleetView::at`] with its own time and hands the view to its strategy.
    ///
    /// The adaptive strategy uses it once: the first time a cold engine (no warm start,
    /// nothing learned yet) hears of others, it takes its share of `initial_concurrency`, so
    /// the fleet starts where one engine would, in total. After that each replica judges its
    /// probes by its own goodput: past the knee a step up slows every replica's calls, so it
    /// neither pays nor is free, and independent replicas settle near the capacity
    /// (`limit/adaptive/tests.rs`).
    /// [`FleetView::default`] is a replica alone.
    ///
    /// ```
    /// use std::time::{SystemTime, UNIX_EPOCH};
    /// use loader_core::limit::FleetView;
    ///
    /// let engine = loader_core::Engine::builder().build().unwrap();
    /// let clock = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    /// engine.set_fleet(FleetView {
    ///     replicas: 2,
    ///     others_permits: 6,
    ///     rank: 1,
    ///     clock: Some(clock),
    ///     ..FleetView::default()
    /// });
    /// assert_eq!(engine.snapshot().fleet_others, 6);
    /// // Cold, one of three replicas: its share of the initial limit of 4.
    /// assert_eq!(engine.limit(), 1);
    /// ```
    pub fn set_fleet(&self, view: FleetView) {
        let inner = &self.inner;
        let now = inner.now();
        let view = FleetView { at: now, ..view };
        let change = inner.controller.lock().set_fleet(now, view);
        if let Some(change) = change {
            inner.apply_limit_change(&change);
        }
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

    /// What the engine learned so far: per-group costs and the best limit.
    pub fn learned(&self) -> LearnedState {
        let best_limit = self.inner.controller.lock().best_limit();
        let groups = self
            .inner
            .groups
            .iter()
            .map(|e| (e.key().as_str().to_string(), e.value().learned()))
            .collect();
        LearnedState {
            version: LEARNED_STATE_VERSION,
            strategy: self.inner.strategy.to_string(),
            best_limit,
            groups,
        }
    }

    /// Adopts learned state: the strategy warm-starts at the best limit, and each group sizes
    /// its batches from its learned costs at once.
    pub fn restore(&self, state: &LearnedState) {
        let inner = &self.inner;
        for (name, learned) in &state.groups {
            inner.group(QueryGroup::new(name.as_str())).restore(learned);
        }
        if let Some(best) = state.best_limit {
            let change = inner.controller.lock().warm_start(inner.now(), best);
            if let Some(change) = change {
                inner.apply_limit_change(&change);
            }
        }
    }

    /// Saves [`learned`](Self::learned) as JSON.
    pub fn save_learned(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        self.learned().save(path)
    }

    /// Reads learned state saved by [`save_learned`](Self::save_learned).
    pub fn load_learned(path: impl AsRef<Path>) -> Result<LearnedState, ConfigError> {
        LearnedState::load(path)
    }
}

impl EngineInner {
    /// Time since the engine started (tokio's clock).
    pub(crate) fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// Resizes the limit to a change made outside the strategy's samples (a warm start, a
    /// fleet's view) and traces it.
    fn apply_limit_change(&self, change: &LimitChange) {
        self.limit.set_limit(change.new);
        tracing::info!(
            target: "loader_core::limit",
            old = change.old,
            new = change.new,
            reason = %change.reason,
            "concurrency limit changed"
        );
    }

    /// A request admitted at the door at `admitted_at` (engine time) ended now: the door's
    /// law learns its latency, and the strategy counts it.
    pub(crate) fn request_ended(&self, admitted_at: Duration) {
        self.requests_ended.fetch_add(1, Ordering::Relaxed);
        let now = self.now();
        let mut law = self.door.lock();
        law.request_ended(now.saturating_sub(admitted_at));
        self.door_tick(&mut law, now);
    }

    /// A batch waited `wait` for its permit and ran for `rtt`: what the door's law measures.
    pub(crate) fn observe_batch_wait(&self, wait: Duration, rtt: Duration) {
        let mut law = self.door.lock();
        law.observe_batch(wait, rtt);
        self.door_tick(&mut law, self.now());
    }

    /// Closes the door law's interval if it is over and applies a new cap.
    fn door_tick(&self, law: &mut DoorLaw, now: Duration) {
        let Some(change) = law.tick(now, self.limit.limit()) else {
            return;
        };
        self.requests.set_limit(change.new);
        tracing::debug!(
            target: "loader_core::door",
            old = change.old,
            new = change.new,
            waves = change.waves,
            "request cap changed"
        );
    }

    /// Counts and returns the refusal of a new request at the door.
    fn refuse_request(&self, reason: OverloadReason, retry_after: Duration) -> LoadError {
        self.requests_refused.fetch_add(1, Ordering::Relaxed);
        LoadError::Overloaded {
            retry_after,
            reason,
        }
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

    /// Admission control for `loads` new loads.
    pub(crate) fn pressure(&self, deadline: Option<Instant>) -> Pressure {
        Pressure {
            queued: self.queued.load(Ordering::Relaxed),
            capacity: self.config.queue_capacity,
            waiting_batches: self.limit.waiting(),
            in_flight: self.limit.in_flight(),
            limit: self.limit.limit(),
            mean_rtt: Duration::from_secs_f64(f64::from_bits(
                self.mean_rtt.load(Ordering::Relaxed),
            )),
            max_wait: self.config.max_queue_wait,
            overloaded: self.overloaded.load(Ordering::Relaxed),
            deadline_in: deadline.map(|d| d.saturating_duration_since(Instant::now())),
        }
    }

    /// Feeds the strategy; resizes the limit and traces the change. Returns the new limit.
    pub(crate) fn on_sample(&self, sample: &Sample, keys: usize, group: &GroupState) -> usize {
        let (change, limit) = {
            let mut c = self.controller.lock();
            let change = c.on_sample(sample, keys);
            (change, c.limit())
        };
        if let Some(change) = change {
            self.limit.set_limit(change.new);
            tracing::info!(
                target: "loader_core::limit",
                old = change.old,
                new = change.new,
                reason = %change.reason,
                group = %group.name,
                rtt_ms = sample.rtt.as_secs_f64() * 1e3,
                in_flight = sample.in_flight,
                queued = sample.queued,
                local_load = sample.local_load,
                "concurrency limit changed"
            );
        }
        limit
    }

    /// Feeds the overload detector with the queue as a batch is dispatched.
    pub(crate) fn observe_queue(&self) {
        let limit = self.limit.limit().max(1) as f64;
        let deep = self.limit.waiting() as f64 > DEEP_WAVES * limit;
        let reading = QueueReading {
            queued: self.queued.load(Ordering::Relaxed),
            deep,
            arrived: self.new_work.arrived.load(Ordering::Relaxed),
            answered: self.new_work.answered.load(Ordering::Relaxed),
            answer_events: self.new_work.answer_events.load(Ordering::Relaxed),
        };
        let mut mode = self.overload.lock();
        mode.observe(self.now(), reading);
        self.overloaded.store(mode.active(), Ordering::Relaxed);
    }

    /// Whether new work is admitted only when it can start at once (`shed/overload.rs`).
    pub(crate) fn overloaded(&self) -> bool {
        self.overloaded.load(Ordering::Relaxed)
    }

    /// During an overload, a batch of standalone loads that waited longer than a call for its
    /// permit is answered `Overloaded` instead of run (`shed/overload.rs`).
    pub(crate) fn shed_at_dispatch(&self, waited: Duration, sheddable: bool) -> Option<LoadError> {
        if !sheddable || !self.overloaded() {
            return None;
        }
        let rtt = Duration::from_secs_f64(f64::from_bits(self.mean_rtt.load(Ordering::Relaxed)));
        if waited <= rtt / 2 {
            return None;
        }
        // Not a refusal that keeps the overload on: only new arrivals refused at the door
        // tell that they keep coming.
        Some(LoadError::Overloaded {
            retry_after: crate::shed::RETRY_AFTER,
            reason: OverloadReason::Overload,
        })
    }

    /// `loads` standalone loads were refused: the overload detector counts them as demand
    /// that was not served.
    pub(crate) fn note_refusal(&self, error: &LoadError, loads: usize) {
        if !matches!(error, LoadError::Overloaded { .. }) {
            return;
        }
        self.overload.lock().refused(self.now(), loads);
    }

    pub(crate) fn observe_rtt(&self, rtt: Duration) {
        let old = f64::from_bits(self.mean_rtt.load(Ordering::Relaxed));
        let rtt = rtt.as_secs_f64();
        let new = if old == 0.0 {
            rtt
        } else {
            old * 0.8 + rtt * 0.2
        };
        self.mean_rtt.store(new.to_bits(), Ordering::Relaxed);
    }

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
