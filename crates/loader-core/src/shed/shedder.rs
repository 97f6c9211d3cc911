//! `LoadShedder`: the engine's one place that admits or refuses work, and what it measures
//! to decide.
//!
//! Three entry points, one per kind of work:
//!
//! - [`admit_request`](LoadShedder::admit_request): a new request at the door, admitted whole
//!   or refused before it runs (`shed/door.rs` sets how many are in flight at once);
//! - [`admit_loads`](LoadShedder::admit_loads): the loads of a loader, never refused for a
//!   request admitted at the door, judged one by one for a standalone loader
//!   (`shed/admission.rs`, `shed/overload.rs`);
//! - [`shed_at_dispatch`](LoadShedder::shed_at_dispatch): a batch of standalone loads that
//!   waited for its permit while an open-loop overload is on.
//!
//! The dispatch path reports back what the door and the overload detector learn from
//! ([`observe_queue`](LoadShedder::observe_queue), [`observe_call`](LoadShedder::observe_call),
//! [`answered`](LoadShedder::answered)).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use parking_lot::Mutex;
use tokio::time::Instant;

use super::{
    DoorLaw, Pressure,
    overload::{DEEP_WAVES, OverloadMode, QueueReading, RETRY_AFTER},
};
use crate::{
    LoadError, LoaderConfig, OverloadReason,
    batch::GroupState,
    dispatch::{ConcurrencyLimit, Permit},
    load::ScopeState,
};

/// Requests admitted at once before the door's law has measured anything, per permit of the
/// initial concurrency limit.
const DOOR_INITIAL_PER_PERMIT: usize = 4;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct LoadShedder {
    /// The engine's start: engine time is measured from it (tokio's clock).
    start: Instant,
    /// The downstream's concurrency limit (shared with dispatch).
    limit: Arc<ConcurrencyLimit>,
    /// Loads waiting for dispatch, all groups (shared with the batches).
    queued: Arc<AtomicUsize>,
    queue_capacity: usize,
    max_queue_wait: Duration,
    max_requests_waiting: usize,
    /// Recent mean batch call duration (f64 seconds as bits).
    mean_rtt: AtomicU64,
    /// The door's places, one permit per admitted request, held until the request ends; its
    /// limit is the door law's cap.
    places: Arc<ConcurrencyLimit>,
    /// How many requests the door admits at once.
    door: Mutex<DoorLaw>,
    requests_refused: AtomicU64,
    requests_ended: AtomicU64,
    /// Tells a queue that keeps growing from a long one; `overloaded` mirrors whether it is
    /// active, for admission's fast path.
    overload: Mutex<OverloadMode>,
    overloaded: AtomicBool,
    new_work: NewWork,
}

/// Counts of new work (standalone loads) since the start: what a closed loop cannot make
/// arrive faster than it is answered.
#[derive(Debug, Default)]
struct NewWork {
    arrived: AtomicU64,
    answered: AtomicU64,
    answer_events: AtomicU64,
}

/// A request's place at the door, held until the request ends (its scope is dropped).
#[derive(Debug)]
pub(crate) struct DoorPlace {
    shed: Arc<LoadShedder>,
    /// Engine time of admission.
    admitted_at: Duration,
    /// Released (to the next request waiting) when the request ends.
    permit: Option<Permit>,
}

impl Drop for DoorPlace {
    fn drop(&mut self) {
        self.shed.request_ended(self.admitted_at);
        drop(self.permit.take());
    }
}

/// The door's figures, for the snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DoorFigures {
    pub(crate) refused: u64,
    pub(crate) in_flight: usize,
    pub(crate) waiting: usize,
    pub(crate) cap: usize,
    pub(crate) overloaded: bool,
    pub(crate) overloads: u64,
}

impl LoadShedder {
    pub(crate) fn new(
        config: &LoaderConfig,
        start: Instant,
        limit: Arc<ConcurrencyLimit>,
        queued: Arc<AtomicUsize>,
    ) -> Self {
        let door = DoorLaw::new(DOOR_INITIAL_PER_PERMIT * limit.limit(), config.max_requests);
        Self {
            start,
            limit,
            queued,
            queue_capacity: config.queue_capacity,
            max_queue_wait: config.max_queue_wait,
            max_requests_waiting: config.max_requests_waiting,
            mean_rtt: AtomicU64::new(0f64.to_bits()),
            places: Arc::new(ConcurrencyLimit::new(door.cap())),
            door: Mutex::new(door),
            requests_refused: AtomicU64::new(0),
            requests_ended: AtomicU64::new(0),
            overload: Mutex::new(OverloadMode::default()),
            overloaded: AtomicBool::new(false),
            new_work: NewWork::default(),
        }
    }

    /// Engine time (tokio's clock, since the engine started).
    pub(crate) fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// Admits a new request at the door, or refuses it with `Overloaded` (see
    /// [`Engine::admit_request`](crate::Engine::admit_request)).
    pub(crate) async fn admit_request(self: &Arc<Self>) -> Result<DoorPlace, LoadError> {
        let places = &self.places;
        let free = places.in_flight() < places.limit() && places.waiting() == 0;
        if !free {
            let position = places.waiting() + 1;
            let refusal = {
                let mut law = self.door.lock();
                law.reached();
                let wait = law.expected_wait(position);
                let retry_after = wait.unwrap_or(law.latency()).max(Duration::from_millis(1));
                if position > self.max_requests_waiting {
                    Some((OverloadReason::DoorFull, retry_after))
                } else if wait.is_some_and(|w| w > self.max_queue_wait) {
                    Some((OverloadReason::ExpectedWait, retry_after))
                } else {
                    None
                }
            };
            if let Some((reason, retry_after)) = refusal {
                return Err(self.refuse_request(reason, retry_after));
            }
        }
        match tokio::time::timeout(self.max_queue_wait, places.acquire(0)).await {
            Ok(permit) => Ok(DoorPlace {
                shed: self.clone(),
                admitted_at: self.now(),
                permit: Some(permit),
            }),
            Err(_) => {
                let retry_after = self.door.lock().latency().max(Duration::from_millis(1));
                Err(self.refuse_request(OverloadReason::DoorWait, retry_after))
            }
        }
    }

    /// Counts and returns the refusal of a new request at the door.
    fn refuse_request(&self, reason: OverloadReason, retry_after: Duration) -> LoadError {
        self.requests_refused.fetch_add(1, Ordering::Relaxed);
        LoadError::Overloaded {
            retry_after,
            reason,
        }
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

    /// Requests admitted at the door that have ended so far.
    pub(crate) fn requests_ended(&self) -> u64 {
        self.requests_ended.load(Ordering::Relaxed)
    }

    /// Back-pressure for `loads` new loads of `scope`: never refused for a request admitted
    /// at the door (it is served whole, `load/request.rs`); a standalone load is refused with
    /// `Overloaded` when the engine is saturated (`shed/admission.rs`), counted as shed in
    /// `group`.
    pub(crate) fn admit_loads(
        &self,
        group: &GroupState,
        scope: &ScopeState,
        deadline: Option<Instant>,
        loads: usize,
    ) -> Result<(), LoadError> {
        if scope.admitted() {
            return Ok(());
        }
        match self.pressure(deadline).admit(loads) {
            Ok(()) => {
                self.new_work
                    .arrived
                    .fetch_add(loads as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                group.record_shed(self.now());
                self.overload.lock().refused(self.now(), loads);
                Err(e)
            }
        }
    }

    /// The engine's state as admission of standalone loads sees it.
    fn pressure(&self, deadline: Option<Instant>) -> Pressure {
        Pressure {
            queued: self.queued.load(Ordering::Relaxed),
            capacity: self.queue_capacity,
            waiting_batches: self.limit.waiting(),
            in_flight: self.limit.in_flight(),
            limit: self.limit.limit(),
            mean_rtt: self.mean_rtt(),
            max_wait: self.max_queue_wait,
            overloaded: self.overloaded(),
            deadline_in: deadline.map(|d| d.saturating_duration_since(Instant::now())),
        }
    }

    fn mean_rtt(&self) -> Duration {
        Duration::from_secs_f64(f64::from_bits(self.mean_rtt.load(Ordering::Relaxed)))
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

    /// During an overload, a batch of standalone loads that waited longer than half a call
    /// for its permit is answered `Overloaded` instead of run (`shed/overload.rs`).
    pub(crate) fn shed_at_dispatch(&self, waited: Duration, sheddable: bool) -> Option<LoadError> {
        if !sheddable || !self.overloaded() {
            return None;
        }
        if waited <= self.mean_rtt() / 2 {
            return None;
        }
        // Not a refusal that keeps the overload on: only new arrivals refused at the door
        // tell that they keep coming.
        Some(LoadError::Overloaded {
            retry_after: RETRY_AFTER,
            reason: OverloadReason::Overload,
        })
    }

    /// `n` standalone loads were answered at once (by one batch, or a refusal of it).
    pub(crate) fn answered(&self, n: usize) {
        if n > 0 {
            self.new_work
                .answered
                .fetch_add(n as u64, Ordering::Relaxed);
            self.new_work.answer_events.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A call waited `wait` for its permit and ran for `rtt`: the mean call time admission
    /// expects, and what the door's law measures.
    pub(crate) fn observe_call(&self, wait: Duration, rtt: Duration) {
        let old = f64::from_bits(self.mean_rtt.load(Ordering::Relaxed));
        let secs = rtt.as_secs_f64();
        // An exponential mean that gives the newest call a weight of 0.2.
        let new = if old == 0.0 {
            secs
        } else {
            old * 0.8 + secs * 0.2
        };
        self.mean_rtt.store(new.to_bits(), Ordering::Relaxed);
        let mut law = self.door.lock();
        law.observe_batch(wait, rtt);
        self.door_tick(&mut law, self.now());
    }

    /// Closes the door law's interval if it is over and applies a new cap.
    fn door_tick(&self, law: &mut DoorLaw, now: Duration) {
        let Some(change) = law.tick(now, self.limit.limit()) else {
            return;
        };
        self.places.set_limit(change.new);
        tracing::debug!(
            target: "loader_core::door",
            old = change.old,
            new = change.new,
            waves = change.waves,
            "request cap changed"
        );
    }

    /// The door's figures now.
    pub(crate) fn figures(&self) -> DoorFigures {
        DoorFigures {
            refused: self.requests_refused.load(Ordering::Relaxed),
            in_flight: self.places.in_flight(),
            waiting: self.places.waiting(),
            cap: self.places.limit(),
            overloaded: self.overloaded(),
            overloads: self.overload.lock().episodes(),
        }
    }
}
