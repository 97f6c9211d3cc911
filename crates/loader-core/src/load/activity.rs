//! [`Activity`]: whether a request can still register keys right now, and [`Tracked`], the
//! future wrapper that tells it ([`RequestScope::track`](crate::RequestScope::track)).
//!
//! A GraphQL request registers the keys of one level while it resolves the level above:
//! every branch that can go on runs in the same poll of the request's future, then the
//! future returns `Pending` with every branch waiting for a load. Until then more keys of
//! the level may come; after it, none can until a batch answers. On a multi-threaded
//! runtime the batch's task runs on another worker while the request's task is still
//! registering, and a quiet-time rule cannot tell a pause (the request's thread preempted,
//! a slow build, the first key's loader being set up) from the end of the level: on a real
//! network database a lone request split its levels into two or three statements. A batch
//! whose keys all come from one tracked request therefore closes when that request is
//! parked (neither being polled nor woken), the exact end of what it can register.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

/// Whether a tracked request's future is being polled or has been woken since its last
/// poll: while it is, it may register more keys.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// Polls in progress (a future is polled by one thread at a time; a count is robust to
    /// nested tracking).
    polling: AtomicUsize,
    /// Woken since the last poll began.
    woken: AtomicBool,
    /// Batches of this request publishing their answer right now: their waiters are woken
    /// one after another (tokio's `Notify` wakes them in groups), and the request polled
    /// between two wakes would look parked although more of its branches are about to run.
    answering: AtomicUsize,
}

impl Activity {
    /// Whether the request may still register keys before something answers it.
    pub(crate) fn active(&self) -> bool {
        self.polling.load(Ordering::Acquire) > 0
            || self.woken.load(Ordering::Acquire)
            || self.answering.load(Ordering::Acquire) > 0
    }

    /// Counts the request as active while `wake_all` wakes the waiters of a batch of it.
    pub(crate) fn answering(&self, wake_all: impl FnOnce()) {
        self.answering.fetch_add(1, Ordering::AcqRel);
        wake_all();
        self.answering.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request's future, polled so that the engine sees when the request is parked; made by
/// [`RequestScope::track`](crate::RequestScope::track).
#[must_use = "futures do nothing unless polled"]
pub struct Tracked<F> {
    future: Pin<Box<F>>,
    activity: Arc<Activity>,
}

impl<F> std::fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("active", &self.activity.active())
            .finish_non_exhaustive()
    }
}

impl<F> Tracked<F> {
    pub(crate) fn new(future: F, activity: Arc<Activity>) -> Self {
        Self {
            future: Box::pin(future),
            activity,
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let activity = self.activity.clone();
        activity.polling.fetch_add(1, Ordering::AcqRel);
        activity.woken.store(false, Ordering::Release);
        let waker = Waker::from(Arc::new(Wakes {
            inner: cx.waker().clone(),
            activity: activity.clone(),
        }));
        let polled = self.future.as_mut().poll(&mut Context::from_waker(&waker));
        activity.polling.fetch_sub(1, Ordering::AcqRel);
        polled
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        // A request that ends registers nothing more.
        self.activity.woken.store(false, Ordering::Release);
    }
}

/// The waker handed to the request's future: notes the wake, then wakes the task.
struct Wakes {
    inner: Waker,
    activity: Arc<Activity>,
}

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.activity.woken.store(true, Ordering::Release);
        self.inner.wake_by_ref();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_is_active_while_polled_or_woken_and_parked_otherwise() {
        let activity = Arc::new(Activity::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let seen = activity.clone();
        let tracked = Tracked::new(
            async move {
                assert!(seen.active(), "active while polled");
                rx.await.unwrap();
                assert!(seen.active(), "active while polled again");
            },
            activity.clone(),
        );
        let task = tokio::spawn(tracked);
        tokio::task::yield_now().await;
        assert!(!activity.active(), "parked on the channel");
        tx.send(()).unwrap();
        assert!(activity.active(), "woken, not polled yet");
        task.await.unwrap();
        assert!(!activity.active());
    }
}
