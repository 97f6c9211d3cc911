//! [`Engine::run`]: one call to the downstream that is not a batch of keys (a page of rows,
//! a write, a transaction) under the same concurrency limit as the batches.
//!
//! A limit governs the downstream only if every call to it takes a permit: a server whose
//! list queries and writes bypassed the engine would let them pile onto a database the
//! batches are being held back from. A run goes through what a batch goes through, minus the
//! window: admission (back-pressure, the request's scope and deadline), a turn for a permit
//! (fair with the batches of every group), the per-call timeout and panic guard, the
//! `loader.batch` span (`batch_size = 1`), and the learn step (the limit, the group's figures
//! and the metrics see it like a batch of one key).

use std::{
    future::{Future, IntoFuture},
    panic::AssertUnwindSafe,
    pin::Pin,
};

use futures::FutureExt;
use tokio::time::Instant;
use tracing::{Instrument, field};

use crate::{
    Engine, LoadError, QueryGroup, RequestScope,
    batch::GroupState,
    dispatch::{CallGuard, Called, learn},
    engine::EngineInner,
    load::until_deadline,
    metrics::BatchEnd,
};

/// One call under the engine's limit, made by [`Engine::run`]; `.await` it.
///
/// It resolves to `Ok(result)` with what the work returned, `Ok(Err(e))` included: the
/// work's own error is passed through untouched (and counted as an error of its group). The
/// outer `Err` is the engine's: the call was refused at admission
/// ([`LoadError::Overloaded`]), its deadline passed while it waited
/// ([`LoadError::DeadlineExceeded`]), it ran past the per-call timeout
/// ([`LoadError::Timeout`]; the work is dropped) or it panicked ([`LoadError::Panicked`]).
#[must_use = "a run does nothing until awaited"]
pub struct Run<'e, W> {
    engine: &'e Engine,
    group: QueryGroup,
    work: W,
    deadline: Option<Instant>,
    scope: Option<RequestScope>,
}

impl Engine {
    /// Runs `work`, one call to the downstream that is not a batch of keys, under the same
    /// concurrency limit as every batch: it waits for a permit (in turn with the batches of
    /// every group), runs with the per-call timeout, is traced as a `loader.batch` span of
    /// one key in `group`, and its duration and outcome feed the scaling strategy and the
    /// group's figures like a batch's. Nothing runs until the returned [`Run`] is awaited.
    ///
    /// The call is judged on its own at admission (a call of a request admitted at the door
    /// is made with [`RequestScope::run`] instead) and, by default, has no deadline (see
    /// [`Run::with_deadline`]).
    ///
    /// ```
    /// use loader_core::{Engine, QueryGroup};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let engine = Engine::builder().max_concurrency(8).build()?;
    /// // e.g. `SELECT * FROM users ORDER BY id LIMIT 20`, under the database's limit:
    /// let page: Vec<u64> = engine
    ///     .run(QueryGroup::new("users.page"), async { Ok::<_, std::io::Error>(vec![1, 2, 3]) })
    ///     .await??; // the engine's error, then the query's own
    /// assert_eq!(page, [1, 2, 3]);
    /// let group = &engine.snapshot().groups["users.page"];
    /// assert_eq!((group.batches, group.batch_size.max), (1, 1.0)); // like a batch of one key
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<W, T, E>(&self, group: QueryGroup, work: W) -> Run<'_, W>
    where
        W: Future<Output = Result<T, E>>,
    {
        Run::new(self, group, work, None)
    }
}

impl<'e, W> Run<'e, W> {
    pub(crate) fn new(
        engine: &'e Engine,
        group: QueryGroup,
        work: W,
        scope: Option<RequestScope>,
    ) -> Self {
        Run {
            engine,
            group,
            work,
            deadline: None,
            scope,
        }
    }

    /// Fails the call with `DeadlineExceeded` when `deadline` passes while it waits for its
    /// permit (once running, the per-call timeout bounds it); a call outside a request is
    /// also refused with `Overloaded` at once when its expected wait exceeds it.
    ///
    /// By default, a run has no deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

impl<'e, W, T, E> IntoFuture for Run<'e, W>
where
    W: Future<Output = Result<T, E>> + Send + 'e,
    T: Send + 'e,
    E: Send + 'e,
{
    type Output = Result<Result<T, E>, LoadError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'e>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.execute())
    }
}

impl<W, T, E> Run<'_, W>
where
    W: Future<Output = Result<T, E>>,
{
    async fn execute(self) -> Result<Result<T, E>, LoadError> {
        let inner = &*self.engine.inner;
        let group = inner.group(self.group);
        let scope = self.scope.unwrap_or_else(RequestScope::standalone);
        let scope = &scope.state;
        let standalone = !scope.from().scoped;
        inner.shed.admit_loads(&group, scope, self.deadline, 1)?;
        // New work (outside a request) is answered however this ends, cancellation included.
        let _answered = Answered { inner, standalone };

        let queued = Queued::new(&group);
        let acquire = inner.limit.acquire(group.id);
        let permit = until_deadline(&group, acquire, self.deadline).await?;
        let queue_wait = queued.opened.elapsed();
        drop(queued);
        inner.shed.observe_queue();
        if let Some(refusal) = inner.shed.shed_at_dispatch(queue_wait, standalone) {
            drop(permit);
            group.record_shed(inner.now());
            return Err(refusal);
        }

        let span = tracing::info_span!(
            "loader.batch",
            group = %group.name,
            batch_size = 1,
            keys_requested = 1,
            keys_deduplicated = 0,
            queue_wait_ms = queue_wait.as_secs_f64() * 1e3,
            limit = permit.limit_at_grant,
            in_flight = permit.in_flight,
            outcome = field::Empty,
        );
        let _call = CallGuard::new(&group, 1);
        let timeout = inner.config.batch_timeout;
        let started = Instant::now();
        // The work is polled inside the guard: a panic anywhere in it is caught.
        let guarded = AssertUnwindSafe(self.work).catch_unwind();
        let ran = tokio::time::timeout(timeout, guarded)
            .instrument(span.clone())
            .await;
        let rtt = started.elapsed();
        let name = || group.name.name();
        let (end, outcome, result) = match ran {
            Ok(Ok(Ok(value))) => (BatchEnd::Success, "success", Ok(Ok(value))),
            Ok(Ok(Err(error))) => (BatchEnd::Error, "error", Ok(Err(error))),
            Ok(Err(panic)) => (
                BatchEnd::Panicked,
                "panicked",
                Err(LoadError::Panicked {
                    group: name(),
                    message: crate::dispatch::panic_message(panic.as_ref()).into(),
                }),
            ),
            Err(_) => (
                BatchEnd::Timeout,
                "timeout",
                Err(LoadError::Timeout {
                    group: name(),
                    after: timeout,
                }),
            ),
        };
        learn(
            inner,
            &group,
            permit,
            &span,
            &Called {
                keys: 1,
                loads: 1,
                rtt,
                queue_wait,
                permit_wait: queue_wait,
                end,
            },
        );
        span.record("outcome", outcome);
        result
    }
}

/// One load waiting for its permit in the group's (and engine's) queue count; leaves it in
/// `Drop`, whether the permit came, the deadline passed or the caller went away.
struct Queued<'a> {
    group: &'a GroupState,
    opened: Instant,
}

impl<'a> Queued<'a> {
    fn new(group: &'a GroupState) -> Self {
        group.enqueue(1);
        Self {
            group,
            opened: Instant::now(),
        }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.group.dequeue(1);
    }
}

/// Tells the overload detector that a standalone call was answered, in `Drop`.
struct Answered<'a> {
    inner: &'a EngineInner,
    standalone: bool,
}

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        if self.standalone {
            self.inner.shed.answered(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use crate::{Engine, LoadError, QueryGroup};

    fn engine(limit: usize) -> Engine {
        Engine::builder()
            .scaling_strategy(format!("fixed:{limit}").parse().unwrap())
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn the_result_and_the_work_error_pass_through() {
        let engine = engine(2);
        let ok = engine
            .run(QueryGroup::new("page"), async { Ok::<_, String>(7) })
            .await;
        assert_eq!(ok.unwrap(), Ok(7));
        let failed = engine
            .run(QueryGroup::new("page"), async {
                Err::<u8, _>("no".to_string())
            })
            .await;
        assert_eq!(failed.unwrap(), Err("no".to_string()));
        let snapshot = engine.snapshot();
        let group = &snapshot.groups["page"];
        assert_eq!(group.batches, 2);
        assert_eq!(group.errors, 1, "the work's error counts as its group's");
        assert_eq!(snapshot.in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn runs_and_batches_share_one_limit() {
        let engine = engine(1);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let call = |engine: Engine, running: Arc<AtomicUsize>, most: Arc<AtomicUsize>| async move {
            engine
                .run(QueryGroup::new("write"), async {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, String>(())
                })
                .await
        };
        let calls: Vec<_> = (0..5)
            .map(|_| tokio::spawn(call(engine.clone(), running.clone(), most.clone())))
            .collect();
        for c in calls {
            c.await.unwrap().unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "fixed:1 runs one at a time");
        assert_eq!(engine.snapshot().groups["write"].batches, 5);
    }

    /// The task of a spawned run.
    type Spawned = tokio::task::JoinHandle<Result<Result<(), String>, LoadError>>;

    /// Spawns a run of group `a` that holds its permit until the sender is sent to or
    /// dropped.
    fn hold_a_permit(engine: &Engine) -> (tokio::sync::oneshot::Sender<()>, Spawned) {
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let engine = engine.clone();
        let run = tokio::spawn(async move {
            engine
                .run(QueryGroup::new("a"), async {
                    let _ = held.await;
                    Ok::<_, String>(())
                })
                .await
        });
        (release, run)
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_waits_for_the_permit_a_run_holds() {
        let engine = engine(1);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let engine = engine.clone();
            async move {
                engine
                    .run(QueryGroup::new("a"), async {
                        released.await.unwrap();
                        Ok::<_, String>(1)
                    })
                    .await
            }
        });
        tokio::task::yield_now().await;
        assert_eq!(engine.in_flight(), 1);
        let second = tokio::spawn({
            let engine = engine.clone();
            async move {
                engine
                    .run(QueryGroup::new("b"), async { Ok::<_, String>(2) })
                    .await
            }
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished(), "no permit while the first runs");
        assert_eq!(engine.queued(), 1, "the waiting run counts as queued");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), Ok(1));
        assert_eq!(second.await.unwrap().unwrap(), Ok(2));
        assert_eq!((engine.in_flight(), engine.queued()), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_passing_while_waiting_fails_the_run_and_frees_its_place() {
        let engine = engine(1);
        let (_hold, blocker) = hold_a_permit(&engine);
        tokio::task::yield_now().await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        let late = engine
            .run(QueryGroup::new("b"), async { Ok::<_, String>(()) })
            .with_deadline(deadline)
            .await;
        assert!(
            matches!(
                late,
                Err(LoadError::DeadlineExceeded { .. }) | Err(LoadError::Overloaded { .. })
            ),
            "{late:?}"
        );
        assert_eq!(engine.queued(), 0);
        blocker.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_past_the_call_timeout_is_cut_and_releases_its_permit() {
        let engine = Engine::builder()
            .scaling_strategy("fixed:1".parse().unwrap())
            .batch_timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let slow = engine
            .run(QueryGroup::new("slow"), async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, String>(())
            })
            .await;
        assert!(matches!(slow, Err(LoadError::Timeout { .. })), "{slow:?}");
        assert_eq!(engine.in_flight(), 0);
        assert_eq!(engine.snapshot().groups["slow"].timeouts, 1);
    }

    #[tokio::test]
    async fn a_panicking_run_is_an_error_and_releases_its_permit() {
        let engine = engine(1);
        let panicked = engine
            .run(QueryGroup::new("boom"), async {
                if engine.limit() > 0 {
                    panic!("the query builder panicked");
                }
                Ok::<_, String>(())
            })
            .await;
        match panicked {
            Err(LoadError::Panicked { message, .. }) => {
                assert!(message.contains("query builder"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(engine.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_run_gives_back_its_permit_and_its_queue_place() {
        let engine = engine(1);
        let holder = tokio::spawn({
            let engine = engine.clone();
            async move {
                engine
                    .run(
                        QueryGroup::new("a"),
                        std::future::pending::<Result<(), String>>(),
                    )
                    .await
            }
        });
        tokio::task::yield_now().await;
        let waiter = tokio::spawn({
            let engine = engine.clone();
            async move {
                engine
                    .run(QueryGroup::new("b"), async { Ok::<_, String>(()) })
                    .await
            }
        });
        tokio::task::yield_now().await;
        assert_eq!((engine.in_flight(), engine.queued()), (1, 1));
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(engine.queued(), 0);
        holder.abort();
        let _ = holder.await;
        assert_eq!(engine.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_in_an_admitted_request_is_never_refused() {
        let engine = Engine::builder()
            .scaling_strategy("fixed:1".parse().unwrap())
            .queue_capacity(1)
            .build()
            .unwrap();
        let (release, holder) = hold_a_permit(&engine);
        let queued = tokio::spawn({
            let engine = engine.clone();
            async move {
                engine
                    .run(QueryGroup::new("b"), async { Ok::<_, String>(()) })
                    .await
            }
        });
        tokio::task::yield_now().await;
        assert_eq!((engine.in_flight(), engine.queued()), (1, 1));
        // The queue is full: a run on its own is refused...
        let alone = engine
            .run(QueryGroup::new("c"), async { Ok::<_, String>(()) })
            .await;
        assert!(
            matches!(alone, Err(LoadError::Overloaded { .. })),
            "{alone:?}"
        );
        // ...one of an admitted request waits for its turn.
        let request = engine.admit_request().await.unwrap();
        let mine = tokio::spawn({
            let request = request.clone();
            async move {
                request
                    .run(QueryGroup::new("c"), async { Ok::<_, String>(3) })
                    .await
            }
        });
        tokio::task::yield_now().await;
        release.send(()).unwrap();
        assert_eq!(mine.await.unwrap().unwrap(), Ok(3));
        holder.await.unwrap().unwrap().unwrap();
        queued.await.unwrap().unwrap().unwrap();
    }
}
