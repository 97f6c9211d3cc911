//! `BatchWindow`: where the keys of one query group gather into batches.
//!
//! A group has at most one open batch. A load adds its key to it (deduplicated: a key asked
//! for twice is loaded once) or opens a new one, whose driving task is then spawned (one task
//! per batch, never per key). The batch stays open while its window collects keys and while
//! it waits for a permit, so batches grow naturally under load; it is sealed, and the next key
//! opens a new batch, as soon as it reaches the group's target batch size. When its last
//! waiter leaves before dispatch it is abandoned and never runs.
//!
//! The window's timing (when it closes) is in `dispatch/drive.rs`: after two scheduler rounds
//! (`yield_now`) in which no key arrived (on a multi-threaded runtime, also a short quiet
//! wall-clock time), at `batch_delay` at the latest, or at once when full.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::{
    BatchFn,
    batch::GroupState,
    batch::{Batch, BatchKeys},
};

struct Open<F: BatchFn> {
    batch: Arc<Batch<F>>,
    keys: BatchKeys<F::Key>,
    target: usize,
    /// The request of the first key, and whether keys of another request joined since.
    first_request: u64,
    mixed: bool,
}

/// The batches being collected for one group (and key type).
pub(crate) struct BatchWindow<F: BatchFn> {
    pub(crate) group: Arc<GroupState>,
    open: Mutex<Option<Open<F>>>,
}

/// Who a load comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct From {
    /// The request scope's id (`batch/spread.rs`).
    pub(crate) request: u64,
    /// Whether the load belongs to a request scope (admitted as a unit), not a standalone
    /// loader: such batches are never shed for an overload (`shed/overload.rs`).
    pub(crate) scoped: bool,
}

/// A batch that keys joined, and whether the caller opened it (and must start it).
pub(crate) struct Joined<F: BatchFn> {
    pub(crate) batch: Arc<Batch<F>>,
    pub(crate) opened: bool,
    /// How many of the caller's keys joined this batch.
    pub(crate) count: usize,
}

impl<F: BatchFn> BatchWindow<F> {
    pub(crate) fn new(group: Arc<GroupState>) -> Self {
        Self {
            group,
            open: Mutex::new(None),
        }
    }

    /// Adds one key to the open batch (the `load` fast path: no allocation besides the key's
    /// place in the batch).
    pub(crate) fn join_one(
        &self,
        key: &F::Key,
        span: Option<tracing::Id>,
        from: From,
    ) -> Joined<F> {
        let mut slot = self.open.lock();
        let open = match &mut *slot {
            Some(open) => open,
            None => slot.insert(self.open_batch()),
        };
        let joined = Joined {
            batch: open.batch.clone(),
            opened: open.keys.requested == 0,
            count: 1,
        };
        Self::add(&mut slot, key, span.as_ref(), from);
        joined
    }

    fn open_batch(&self) -> Open<F> {
        Open {
            batch: Arc::new(Batch::new(self.group.clone())),
            keys: BatchKeys::default(),
            target: self.group.target_batch_size().max(1),
            first_request: 0,
            mixed: false,
        }
    }

    /// Adds a key to the open batch in `slot`, sealing the batch when it is full: at the
    /// cost model's target, or, once keys of several requests share it, at the spread cap.
    fn add(slot: &mut Option<Open<F>>, key: &F::Key, span: Option<&tracing::Id>, from: From) {
        let Some(open) = slot.as_mut() else {
            return;
        };
        let request = from.request;
        if !from.scoped {
            open.batch.count_standalone();
        }
        if open.keys.requested == 0 {
            open.first_request = request;
        } else if request != open.first_request && !open.mixed {
            open.mixed = true;
            open.batch.mark_mixed();
        }
        open.keys.keys.insert(key.clone());
        open.keys.requested += 1;
        if let Some(id) = span {
            open.keys.spans.insert(id.clone());
        }
        open.batch.join(1);
        let len = open.keys.keys.len();
        if (len >= open.target
            || (open.mixed && open.batch.group.spread_cap().is_some_and(|cap| len >= cap)))
            && let Some(full) = slot.take()
        {
            full.batch.seal(full.keys);
        }
    }

    /// Adds distinct `keys` (in order) to the open batch, opening and sealing batches as they
    /// fill. Returns the batches joined, in key order, with the number of keys in each.
    pub(crate) fn join(
        &self,
        keys: &[F::Key],
        span: Option<tracing::Id>,
        from: From,
    ) -> Vec<Joined<F>> {
        let mut joined: Vec<Joined<F>> = Vec::with_capacity(1);
        let mut slot = self.open.lock();
        for key in keys {
            let open = match &mut *slot {
                Some(open) => open,
                None => slot.insert(self.open_batch()),
            };
            match joined.last_mut() {
                Some(j) if Arc::ptr_eq(&j.batch, &open.batch) => j.count += 1,
                _ => joined.push(Joined {
                    batch: open.batch.clone(),
                    opened: open.keys.requested == 0,
                    count: 1,
                }),
            }
            Self::add(&mut slot, key, span.as_ref(), from);
        }
        joined
    }

    /// Takes the batch's keys for dispatch: no key can join it afterwards.
    pub(crate) fn take(&self, batch: &Arc<Batch<F>>) -> BatchKeys<F::Key> {
        {
            let mut slot = self.open.lock();
            if slot.as_ref().is_some_and(|o| Arc::ptr_eq(&o.batch, batch))
                && let Some(open) = slot.take()
            {
                return open.keys;
            }
        }
        batch.take_sealed().unwrap_or_default()
    }

    /// Closes the batch if no waiter is left; `true` when it was abandoned.
    pub(crate) fn abandon_if_unwanted(&self, batch: &Arc<Batch<F>>) -> bool {
        let mut slot = self.open.lock();
        if batch.waiters() > 0 {
            return false;
        }
        if slot.as_ref().is_some_and(|o| Arc::ptr_eq(&o.batch, batch)) {
            *slot = None;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        convert::Infallible,
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    const STANDALONE: From = From {
        request: 0,
        scoped: false,
    };
    use crate::{
        QueryGroup,
        batch::Waiter,
        batch::{GroupSettings, GroupState},
    };

    struct Keys;

    impl BatchFn for Keys {
        type Key = u32;
        type Value = u32;
        type Error = Infallible;
        fn group(&self) -> QueryGroup {
            QueryGroup::new("keys")
        }
        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Infallible> {
            Ok(keys.iter().map(|k| (*k, *k)).collect())
        }
    }

    fn window(max_batch_size: usize) -> (BatchWindow<Keys>, Arc<AtomicUsize>) {
        let queued = Arc::new(AtomicUsize::new(0));
        let group = GroupState::new(
            QueryGroup::new("keys"),
            0,
            GroupSettings {
                max_batch_size,
                target_response_time: Duration::from_millis(25),
                metrics_window: Duration::from_secs(10),
            },
            queued.clone(),
            Arc::new(crate::batch::Spread::new(
                Arc::new(crate::dispatch::ConcurrencyLimit::new(4)),
                queued.clone(),
            )),
            Duration::ZERO,
            4,
        );
        (BatchWindow::new(Arc::new(group)), queued)
    }

    #[tokio::test]
    async fn keys_are_deduplicated_but_every_request_counts() {
        let (w, queued) = window(100);
        let a = w.join_one(&1, None, STANDALONE);
        let b = w.join_one(&1, None, STANDALONE);
        let c = w.join(&[2, 3], None, STANDALONE);
        assert!(a.opened && !b.opened && !c[0].opened);
        assert!(Arc::ptr_eq(&a.batch, &b.batch) && Arc::ptr_eq(&a.batch, &c[0].batch));
        assert_eq!(c[0].count, 2);
        assert_eq!(queued.load(Ordering::Relaxed), 4);
        let keys = w.take(&a.batch);
        assert_eq!(keys.keys.len(), 3);
        assert_eq!(keys.requested, 4);
        assert_eq!(a.batch.mark_dispatched(), 4);
        assert_eq!(queued.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_full_batch_is_sealed_and_the_next_key_opens_another() {
        let (w, _) = window(2);
        let joined = w.join(&[1, 2, 3, 4, 5], None, STANDALONE);
        let counts: Vec<_> = joined.iter().map(|j| (j.opened, j.count)).collect();
        assert_eq!(counts, [(true, 2), (true, 2), (true, 1)]);
        assert!(joined[0].batch.is_full() && !joined[2].batch.is_full());
        let sealed = w.take(&joined[0].batch);
        assert_eq!(sealed.keys.len(), 2);
        let open = w.take(&joined[2].batch);
        assert_eq!(open.keys.into_iter().collect::<Vec<_>>(), [5]);
    }

    #[tokio::test]
    async fn waiters_leaving_before_dispatch_give_back_their_queue_slots() {
        let (w, queued) = window(100);
        let a = w.join_one(&1, None, STANDALONE);
        let b = w.join_one(&2, None, STANDALONE);
        let wa = Waiter::new(a.batch.clone(), 1);
        let wb = Waiter::new(b.batch.clone(), 1);
        drop(wa);
        assert_eq!(queued.load(Ordering::Relaxed), 1);
        assert!(!w.abandon_if_unwanted(&a.batch), "one waiter is left");
        drop(wb);
        assert_eq!(queued.load(Ordering::Relaxed), 0);
        assert!(w.abandon_if_unwanted(&a.batch));
        // The abandoned batch left the window: the next key opens a new one.
        let c = w.join_one(&3, None, STANDALONE);
        assert!(c.opened && !Arc::ptr_eq(&c.batch, &a.batch));
    }

    #[tokio::test]
    async fn waiters_leaving_after_dispatch_do_not_touch_the_queue_count() {
        let (w, queued) = window(100);
        let a = w.join_one(&1, None, STANDALONE);
        let waiter = Waiter::new(a.batch.clone(), 1);
        let _keys = w.take(&a.batch);
        assert_eq!(a.batch.mark_dispatched(), 1);
        assert_eq!(queued.load(Ordering::Relaxed), 0);
        drop(waiter);
        assert_eq!(queued.load(Ordering::Relaxed), 0);
        assert_eq!(a.batch.waiters(), 0);
    }
}
