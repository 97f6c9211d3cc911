//! `Batch`: one batch call's shared state, between the loads waiting on it and the task that
//! runs it.
//!
//! Loads register as waiters (a count, not a list: no allocation per key) and wait for the
//! result, which is published once for everybody; each waiter then looks its own key up. The
//! waiter count and a "dispatched" bit live in one atomic word, so a waiter leaving and the
//! batch being dispatched agree on who takes the load out of the queue count, and the last
//! waiter leaving tells the driving task that the batch is no longer wanted.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
};

use parking_lot::Mutex;
use tokio::{sync::Notify, time::Instant};

use crate::{BatchFn, LoadError, batch::GroupState, load::Activity};

const DISPATCHED: u64 = 1 << 63;
const WAITERS: u64 = DISPATCHED - 1;

/// The keys collected by a batch while it was open.
#[derive(Debug)]
pub(crate) struct BatchKeys<K> {
    pub(crate) keys: HashSet<K>,
    /// Key requests before deduplication.
    pub(crate) requested: usize,
    /// Spans current at the loads that joined (deduplicated), for `follows_from`.
    pub(crate) spans: HashSet<tracing::Id>,
}

impl<K> Default for BatchKeys<K> {
    fn default() -> Self {
        Self {
            keys: HashSet::new(),
            requested: 0,
            spans: HashSet::new(),
        }
    }
}

/// What a finished batch answers.
pub(crate) struct BatchResult<F: BatchFn> {
    pub(crate) values: HashMap<F::Key, F::Value>,
    /// Keys isolated as failing (per-key error isolation).
    pub(crate) failed: HashMap<F::Key, LoadError>,
    /// The error of the whole batch, if it failed as a whole.
    pub(crate) error: Option<LoadError>,
}

impl<F: BatchFn> BatchResult<F> {
    pub(crate) fn failed_with(error: LoadError) -> Self {
        Self {
            values: HashMap::new(),
            failed: HashMap::new(),
            error: Some(error),
        }
    }

    /// The answer for one key: its value, `None` when the batch function did not return it,
    /// or the error of its batch.
    pub(crate) fn get(&self, key: &F::Key) -> Result<Option<F::Value>, LoadError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if let Some(error) = self.failed.get(key) {
            return Err(error.clone());
        }
        Ok(self.values.get(key).cloned())
    }
}

pub(crate) struct Batch<F: BatchFn> {
    state: AtomicU64,
    arrivals: AtomicUsize,
    full: AtomicBool,
    /// Standalone loads (outside any request scope) that joined: new work, for `shed/overload.rs`.
    standalone: AtomicUsize,
    sealed: Mutex<Option<BatchKeys<F::Key>>>,
    result: OnceLock<BatchResult<F>>,
    done: Notify,
    abandoned: Notify,
    pub(crate) group: Arc<GroupState>,
    pub(crate) opened: Instant,
    /// The tracked request whose key opened the batch (`load/activity.rs`), and whether keys of
    /// another request joined since.
    owner: OnceLock<Arc<Activity>>,
    mixed: AtomicBool,
}

impl<F: BatchFn> Batch<F> {
    pub(crate) fn new(group: Arc<GroupState>) -> Self {
        Self {
            state: AtomicU64::new(0),
            arrivals: AtomicUsize::new(0),
            full: AtomicBool::new(false),
            standalone: AtomicUsize::new(0),
            sealed: Mutex::new(None),
            result: OnceLock::new(),
            done: Notify::new(),
            abandoned: Notify::new(),
            group,
            opened: Instant::now(),
            owner: OnceLock::new(),
            mixed: AtomicBool::new(false),
        }
    }

    /// The batch was opened by a key of the tracked request with this activity.
    pub(crate) fn set_owner(&self, activity: &Arc<Activity>) {
        let _ = self.owner.set(activity.clone());
    }

    /// Keys of another request than the first joined.
    pub(crate) fn mark_mixed(&self) {
        self.mixed.store(true, Ordering::Release);
    }

    /// The activity of the one tracked request whose keys alone are in the batch, if so.
    pub(crate) fn lone_owner(&self) -> Option<&Activity> {
        if self.mixed.load(Ordering::Acquire) {
            return None;
        }
        self.owner.get().map(|a| &**a)
    }

    /// `n` loads join (called under the window lock, while the batch is open).
    pub(crate) fn join(&self, n: usize) {
        self.state.fetch_add(n as u64, Ordering::AcqRel);
        self.arrivals.fetch_add(n, Ordering::Release);
        self.group.enqueue(n);
    }

    /// A standalone load joined (called under the window lock, while the batch is open).
    pub(crate) fn count_standalone(&self) {
        self.standalone.fetch_add(1, Ordering::Relaxed);
    }

    /// Standalone loads that joined.
    pub(crate) fn standalone(&self) -> usize {
        self.standalone.load(Ordering::Relaxed)
    }

    /// Whether only standalone loads joined: the batch may be shed for an overload. A load
    /// of a request scope protects it: shedding it would fail a request already admitted.
    pub(crate) fn sheddable(&self) -> bool {
        self.standalone() == self.arrivals()
    }

    /// `n` loads leave (answered, or their caller went away).
    pub(crate) fn leave(&self, n: usize) {
        let prev = self.state.fetch_sub(n as u64, Ordering::AcqRel);
        if prev & DISPATCHED == 0 {
            self.group.dequeue(n);
        }
        if prev & WAITERS == n as u64 && self.result.get().is_none() {
            self.abandoned.notify_one();
        }
    }

    /// Marks the batch dispatched; returns the loads still waiting on it.
    pub(crate) fn mark_dispatched(&self) -> usize {
        let prev = self.state.fetch_or(DISPATCHED, Ordering::AcqRel);
        let waiters = (prev & WAITERS) as usize;
        if prev & DISPATCHED == 0 {
            self.group.dequeue(waiters);
        }
        waiters
    }

    pub(crate) fn waiters(&self) -> usize {
        (self.state.load(Ordering::Acquire) & WAITERS) as usize
    }

    /// Loads that ever joined (the window closes when this stops growing).
    pub(crate) fn arrivals(&self) -> usize {
        self.arrivals.load(Ordering::Acquire)
    }

    /// Seals a full batch: no more keys join; its keys wait here for dispatch.
    pub(crate) fn seal(&self, keys: BatchKeys<F::Key>) {
        *self.sealed.lock() = Some(keys);
        self.full.store(true, Ordering::Release);
    }

    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    pub(crate) fn take_sealed(&self) -> Option<BatchKeys<F::Key>> {
        self.sealed.lock().take()
    }

    /// Publishes the result and wakes every waiter. Only the first call counts.
    pub(crate) fn finish(&self, result: BatchResult<F>) {
        let _ = self.result.set(result);
        match self.owner.get() {
            Some(owner) => owner.answering(|| self.done.notify_waiters()),
            None => self.done.notify_waiters(),
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.result.get().is_some()
    }

    /// Waits for the result.
    pub(crate) async fn wait(&self) -> &BatchResult<F> {
        loop {
            // Checked first so that a woken waiter returns without touching the `Notify` lock.
            if let Some(result) = self.result.get() {
                return result;
            }
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.result.get() {
                return result;
            }
            notified.await;
        }
    }

    /// Resolves once no waiter is left (the batch is no longer wanted).
    pub(crate) async fn unwanted(&self) {
        while self.waiters() > 0 {
            self.abandoned.notified().await;
        }
    }
}

/// A load's registration on a batch; leaving is done in `Drop`, so a caller that goes away
/// mid-wait gives back its queue slot.
pub(crate) struct Waiter<F: BatchFn> {
    pub(crate) batch: Arc<Batch<F>>,
    count: usize,
}

impl<F: BatchFn> Waiter<F> {
    /// Wraps a registration of `count` loads already counted by [`Batch::join`].
    pub(crate) fn new(batch: Arc<Batch<F>>, count: usize) -> Self {
        Self { batch, count }
    }
}

impl<F: BatchFn> Drop for Waiter<F> {
    fn drop(&mut self) {
        self.batch.leave(self.count);
    }
}

/// Held by the task that runs a batch: if the task ends without publishing a result (the
/// runtime shut down, or the engine's own code panicked), the waiters still get an answer.
pub(crate) struct AnswerOnDrop<F: BatchFn>(pub(crate) Arc<Batch<F>>);

impl<F: BatchFn> Drop for AnswerOnDrop<F> {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.finish(BatchResult::failed_with(LoadError::Shutdown));
        }
    }
}
