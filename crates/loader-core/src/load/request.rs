//! [`RequestScope`]: one request admitted at the engine's door; its loads are served whole.
//!
//! A GraphQL request resolves level by level, and one request fans out into thousands of
//! loads. If back-pressure judged every load on its own, a request admitted at level one
//! could be refused at level three: the client would get data with holes in it, after the
//! database already did the first levels. So the engine refuses *requests*, at the door
//! ([`Engine::admit_request`](crate::Engine::admit_request), `shed/door.rs`), before they run, and
//! never a load of a request it admitted: those wait for capacity, bounded only by the
//! caller's own deadline. A request holds its place at the door until its scope (every
//! clone) is dropped.

use std::{
    sync::{
        Arc, OnceLock, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::{
    dispatch::Permit,
    engine::EngineInner,
    load::{Activity, Tracked},
};

/// A request admitted at the engine's door: the loads of loaders created in it are never
/// refused for load (`Overloaded`), only answered, failed by their batch, or timed out at the
/// caller's deadline. Get one from [`Engine::admit_request`](crate::Engine::admit_request) and
/// attach the request's loaders with [`Loader::in_request`](crate::Loader::in_request); the
/// place at the door is given back when the last clone of the scope is dropped.
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
/// let request = engine.admit_request().await?; // or Overloaded: nothing ran, retry later
/// let doubles = engine.loader(Double).in_request(&request);
/// assert_eq!(doubles.load(21).await?, Some(42));
/// assert_eq!(engine.snapshot().requests_in_flight, 1);
/// drop((doubles, request));
/// assert_eq!(engine.snapshot().requests_in_flight, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestScope {
    pub(crate) state: Arc<ScopeState>,
}

#[derive(Debug)]
pub(crate) struct ScopeState {
    /// Distinguishes requests in the batches they share (`batch/spread.rs`).
    pub(crate) id: u64,
    /// For a request admitted at the door: its place there. `None` for the implicit scope of
    /// a loader outside any request, whose loads are judged one by one.
    door: Option<Place>,
    /// Set once the request's future is [tracked](RequestScope::track) (`load/activity.rs`).
    pub(crate) tracked: OnceLock<Arc<Activity>>,
}

/// A request's place at the door.
#[derive(Debug)]
struct Place {
    engine: Weak<EngineInner>,
    /// Engine time of admission.
    admitted_at: Duration,
    /// Released (to the next request waiting) when the scope ends.
    permit: Option<Permit>,
}

impl Drop for ScopeState {
    fn drop(&mut self) {
        let Some(mut place) = self.door.take() else {
            return;
        };
        if let Some(engine) = place.engine.upgrade() {
            engine.request_ended(place.admitted_at);
        }
        drop(place.permit.take());
    }
}

/// Source of scope ids.
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(0);

impl RequestScope {
    /// The implicit scope of a loader outside any request: its loads are judged one by one.
    pub(crate) fn standalone() -> Self {
        Self::build(None)
    }

    /// A request admitted at the door of `engine`, holding `permit` until it ends.
    pub(crate) fn at_door(engine: &Arc<EngineInner>, permit: Permit) -> Self {
        Self::build(Some(Place {
            engine: Arc::downgrade(engine),
            admitted_at: engine.now(),
            permit: Some(permit),
        }))
    }

    fn build(door: Option<Place>) -> Self {
        Self {
            state: Arc::new(ScopeState {
                id: NEXT_SCOPE.fetch_add(1, Ordering::Relaxed),
                door,
                tracked: OnceLock::new(),
            }),
        }
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
    /// let request = engine.admit_request().await?;
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
    /// Who its loads come from, for the batches they share.
    pub(crate) fn from(&self) -> crate::batch::From {
        crate::batch::From {
            request: self.id,
            scoped: self.admitted(),
        }
    }

    /// Whether this is a request admitted at the door (its loads are never refused).
    pub(crate) fn admitted(&self) -> bool {
        self.door.is_some()
    }
}
