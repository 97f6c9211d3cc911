//! `Loader`: the typed handle a request uses to load keys through the engine.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::Arc,
};

use tokio::time::Instant;

use crate::{
    BatchFn, Engine, LoadError, QueryGroup,
    batch::GroupState,
    batch::Waiter,
    batch::{BatchWindow, Joined},
    dispatch::run_batch,
    load::RequestCache,
    load::RequestScope,
};

/// A typed handle for one batch function: `load`, `load_many`, and a per-request cache.
///
/// Keys asked for by any loader of the same query group (this request's or another's) within
/// the batch window are deduplicated and loaded by one call. A loader is cheap to clone;
/// clones share the per-request cache. Create a new one per request, from the request's
/// scope ([`RequestScope::loader`]; [`Engine::loader`] outside any request), so the cache
/// never serves stale data across requests.
///
/// ```
/// use std::{collections::HashMap, convert::Infallible};
/// use loader_core::{BatchFn, Engine, QueryGroup};
///
/// struct Names;
///
/// impl BatchFn for Names {
///     type Key = u32;
///     type Value = String;
///     type Error = Infallible;
///     fn group(&self) -> QueryGroup {
///         QueryGroup::new("users.name")
///     }
///     async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, String>, Infallible> {
///         Ok(keys.iter().filter(|k| **k < 100).map(|k| (*k, format!("user {k}"))).collect())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), loader_core::LoadError> {
/// let engine = Engine::builder().build().unwrap();
/// let users = engine.loader(Names);
/// assert_eq!(users.load(7).await?, Some("user 7".to_string()));
/// assert_eq!(users.load(500).await?, None); // missing keys are None, not errors
/// let many = users.load_many([1, 2, 500]).await?;
/// assert_eq!(many.len(), 2);
/// users.prime(42, "primed".into());
/// assert_eq!(users.load(42).await?, Some("primed".to_string()));
/// # Ok(())
/// # }
/// ```
pub struct Loader<F: BatchFn> {
    engine: Engine,
    f: Arc<F>,
    window: Arc<BatchWindow<F>>,
    cache: Option<Arc<RequestCache<F::Key, F::Value>>>,
    deadline: Option<Instant>,
    /// The request this loader serves: a standalone scope, judged load by load, unless it was
    /// made by [`RequestScope::loader`] for a request admitted at the door, whose loads are
    /// never refused (`load/request.rs`). Only batches that mix requests are spread over the
    /// permits (`batch/spread.rs`).
    scope: RequestScope,
}

impl<F: BatchFn> Clone for Loader<F> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            f: self.f.clone(),
            window: self.window.clone(),
            cache: self.cache.clone(),
            deadline: self.deadline,
            scope: self.scope.clone(),
        }
    }
}

impl<F: BatchFn> fmt::Debug for Loader<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("group", self.group())
            .field("cache", &self.cache.is_some())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<F: BatchFn> Loader<F> {
    pub(crate) fn new(
        engine: Engine,
        f: Arc<F>,
        window: Arc<BatchWindow<F>>,
        scope: RequestScope,
    ) -> Self {
        Self {
            engine,
            f,
            window,
            cache: Some(Arc::new(RequestCache::new())),
            deadline: None,
            scope,
        }
    }

    /// Loads one key: its value, `None` when the batch function did not return it, or the
    /// error of its batch (or of back-pressure).
    pub async fn load(&self, key: F::Key) -> Result<Option<F::Value>, LoadError> {
        if let Some(cache) = &self.cache
            && let Some(hit) = cache.get(&key)
        {
            return Ok(hit);
        }
        self.admit(1)?;
        let joined =
            self.window
                .join_one(&key, tracing::Span::current().id(), self.scope.state.from());
        self.start(&joined);
        let waiter = Waiter::new(joined.batch, joined.count);
        let answer = self.until_deadline(waiter.batch.wait()).await?.get(&key);
        drop(waiter);
        if let (Some(cache), Ok(value)) = (&self.cache, &answer) {
            cache.insert(key, value.clone());
        }
        answer
    }

    /// Loads many keys, coalesced with every other load of the group. Keys the batch function
    /// did not return are absent from the map; any failed batch fails the whole call.
    pub async fn load_many(
        &self,
        keys: impl IntoIterator<Item = F::Key>,
    ) -> Result<HashMap<F::Key, F::Value>, LoadError> {
        let mut out = HashMap::new();
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        for key in keys {
            if let Some(cache) = &self.cache
                && let Some(hit) = cache.get(&key)
            {
                if let Some(value) = hit {
                    out.insert(key, value);
                }
                continue;
            }
            if seen.insert(key.clone()) {
                wanted.push(key);
            }
        }
        if wanted.is_empty() {
            return Ok(out);
        }
        let waiters: Vec<(Waiter<F>, usize)> = self
            .enqueue(&wanted)?
            .into_iter()
            .map(|j| (Waiter::new(j.batch, j.count), j.count))
            .collect();
        let mut keys = wanted.into_iter();
        for (waiter, count) in &waiters {
            let result = self.until_deadline(waiter.batch.wait()).await?;
            for key in keys.by_ref().take(*count) {
                let value = result.get(&key)?;
                if let Some(cache) = &self.cache {
                    cache.insert(key.clone(), value.clone());
                }
                if let Some(value) = value {
                    out.insert(key, value);
                }
            }
        }
        Ok(out)
    }

    /// Admits the keys (or refuses them with `Overloaded`), adds them to the group's open
    /// batches and starts the batches they opened.
    fn enqueue(&self, keys: &[F::Key]) -> Result<Vec<Joined<F>>, LoadError> {
        self.admit(keys.len())?;
        let joined = self
            .window
            .join(keys, tracing::Span::current().id(), self.scope.state.from());
        for j in &joined {
            self.start(j);
        }
        Ok(joined)
    }

    /// Back-pressure (`shed/`): the loads of a request admitted at the door are never refused
    /// (it is served whole); standalone loads are refused with `Overloaded` when the engine is
    /// saturated.
    fn admit(&self, loads: usize) -> Result<(), LoadError> {
        self.engine.inner.shed.admit_loads(
            &self.window.group,
            &self.scope.state,
            self.deadline,
            loads,
        )
    }

    /// Spawns the task of a batch this load opened. The caller's current span (the resolver
    /// that opened the batch) becomes the parent of the batch's span, so the batch and its SQL
    /// show inside the opener's trace.
    fn start(&self, joined: &Joined<F>) {
        if joined.opened {
            if let Some(activity) = self.scope.state.tracked.get() {
                joined.batch.set_owner(activity);
            }
            tokio::spawn(run_batch(
                self.engine.inner.clone(),
                self.f.clone(),
                self.window.clone(),
                joined.batch.clone(),
                tracing::Span::current(),
            ));
        }
    }

    /// Waits for `wait` until the loader's deadline, if it has one (`DeadlineExceeded`).
    async fn until_deadline<T>(&self, wait: impl Future<Output = T>) -> Result<T, LoadError> {
        until_deadline(&self.window.group, wait, self.deadline).await
    }

    /// Puts a value in this request's cache: later loads of `key` return it without a call.
    pub fn prime(&self, key: F::Key, value: F::Value) {
        if let Some(cache) = &self.cache {
            cache.insert(key, Some(value));
        }
    }

    /// Forgets `key` in this request's cache (after a mutation, say).
    pub fn clear(&self, key: &F::Key) {
        if let Some(cache) = &self.cache {
            cache.remove(key);
        }
    }

    /// Empties this request's cache.
    pub fn clear_all(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Gives every load of this handle a deadline: one still waiting when it passes fails with
    /// `DeadlineExceeded`, and a standalone load whose expected wait exceeds it is refused
    /// with `Overloaded` at once.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// A handle without per-request cache: every load goes through the engine (it is still
    /// deduplicated within its batch).
    #[must_use]
    pub fn without_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// The query group this loader's batches belong to.
    pub fn group(&self) -> &QueryGroup {
        &self.window.group.name
    }

    #[cfg(test)]
    pub(crate) fn window(&self) -> Arc<BatchWindow<F>> {
        self.window.clone()
    }

    /// The engine this loader runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

// Deadlines of loads, shared by `Loader` and `Engine::run` (`dispatch/run.rs`).

/// Waits for `wait` until `deadline`, if there is one (`DeadlineExceeded` in `group`).
pub(crate) async fn until_deadline<T>(
    group: &GroupState,
    wait: impl Future<Output = T>,
    deadline: Option<Instant>,
) -> Result<T, LoadError> {
    let Some(until) = deadline else {
        return Ok(wait.await);
    };
    tokio::time::timeout_at(until, wait)
        .await
        .map_err(|_| LoadError::DeadlineExceeded {
            group: group.name.name(),
        })
}
