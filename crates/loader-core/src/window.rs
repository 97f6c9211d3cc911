//! `BatchWindow`: where the keys of one query group gather into batches.
//!
//! A group has at most one open batch. A load adds its key to it (deduplicated: a key asked
//! for twice is loaded once) or opens a new one, whose driving task is then spawned (one task
//! per batch, never per key). The batch stays open while its window collects keys and while
//! it waits for a permit, so batches grow naturally under load; it is sealed, and the next key
//! opens a new batch, as soon as it reaches the group's target batch size. When its last
//! waiter leaves before dispatch it is abandoned and never runs.
//!
//! The window's timing (when it closes) is in `dispatch.rs`: after two scheduler rounds
//! (`yield_now`) in which no key arrived, at `batch_delay` at the latest, or at once when full.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::{
    BatchFn,
    batch::{Batch, BatchKeys},
    group_state::GroupState,
};

struct Open<F: BatchFn> {
    batch: Arc<Batch<F>>,
    keys: BatchKeys<F::Key>,
    target: usize,
}

/// The batches being collected for one group (and key type).
pub(crate) struct BatchWindow<F: BatchFn> {
    pub(crate) group: Arc<GroupState>,
    open: Mutex<Option<Open<F>>>,
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
    pub(crate) fn join_one(&self, key: &F::Key, span: Option<tracing::Id>) -> Joined<F> {
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
        Self::add(&mut slot, key, span.as_ref());
        joined
    }

    fn open_batch(&self) -> Open<F> {
        Open {
            batch: Arc::new(Batch::new(self.group.clone())),
            keys: BatchKeys::default(),
            target: self.group.target_batch_size().max(1),
        }
    }

    /// Adds a key to the open batch in `slot`, sealing the batch when it is full.
    fn add(slot: &mut Option<Open<F>>, key: &F::Key, span: Option<&tracing::Id>) {
        let Some(open) = slot.as_mut() else {
            return;
        };
        open.keys.keys.insert(key.clone());
        open.keys.requested += 1;
        if let Some(id) = span {
            open.keys.spans.insert(id.clone());
        }
        open.batch.join(1);
        if open.keys.keys.len() >= open.target
            && let Some(full) = slot.take()
        {
            full.batch.seal(full.keys);
        }
    }

    /// Adds distinct `keys` (in order) to the open batch, opening and sealing batches as they
    /// fill. Returns the batches joined, in key order, with the number of keys in each.
    pub(crate) fn join(&self, keys: &[F::Key], span: Option<tracing::Id>) -> Vec<Joined<F>> {
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
            Self::add(&mut slot, key, span.as_ref());
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
