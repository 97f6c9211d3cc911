//! `ConcurrencyLimit`: the one limit on concurrently executing batch calls that every query
//! group of an engine shares, and the `Permit` that holds one unit of it.
//!
//! The limit is dynamic: the scaling strategy moves it after every batch. Raising it grants
//! waiting batches at once; lowering it never preempts a running call, it only stops new
//! grants until `in_flight` has dropped below the new limit. Waiting batches are served fairly
//! between groups (see `dispatch/scheduler.rs`). A `Permit` is released in `Drop`, so every way out of
//! a batch (success, error, panic, timeout, cancellation) gives the capacity back, and an
//! `Acquire` future dropped while waiting leaves the queue (or hands back a permit that was
//! granted to it but never observed).

use std::{
    collections::{BTreeSet, HashMap},
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
};

use parking_lot::Mutex;

use crate::dispatch::FairQueue;

/// A fair, resizable semaphore for batch calls.
#[derive(Debug)]
pub(crate) struct ConcurrencyLimit {
    state: Mutex<State>,
    // Mirrors of the locked state for lock-free readers (metrics, admission).
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    queue: FairQueue<()>,
    slots: HashMap<u64, Slot>,
    next_id: u64,
    /// Permits granted so far: the next grant's sequence number.
    granted: u64,
    /// Sequence numbers of the permits granted and not yet released.
    held: BTreeSet<u64>,
}

impl State {
    /// Grants one permit: its figures at this moment.
    fn take(&mut self) -> Grant {
        self.in_flight += 1;
        let seq = self.granted;
        self.granted += 1;
        self.held.insert(seq);
        Grant {
            in_flight: self.in_flight,
            limit: self.limit,
            seq,
        }
    }

    /// Releases the permit `seq`.
    fn give_back(&mut self, seq: u64) {
        self.in_flight -= 1;
        self.held.remove(&seq);
    }
}

/// A permit's figures at the moment it was granted.
#[derive(Debug, Clone, Copy)]
struct Grant {
    in_flight: usize,
    limit: usize,
    seq: u64,
}

/// Where the calls stand in the order of dispatch, as one call finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Permits granted so far: the next grant's sequence number.
    pub(crate) granted: u64,
    /// Every permit whose sequence number is below this was released, or is the one asking.
    pub(crate) done_below: u64,
}

#[derive(Debug)]
struct Slot {
    /// The permit's figures, once granted.
    granted: Option<Grant>,
    waker: Option<Waker>,
}

impl ConcurrencyLimit {
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            state: Mutex::new(State {
                limit,
                in_flight: 0,
                queue: FairQueue::default(),
                slots: HashMap::new(),
                next_id: 0,
                granted: 0,
                held: BTreeSet::new(),
            }),
            limit: AtomicUsize::new(limit),
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Batch calls holding a permit.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Batches waiting for a permit.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Where the calls stand as the permit `seq` finishes: grants so far, and the oldest permit
    /// still held by another call.
    pub(crate) fn progress(&self, seq: u64) -> Progress {
        let state = self.state.lock();
        Progress {
            granted: state.granted,
            done_below: state
                .held
                .iter()
                .copied()
                .find(|&s| s != seq)
                .unwrap_or(state.granted),
        }
    }

    /// Sets a new limit (at least 1). Raising it grants waiting batches at once.
    pub(crate) fn set_limit(&self, limit: usize) {
        let wake = {
            let mut state = self.state.lock();
            state.limit = limit.max(1);
            self.limit.store(state.limit, Ordering::Relaxed);
            self.grant(&mut state)
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Waits for a permit, in turn with the other batches of every group.
    pub(crate) fn acquire(self: &Arc<Self>, group: usize) -> Acquire {
        Acquire {
            limit: self.clone(),
            group,
            id: None,
        }
    }

    /// Grants permits to waiting batches while there is room; returns the wakers to wake once
    /// the lock is released.
    fn grant(&self, state: &mut State) -> Vec<Waker> {
        let mut wake = Vec::new();
        while state.in_flight < state.limit {
            let Some((id, ())) = state.queue.pop() else {
                break;
            };
            if state.slots.contains_key(&id) {
                let grant = state.take();
                if let Some(slot) = state.slots.get_mut(&id) {
                    slot.granted = Some(grant);
                    wake.extend(slot.waker.take());
                }
            }
        }
        self.in_flight.store(state.in_flight, Ordering::Relaxed);
        self.waiting.store(state.queue.len(), Ordering::Relaxed);
        wake
    }

    fn release(&self, seq: u64) {
        let wake = {
            let mut state = self.state.lock();
            state.give_back(seq);
            self.grant(&mut state)
        };
        wake.into_iter().for_each(Waker::wake);
    }
}

/// One unit of the shared limit, held by a running batch call; released in `Drop`.
#[must_use = "the permit is released as soon as it is dropped"]
#[derive(Debug)]
pub(crate) struct Permit {
    limit: Arc<ConcurrencyLimit>,
    /// Batch calls in flight when this permit was granted, itself included.
    pub(crate) in_flight: usize,
    /// The limit in force when this permit was granted.
    pub(crate) limit_at_grant: usize,
    /// Permits granted before this one: its place in the order of dispatch.
    pub(crate) seq: u64,
}

impl Permit {
    /// Where the calls stand in the order of dispatch as this one finishes.
    pub(crate) fn progress(&self) -> Progress {
        self.limit.progress(self.seq)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limit.release(self.seq);
    }
}

/// The future of [`ConcurrencyLimit::acquire`]; leaves the queue when dropped.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub(crate) struct Acquire {
    limit: Arc<ConcurrencyLimit>,
    group: usize,
    id: Option<u64>,
}

impl Acquire {
    fn permit(&self, grant: Grant) -> Permit {
        Permit {
            limit: self.limit.clone(),
            in_flight: grant.in_flight,
            limit_at_grant: grant.limit,
            seq: grant.seq,
        }
    }
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        let limit = this.limit.clone();
        let mut state = limit.state.lock();
        match this.id {
            None => {
                // Fast path: room and nobody ahead of us.
                if state.in_flight < state.limit && state.queue.len() == 0 {
                    let grant = state.take();
                    limit.in_flight.store(state.in_flight, Ordering::Relaxed);
                    return Poll::Ready(this.permit(grant));
                }
                let id = state.next_id;
                state.next_id += 1;
                state.queue.push(this.group, id, ());
                state.slots.insert(
                    id,
                    Slot {
                        granted: None,
                        waker: Some(cx.waker().clone()),
                    },
                );
                limit.waiting.store(state.queue.len(), Ordering::Relaxed);
                this.id = Some(id);
                Poll::Pending
            }
            Some(id) => {
                if let Some(granted) = state.slots.get(&id).and_then(|s| s.granted) {
                    state.slots.remove(&id);
                    this.id = None;
                    return Poll::Ready(this.permit(granted));
                }
                if let Some(slot) = state.slots.get_mut(&id) {
                    match &slot.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => slot.waker = Some(cx.waker().clone()),
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else {
            return;
        };
        let wake = {
            let mut state = self.limit.state.lock();
            let granted = state.slots.remove(&id).and_then(|s| s.granted);
            if let Some(grant) = granted {
                // Granted but never observed: hand the permit to the next waiter.
                state.give_back(grant.seq);
            } else {
                state.queue.remove(self.group, id);
            }
            self.limit.grant(&mut state)
        };
        wake.into_iter().for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use std::task::Poll;

    use futures::{FutureExt, poll};

    use super::*;

    #[tokio::test]
    async fn permits_up_to_the_limit_are_granted_at_once() {
        let limit = Arc::new(ConcurrencyLimit::new(2));
        let a = limit.acquire(0).await;
        let b = limit.acquire(0).await;
        assert_eq!(limit.in_flight(), 2);
        assert_eq!((a.in_flight, b.in_flight), (1, 2));
        let mut c = limit.acquire(0);
        assert!(poll!(&mut c).is_pending());
        assert_eq!(limit.waiting(), 1);
        drop(a);
        let c = c.now_or_never().expect("granted when a permit is released");
        assert_eq!(limit.in_flight(), 2);
        drop((b, c));
        assert_eq!(limit.in_flight(), 0);
    }

    #[tokio::test]
    async fn progress_tells_when_every_earlier_permit_is_back() {
        let limit = Arc::new(ConcurrencyLimit::new(3));
        let a = limit.acquire(0).await;
        let b = limit.acquire(0).await;
        let c = limit.acquire(0).await;
        assert_eq!((a.seq, b.seq, c.seq), (0, 1, 2));
        // `b` finishes first: `a` is still out.
        let progress = |granted, done_below| Progress {
            granted,
            done_below,
        };
        assert_eq!(b.progress(), progress(3, 0));
        drop(b);
        // `a` counts itself as back; `c` is still out.
        assert_eq!(a.progress(), progress(3, 2));
        drop(a);
        assert_eq!(c.progress(), progress(3, 3));
    }

    #[tokio::test]
    async fn a_permit_granted_but_never_observed_does_not_hold_progress_back() {
        let limit = Arc::new(ConcurrencyLimit::new(1));
        let held = limit.acquire(0).await;
        let mut first = limit.acquire(0);
        assert!(poll!(&mut first).is_pending());
        drop(held); // grants `first` the permit 1, which it never observes
        drop(first);
        let next = limit.acquire(0).await;
        assert_eq!(next.seq, 2);
        assert_eq!(
            next.progress(),
            Progress {
                granted: 3,
                done_below: 3
            }
        );
    }

    proptest::proptest! {
        /// Whatever order permits are granted, released, or granted to an `Acquire` that is
        /// dropped unobserved: `done_below` never passes a permit still held, and once all
        /// are back nothing holds it down.
        #[test]
        fn progress_never_passes_a_held_permit(
            limit in 1usize..4,
            ops in proptest::collection::vec((0u8..3, 0usize..8), 1..80),
        ) {
            let limit = Arc::new(ConcurrencyLimit::new(limit));
            let mut cx = Context::from_waker(futures::task::noop_waker_ref());
            let mut held: Vec<Permit> = Vec::new();
            let mut waiting: Vec<Acquire> = Vec::new();
            for (op, i) in ops {
                match op {
                    0 => waiting.push(limit.acquire(i % 2)),
                    1 if !held.is_empty() => drop(held.swap_remove(i % held.len())),
                    2 if !waiting.is_empty() => drop(waiting.swap_remove(i % waiting.len())),
                    _ => {}
                }
                // Waiters observe what was granted to them.
                let mut still = Vec::new();
                for mut acquire in waiting.drain(..) {
                    match Pin::new(&mut acquire).poll(&mut cx) {
                        Poll::Ready(permit) => held.push(permit),
                        Poll::Pending => still.push(acquire),
                    }
                }
                waiting = still;
                for permit in &held {
                    let progress = permit.progress();
                    for other in held.iter().filter(|o| o.seq != permit.seq) {
                        proptest::prop_assert!(progress.done_below <= other.seq);
                    }
                    proptest::prop_assert!(progress.granted > permit.seq);
                }
            }
            drop(waiting);
            drop(held);
            let last = limit.acquire(0).now_or_never().expect("every permit is back");
            let all_back = Progress {
                granted: last.seq + 1,
                done_below: last.seq + 1,
            };
            proptest::prop_assert_eq!(last.progress(), all_back);
        }
    }

    #[tokio::test]
    async fn dropping_a_waiting_acquire_leaves_the_queue() {
        let limit = Arc::new(ConcurrencyLimit::new(1));
        let held = limit.acquire(0).await;
        let mut waiting = limit.acquire(1);
        assert!(poll!(&mut waiting).is_pending());
        drop(waiting);
        assert_eq!(limit.waiting(), 0);
        drop(held);
        assert_eq!(limit.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_permit_granted_to_a_dropped_acquire_goes_to_the_next_waiter() {
        let limit = Arc::new(ConcurrencyLimit::new(1));
        let held = limit.acquire(0).await;
        let mut first = limit.acquire(0);
        let mut second = limit.acquire(0);
        assert!(poll!(&mut first).is_pending());
        assert!(poll!(&mut second).is_pending());
        drop(held); // grants `first`, which never observes it
        drop(first);
        assert_eq!(limit.in_flight(), 1);
        let second = second.now_or_never().expect("second got the permit");
        drop(second);
        assert_eq!(limit.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_lowered_limit_stops_grants_until_in_flight_drops_below_it() {
        let limit = Arc::new(ConcurrencyLimit::new(3));
        let a = limit.acquire(0).await;
        let b = limit.acquire(0).await;
        let c = limit.acquire(0).await;
        limit.set_limit(1);
        let mut d = limit.acquire(0);
        assert!(poll!(&mut d).is_pending());
        drop(a);
        assert!(poll!(&mut d).is_pending());
        drop(b);
        assert!(poll!(&mut d).is_pending());
        drop(c);
        assert!(matches!(poll!(&mut d), Poll::Ready(_)));
    }

    #[tokio::test]
    async fn raising_the_limit_grants_waiters_immediately() {
        let limit = Arc::new(ConcurrencyLimit::new(1));
        let _a = limit.acquire(0).await;
        let mut b = limit.acquire(0);
        assert!(poll!(&mut b).is_pending());
        limit.set_limit(2);
        let Poll::Ready(_b) = poll!(&mut b) else {
            panic!("b waits although the limit was raised");
        };
        assert_eq!(limit.in_flight(), 2);
    }

    #[tokio::test]
    async fn waiting_groups_are_served_round_robin() {
        let limit = Arc::new(ConcurrencyLimit::new(1));
        let held = limit.acquire(9).await;
        let mut hot: Vec<_> = (0..3).map(|_| limit.acquire(0)).collect();
        for a in &mut hot {
            assert!(poll!(a).is_pending());
        }
        let mut cold = limit.acquire(1);
        assert!(poll!(&mut cold).is_pending());
        drop(held);
        let first_hot = (&mut hot[0])
            .now_or_never()
            .expect("hot group's turn first");
        drop(first_hot);
        assert!(
            (&mut cold).now_or_never().is_some(),
            "the cold group is served before the hot group's second batch"
        );
    }
}
