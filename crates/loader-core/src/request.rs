//! [`RequestScope`]: the loads of one request (all its loaders), admitted as a unit.
//!
//! A GraphQL request resolves level by level: its first loads open the way for the next
//! ones. If back-pressure judged every load on its own, a request admitted at level one could
//! be refused at level three, failing the whole request after the database already did its
//! first levels: under overload the engine would spend its capacity on requests it then
//! fails, and goodput collapses. So admission judges *requests*: the first load of a scope is
//! new work and must pass every rule; once one load got in, the later loads of the same scope
//! are continuation and skip the expected-wait rule (`max_queue_wait`). The hard bounds still
//! hold for them: the queue's capacity (memory), the caller's deadline and, while the engine
//! sheds a slowdown, the latency budget of a request admitted at the door (`slowdown.rs`).

use std::{
    sync::{
        Arc, OnceLock, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::{
    activity::{Activity, Tracked},
    engine::EngineInner,
};

/// The loads of one request, admitted as a unit: once one load of the scope was admitted,
/// later loads of any loader in the scope are not refused for the expected wait (only for a
/// full queue, a passed deadline or, during a slowdown, a spent latency budget), so a request
/// the engine started is not failed halfway.
///
/// Create one per incoming request with [`Engine::request`](crate::Engine::request) and attach
/// the request's loaders with [`Loader::in_request`](crate::Loader::in_request). The loads of
/// a loader without a scope are judged one by one.
///
/// ```
/// use std::{collections::HashMap, convert::Infallible};
/// use loader_core::{BatchFn, Engine, QueryGroup};
///
/// struct Double;
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
/// # async fn main() -> Result<(), loader_core::LoadError> {
/// let engine = Engine::builder().build().unwrap();
/// let request = engine.request();
/// let doubles = engine.loader(Double).in_request(&request);
/// assert!(!request.admitted());
/// assert_eq!(doubles.load(21).await?, Some(42));
/// assert!(request.admitted()); // later loads of this request are continuation
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestScope {
    pub(crate) state: Arc<ScopeState>,
}

#[derive(Debug)]
pub(crate) struct ScopeState {
    /// Distinguishes requests in the batches they share (`spread.rs`).
    pub(crate) id: u64,
    admitted: AtomicBool,
    /// False for the implicit scope of a loader outside any request: never continuation.
    unit: bool,
    /// For a request admitted at the door: the engine and when it was admitted. Its end
    /// (the last clone dropped) is a completion for the slowdown guard.
    door: Option<(Weak<EngineInner>, Duration)>,
    /// Set once the request's future is [tracked](RequestScope::track) (`activity.rs`).
    pub(crate) tracked: OnceLock<Arc<Activity>>,
}

impl Drop for ScopeState {
    fn drop(&mut self) {
        let Some((engine, admitted_at)) = self.door.take() else {
            return;
        };
        let Some(engine) = engine.upgrade() else {
            return;
        };
        engine.request_ended(admitted_at);
    }
}

/// Source of scope ids.
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(0);

impl RequestScope {
    /// A request's scope: its loads are admitted as a unit.
    pub(crate) fn new() -> Self {
        Self::with_unit(true)
    }

    /// The implicit scope of a loader outside any request: its loads are judged one by one.
    pub(crate) fn standalone() -> Self {
        Self::with_unit(false)
    }

    /// A request admitted at the door of `engine`: counted in flight until its scope ends.
    pub(crate) fn at_door(engine: &Arc<EngineInner>) -> Self {
        engine.requests_in_flight.fetch_add(1, Ordering::Relaxed);
        Self::build(true, Some((Arc::downgrade(engine), engine.now())))
    }

    fn with_unit(unit: bool) -> Self {
        Self::build(unit, None)
    }

    fn build(unit: bool, door: Option<(Weak<EngineInner>, Duration)>) -> Self {
        Self {
            state: Arc::new(ScopeState {
                id: NEXT_SCOPE.fetch_add(1, Ordering::Relaxed),
                admitted: AtomicBool::new(false),
                unit,
                door,
                tracked: OnceLock::new(),
            }),
        }
    }

    /// Whether a load of this request was admitted (its next loads are continuation).
    pub fn admitted(&self) -> bool {
        self.state.admitted()
    }

    /// Wraps the request's future (its whole execution) so that the engine sees when the
    /// request has registered every key it can: a batch of this request's keys alone then
    /// closes as soon as the request is parked (all its branches wait for loads), instead
    /// of after a quiet time that a preempted thread or a slow build can outlast. One
    /// request's level thus runs one statement on any database. Batches shared with other
    /// requests keep the time-based window.
    ///
    /// ```
    /// # use std::{collections::HashMap, convert::Infallible};
    /// # use loader_core::{BatchFn, Engine, QueryGroup};
    /// # struct Double;
    /// # impl BatchFn for Double {
    /// #     type Key = u32;
    /// #     type Value = u32;
    /// #     type Error = Infallible;
    /// #     fn group(&self) -> QueryGroup { QueryGroup::new("double") }
    /// #     async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Infallible> {
    /// #         Ok(keys.iter().map(|k| (*k, k * 2)).collect())
    /// #     }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), loader_core::LoadError> {
    /// let engine = Engine::builder().build().unwrap();
    /// let request = engine.request();
    /// let doubles = engine.loader(Double).in_request(&request);
    /// let (a, b) = request.track(async { tokio::join!(doubles.load(1), doubles.load(2)) }).await;
    /// assert_eq!((a?, b?), (Some(2), Some(4)));
    /// assert_eq!(engine.snapshot().total.batches, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn track<F: std::future::Future>(&self, future: F) -> Tracked<F> {
        let activity = self.state.tracked.get_or_init(Default::default).clone();
        Tracked::new(future, activity)
    }
}

impl ScopeState {
    /// Who its loads come from, for the batches they join.
    pub(crate) fn from(&self) -> crate::window::From {
        crate::window::From {
            request: self.id,
            scoped: self.unit,
        }
    }

    pub(crate) fn admitted(&self) -> bool {
        self.admitted.load(Ordering::Acquire)
    }

    /// When a request admitted at the door was admitted (engine time); `None` for other
    /// scopes.
    pub(crate) fn admitted_at(&self) -> Option<Duration> {
        self.door.as_ref().map(|(_, at)| *at)
    }

    pub(crate) fn mark_admitted(&self) {
        if self.unit && !self.admitted() {
            self.admitted.store(true, Ordering::Release);
        }
    }
}
