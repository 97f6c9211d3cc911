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

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicU64, Ordering},
};

use crate::{
    BatchFn, Engine, Loader, QueryGroup,
    dispatch::Run,
    load::{Activity, Tracked},
    shed::DoorPlace,
};

/// A request admitted at the engine's door: the loads of loaders created in it are never
/// refused for load (`Overloaded`), only answered, failed by their batch, or timed out at the
/// caller's deadline. Get one from [`Engine::admit_request`](crate::Engine::admit_request) and
/// make the request's loaders from it ([`RequestScope::loader`]) and its other calls
/// ([`RequestScope::run`]); the place at the door is given back when the last clone of the
/// scope (and of the loaders made from it) is dropped.
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
/// let doubles = request.loader(Double);
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
    /// For a request admitted at the door: its engine, and its place there. `None` for the
    /// implicit scope of a loader outside any request, whose loads are judged one by one.
    door: Option<(Engine, DoorPlace)>,
    /// Set once the request's future is [tracked](RequestScope::track) (`load/activity.rs`).
    pub(crate) tracked: OnceLock<Arc<Activity>>,
}

/// Source of scope ids.
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(0);

impl RequestScope {
    /// The implicit scope of a loader outside any request: its loads are judged one by one.
    pub(crate) fn standalone() -> Self {
        Self::build(None)
    }

    /// A request of `engine` admitted at its door, holding `place` until it ends.
    pub(crate) fn at_door(engine: Engine, place: DoorPlace) -> Self {
        Self::build(Some((engine, place)))
    }

    fn build(door: Option<(Engine, DoorPlace)>) -> Self {
        Self {
            state: Arc::new(ScopeState {
                id: NEXT_SCOPE.fetch_add(1, Ordering::Relaxed),
                door,
                tracked: OnceLock::new(),
            }),
        }
    }

    /// A typed handle for one batch function in this request, with a fresh per-request
    /// cache: its loads are never refused for load (see [`Engine::loader`] for one outside
    /// any request).
    pub fn loader<F: BatchFn>(&self, f: F) -> Loader<F> {
        self.loader_shared(Arc::new(f))
    }

    /// Like [`loader`](Self::loader), for a batch function already behind an `Arc`.
    pub fn loader_shared<F: BatchFn>(&self, f: Arc<F>) -> Loader<F> {
        let engine = self.engine();
        let window = engine.inner.window::<F>(f.group());
        Loader::new(engine.clone(), f, window, self.clone())
    }

    /// Runs `work`, one call of this request that is not a batch of keys, under the engine's
    /// limit like [`Engine::run`], except that it is never refused for load: it waits for
    /// its permit.
    ///
    /// ```
    /// use loader_core::{Engine, QueryGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::builder().build()?;
    /// let request = engine.admit_request().await?;
    /// let page = request
    ///     .run(QueryGroup::new("users.page"), async { Ok::<_, std::io::Error>(vec![1, 2]) })
    ///     .await??;
    /// assert_eq!(page, [1, 2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<W, T, E>(&self, group: QueryGroup, work: W) -> Run<'_, W>
    where
        W: std::future::Future<Output = Result<T, E>>,
    {
        Run::new(self.engine(), group, work, Some(self.clone()))
    }

    /// The engine this request was admitted by.
    pub fn engine(&self) -> &Engine {
        match &self.state.door {
            Some((engine, _)) => engine,
            None => unreachable!("a scope made public is admitted at a door"),
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
    /// let doubles = request.loader(Double);
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
