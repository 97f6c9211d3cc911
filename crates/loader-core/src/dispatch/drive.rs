//! The life of one batch, run by one spawned task: collect keys, wait for a permit, call the
//! batch function, learn from the call, answer the waiters.
//!
//! 1. **Window.** The batch collects keys while they keep coming: it closes after two
//!    scheduler rounds (`yield_now`) in which no key arrived (on a multi-threaded runtime,
//!    also ~30 µs of wall-clock time without one), at `batch_delay` at the latest, or at once
//!    when it reached the group's target size. A lone load thus pays two scheduler rounds (or
//!    the quiet time), not a fixed delay. The keys of one tracked request alone wait for
//!    that request to be parked instead (`load/activity.rs`): one statement per level.
//! 2. **Permit.** It waits its turn for the shared limit (fair between groups), still
//!    accepting keys. If every waiter leaves meanwhile, it is abandoned and never runs.
//! 3. **Call.** Under the permit, inside the `loader.batch` span (a child of the span of the
//!    load that opened the batch, so it shows in that request's trace, and `follows_from` the
//!    spans of the other loads that joined), guarded against panics and the per-batch
//!    timeout; cut short if every waiter leaves. A failure may be isolated to the failing keys.
//! 4. **Learn.** The sample goes to the scaling strategy (the limit moves), the call's cost to
//!    the group's cost model (the batch size moves), the figures to the metrics.
//! 5. **Answer.** The result is published once; each waiter picks its key.
//!
//! The permit is released in `Drop` and the waiters are answered by `AnswerOnDrop` whatever
//! happens, so no path leaks capacity or leaves a caller hanging.

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::time::Instant;
use tracing::{Instrument, field};

use crate::{
    BatchFn, LoaderConfig,
    batch::BatchWindow,
    batch::GroupState,
    batch::{AnswerOnDrop, Batch, BatchResult},
    dispatch::Permit,
    dispatch::{call, isolate},
    engine::EngineInner,
    limit::{Outcome, Sample},
    metrics::{BatchEnd, BatchRecord},
};

/// Runs one batch from its window to its answer.
pub(crate) async fn run_batch<F: BatchFn>(
    engine: Arc<EngineInner>,
    f: Arc<F>,
    window: Arc<BatchWindow<F>>,
    batch: Arc<Batch<F>>,
    opener: tracing::Span,
) {
    let _answer = AnswerOnDrop(batch.clone());
    collect_keys(&batch, engine.config.batch_delay).await;
    // The window is over: from here the batch waits for the downstream, not for keys.
    let ready = Instant::now();

    let group = window.group.clone();
    let permit = {
        let acquire = engine.limit.acquire(group.id);
        tokio::pin!(acquire);
        loop {
            tokio::select! {
                biased;
                permit = &mut acquire => break permit,
                () = batch.unwanted() => {
                    if window.abandon_if_unwanted(&batch) {
                        return;
                    }
                }
            }
        }
    };

    let dispatched = Instant::now();
    engine.shed.observe_queue();
    let keys = window.take(&batch);
    let loads = batch.mark_dispatched();
    if loads == 0 || keys.keys.is_empty() {
        return;
    }
    let queue_wait = dispatched.saturating_duration_since(batch.opened);
    let permit_wait = dispatched.saturating_duration_since(ready);
    if let Some(refusal) = engine.shed.shed_at_dispatch(permit_wait, batch.sheddable()) {
        // Queued before the overload was seen: answered now rather than served late.
        drop(permit);
        for _ in 0..loads {
            group.record_shed(engine.now());
        }
        batch.finish(BatchResult::failed_with(refusal));
        engine.shed.answered(batch.standalone());
        return;
    }
    let key_list: Vec<F::Key> = keys.keys.into_iter().collect();
    let size = key_list.len();

    // A batch may serve loads of several requests (traces): it is the child of the load that
    // opened it (so it shows in that request's trace) and links to the span of every other
    // load that joined. The opener gets no link of its own: OTLP-to-Jaeger translation folds a
    // link to the parent into the parent reference and turns it into FOLLOWS_FROM, losing the
    // tree. The opener's handle is held until here (it keeps that span open, which its load
    // waiting on this batch does anyway).
    let opener_id = opener.id();
    let span = tracing::info_span!(
        parent: &opener,
        "loader.batch",
        group = %group.name,
        batch_size = size,
        keys_requested = keys.requested,
        keys_deduplicated = keys.requested - size,
        queue_wait_ms = millis(queue_wait),
        limit = permit.limit_at_grant,
        in_flight = permit.in_flight,
        outcome = field::Empty,
    );
    drop(opener);
    for id in keys
        .spans
        .into_iter()
        .filter(|id| Some(id) != opener_id.as_ref())
    {
        span.follows_from(id);
    }

    let _call = CallGuard::new(&group, size);
    let run = execute(&*f, key_list, &engine.config, &group).instrument(span.clone());
    let executed = tokio::select! {
        biased;
        done = run => done,
        () = batch.unwanted() => {
            span.record("outcome", "cancelled");
            return;
        }
    };

    // Learn before answering, so that a caller that sees its value also sees its effect.
    learn(
        &engine,
        &group,
        permit,
        &span,
        &Called {
            keys: size,
            loads,
            rtt: executed.rtt,
            queue_wait,
            permit_wait,
            end: executed.end,
        },
    );
    span.record("outcome", executed.outcome_name());
    batch.finish(executed.result);
    engine.shed.answered(batch.standalone());
}

/// What one call under a permit tells the engine (a batch, or an [`Engine::run`](crate::Engine::run)).
pub(crate) struct Called {
    /// Distinct keys the call loaded (1 for a run).
    pub(crate) keys: usize,
    /// Loads answered by it.
    pub(crate) loads: usize,
    pub(crate) rtt: Duration,
    /// From the first key to the call (a batch's window included): what the metrics report.
    pub(crate) queue_wait: Duration,
    /// From the end of the batch's window to its permit: the wait for the downstream alone,
    /// which the door's law and the shedding at dispatch read. A window of 200 µs in front
    /// of calls of 100 µs is not a queue in front of the downstream.
    pub(crate) permit_wait: Duration,
    pub(crate) end: BatchEnd,
}

/// The learn step: the sample goes to the scaling strategy (inside `span`, so a limit change
/// is an event of the call that caused it), the permit is released, the call's cost goes to
/// the group's cost model and its figures to the metrics.
pub(crate) fn learn(
    engine: &EngineInner,
    group: &GroupState,
    permit: Permit,
    span: &tracing::Span,
    called: &Called,
) {
    let now = engine.now();
    let progress = permit.progress();
    let sample = Sample {
        now,
        rtt: called.rtt,
        batch_size: called.keys,
        loads: called.loads,
        in_flight: permit.in_flight,
        limit: permit.limit_at_grant,
        seq: permit.seq,
        granted: progress.granted,
        done_below: progress.done_below,
        queued: engine.limit.waiting(),
        local_load: engine.local_load(),
        outcome: match called.end {
            BatchEnd::Success => Outcome::Success,
            BatchEnd::Error | BatchEnd::Panicked => Outcome::Error,
            BatchEnd::Timeout => Outcome::Timeout,
        },
        requests_ended: engine.shed.requests_ended(),
        group: group.id,
    };
    let limit = span.in_scope(|| engine.on_sample(&sample, called.keys, group));
    drop(permit);
    if called.end == BatchEnd::Success {
        group.observe_cost(called.keys, called.rtt);
    }
    engine.shed.observe_call(called.permit_wait, called.rtt);
    group.record_batch(
        now,
        &BatchRecord {
            keys: called.keys,
            loads: called.loads,
            latency: called.rtt,
            queue_wait: called.queue_wait,
            end: called.end,
        },
        limit,
    );
}

/// Scheduler rounds without a new key after which the window closes. One round catches the
/// loads made in the same poll as the first (a `join_all` of resolvers); a second catches
/// loads from tasks that were queued behind the batch's own task in that round (other
/// requests). A lone load pays these two rounds, a few microseconds, never `batch_delay`.
const QUIET_ROUNDS: u32 = 2;

/// On a multi-threaded runtime, also the wall-clock time without a new key after which the
/// window may close. There the batch task runs on another, idle worker, where a scheduler
/// round takes about a microsecond, while the request task on its own worker is still
/// resolving a list and registering keys a few microseconds apart: counting rounds alone
/// closed the window mid-level and split one GraphQL level into dozens of calls. A lone load
/// pays this much, which is small next to any downstream round trip.
const QUIET_TIME: Duration = Duration::from_micros(30);

/// The window also stays open for this many times the longest gap between two arrivals seen
/// so far in the window (still capped by `batch_delay`): a slower registering task (a debug
/// build, a busy machine) shows its pace in the gaps, and the window adapts to it.
const GAP_FACTOR: u32 = 3;

/// How long the keys of one tracked request wait for more keys while the request is still
/// active (being polled or woken) but registers none: it is then doing work of its own, and
/// the keys it registered go ahead. A level registers in well under a millisecond in a
/// release build; a starved debug build was measured at about a millisecond per key.
const LONE_REQUEST_QUIET: Duration = Duration::from_millis(100);

/// The longest the keys of one tracked request wait for the rest of its level. Waiting costs
/// the request little: it is busy registering meanwhile, so the wait adds at most the one
/// round trip that could have overlapped with that work, against the extra statements of a
/// split level.
const LONE_REQUEST_WAIT: Duration = Duration::from_secs(5);

/// The adaptive window: returns when keys stopped arriving, the batch is full, or
/// `batch_delay` has passed since it opened.
///
/// For a batch whose keys all come from one [tracked](crate::RequestScope::track) request,
/// "stopped arriving" is exact: the request is parked (`load/activity.rs`) and two scheduler
/// rounds passed without a key; the window may then stay open past `batch_delay` while the
/// request is still registering (up to [`LONE_REQUEST_WAIT`], or [`LONE_REQUEST_QUIET`]
/// without a new key).
///
/// Otherwise "stopped arriving" is two scheduler rounds without a new key, and, on a
/// multi-threaded runtime, also [`QUIET_TIME`] (or [`GAP_FACTOR`] times the longest gap
/// seen) of wall-clock time since the last one. On a current-thread runtime rounds are exact
/// (every task that could register a key runs between two polls of this one) and time is
/// not consulted, so tokio's paused clock, which does not move while tasks run, cannot stall
/// the window.
async fn collect_keys<F: BatchFn>(batch: &Batch<F>, batch_delay: Duration) {
    if batch_delay.is_zero() {
        return;
    }
    let parallel = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread);
    let deadline = batch.opened + batch_delay;
    let lone_deadline = batch.opened + batch_delay.max(LONE_REQUEST_WAIT);
    let mut quiet = 0;
    let mut seen = batch.arrivals();
    let mut last_arrival = std::time::Instant::now();
    let mut longest_gap = Duration::ZERO;
    while !batch.is_full() {
        tokio::task::yield_now().await;
        let arrivals = batch.arrivals();
        if arrivals == seen {
            quiet += 1;
        } else {
            quiet = 0;
            seen = arrivals;
            let now = std::time::Instant::now();
            if parallel {
                longest_gap = longest_gap.max(now - last_arrival);
            }
            last_arrival = now;
        }
        if let Some(owner) = batch.lone_owner() {
            let parked = quiet >= QUIET_ROUNDS && !owner.active();
            let busy_elsewhere = last_arrival.elapsed() >= LONE_REQUEST_QUIET;
            if parked || busy_elsewhere || Instant::now() >= lone_deadline {
                return;
            }
            continue;
        }
        if Instant::now() >= deadline {
            return;
        }
        if quiet >= QUIET_ROUNDS
            && (!parallel || last_arrival.elapsed() >= QUIET_TIME.max(longest_gap * GAP_FACTOR))
        {
            return;
        }
    }
}

struct Executed<F: BatchFn> {
    result: BatchResult<F>,
    /// Duration of the first (whole-batch) call.
    rtt: Duration,
    end: BatchEnd,
    isolated: bool,
}

impl<F: BatchFn> Executed<F> {
    fn outcome_name(&self) -> &'static str {
        match (self.end, self.isolated) {
            (_, true) => "isolated",
            (BatchEnd::Success, _) => "success",
            (BatchEnd::Error, _) => "error",
            (BatchEnd::Panicked, _) => "panicked",
            (BatchEnd::Timeout, _) => "timeout",
        }
    }
}

async fn execute<F: BatchFn>(
    f: &F,
    keys: Vec<F::Key>,
    config: &LoaderConfig,
    group: &GroupState,
) -> Executed<F> {
    let name = group.name.name();
    let started = Instant::now();
    let first = call(f, &keys, config.batch_timeout, &name).await;
    let rtt = started.elapsed();
    let error = match first {
        Ok(values) => {
            return Executed {
                result: BatchResult {
                    values,
                    failed: HashMap::new(),
                    error: None,
                },
                rtt,
                end: BatchEnd::Success,
                isolated: false,
            };
        }
        Err(error) => error,
    };
    let end = match error {
        crate::LoadError::Timeout { .. } => BatchEnd::Timeout,
        crate::LoadError::Panicked { .. } => BatchEnd::Panicked,
        _ => BatchEnd::Error,
    };
    // A timeout says the downstream is slow, not that some keys are bad: not isolated.
    if config.isolate_errors && keys.len() > 1 && end != BatchEnd::Timeout {
        let found = isolate(f, keys, error, config.batch_timeout, &name).await;
        return Executed {
            result: BatchResult {
                values: found.values,
                failed: found.failed,
                error: None,
            },
            rtt,
            end,
            isolated: true,
        };
    }
    Executed {
        result: BatchResult::failed_with(error),
        rtt,
        end,
        isolated: false,
    }
}

/// Counts the group's in-flight calls; decremented in `Drop` (cancellation included).
pub(crate) struct CallGuard<'a>(&'a GroupState, usize);

impl<'a> CallGuard<'a> {
    pub(crate) fn new(group: &'a GroupState, keys: usize) -> Self {
        group.call_started(keys);
        Self(group, keys)
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.0.call_ended(self.1);
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
