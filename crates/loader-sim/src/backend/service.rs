//! The backend model as a task on tokio's clock, and the batch function that calls it.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use loader_core::{BatchFn, QueryGroup};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, LogNormal};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
    time::Instant,
};

use super::ProcessorSharing;
use crate::{Schedule, scenario::BackendSpec};

/// Why a simulated batch call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BackendFailure {
    /// The scenario's `error_rate` drew a failure for this call.
    #[error("simulated backend error")]
    Injected,
    /// The backend task is gone (the simulation is ending).
    #[error("simulated backend stopped")]
    Stopped,
}

/// What the backend answers for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Every key.
    Values,
    /// Every key but one (fault injection: `lose_key_rate`).
    LoseOne,
    /// An error.
    Fail,
}

type Reply = oneshot::Sender<Result<Answer, BackendFailure>>;

enum Msg {
    Call {
        id: u64,
        batch_size: usize,
        group: usize,
        reply: Reply,
    },
    Cancel {
        id: u64,
    },
}

/// The running backend: owns the model task. Dropping it stops the task.
#[derive(Debug)]
pub struct SimBackend {
    task: JoinHandle<()>,
    batch: SimBatch,
}

/// The batch function the engine calls for one query group: every key it is asked for
/// exists (value = key), and the call takes as long as the backend model says.
#[derive(Debug, Clone)]
pub struct SimBatch {
    group: QueryGroup,
    group_index: usize,
    tx: mpsc::UnboundedSender<Msg>,
    next_id: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
    calls: Arc<AtomicU64>,
    keys: Arc<AtomicU64>,
}

impl SimBackend {
    /// Starts the backend task on the current runtime; model time 0 is `start`. The calls
    /// of query group `i` cost `group_costs[i]` times the full-speed service time (a group
    /// without an entry costs 1). The host's stalls, if any, are drawn from `seed` up to
    /// `horizon_s` of model time.
    pub fn spawn(
        spec: &BackendSpec,
        group_costs: &[Schedule],
        seed: u64,
        horizon_s: f64,
        start: Instant,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(serve(
            rx,
            Model {
                spec: spec.clone(),
                group_costs: group_costs.to_vec(),
            },
            StdRng::seed_from_u64(seed ^ 0x5eed_bac0_e17d_0001),
            super::stall_speed(spec, seed, horizon_s),
            start,
            in_flight.clone(),
        ));
        Self {
            task,
            batch: SimBatch {
                group: QueryGroup::new("sim.rows"),
                group_index: 0,
                tx,
                next_id: Arc::new(AtomicU64::new(0)),
                in_flight,
                calls: Arc::new(AtomicU64::new(0)),
                keys: Arc::new(AtomicU64::new(0)),
            },
        }
    }

    /// A handle the engine can call, for the default query group (`sim.rows`, index 0).
    pub fn batch_fn(&self) -> SimBatch {
        self.batch.clone()
    }

    /// A handle for query group `index`, named `sim.<name>` (it shares the backend, and the
    /// call and key counters, with every other group's handle).
    pub fn group_batch_fn(&self, index: usize, name: &str) -> SimBatch {
        SimBatch {
            group: QueryGroup::new(format!("sim.{name}")),
            group_index: index,
            ..self.batch.clone()
        }
    }
}

impl Drop for SimBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SimBatch {
    /// Calls in service in the backend now (as the model sees them).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Batch calls received so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Keys received so far, over every batch call.
    pub fn keys(&self) -> u64 {
        self.keys.load(Ordering::Relaxed)
    }
}

/// Tells the backend to drop a call whose caller went away before the answer.
struct CancelOnDrop<'a> {
    tx: &'a mpsc::UnboundedSender<Msg>,
    id: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.tx.send(Msg::Cancel { id: self.id });
        }
    }
}

impl BatchFn for SimBatch {
    type Key = u64;
    type Value = u64;
    type Error = BackendFailure;

    fn group(&self) -> QueryGroup {
        self.group.clone()
    }

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u64>, BackendFailure> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.keys.fetch_add(keys.len() as u64, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        let call = Msg::Call {
            id,
            batch_size: keys.len(),
            group: self.group_index,
            reply,
        };
        if self.tx.send(call).is_err() {
            return Err(BackendFailure::Stopped);
        }
        let mut guard = CancelOnDrop {
            tx: &self.tx,
            id,
            armed: true,
        };
        let result = answer.await;
        guard.armed = false;
        match result {
            Ok(Ok(Answer::Values)) => Ok(keys.iter().map(|k| (*k, *k)).collect()),
            Ok(Ok(Answer::LoseOne)) => Ok(keys.iter().skip(1).map(|k| (*k, *k)).collect()),
            Ok(Ok(Answer::Fail)) => Err(BackendFailure::Injected),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BackendFailure::Stopped),
        }
    }
}

/// The backend task: receives calls, runs the model on tokio's clock, answers at each
/// completion. Completions are computed at exact model times; answers are delivered when
/// the runtime's timer fires (tokio's timer has 1 ms resolution).
async fn serve(
    mut rx: mpsc::UnboundedReceiver<Msg>,
    model_spec: Model,
    mut rng: StdRng,
    speed: Schedule,
    start: Instant,
    in_flight: Arc<AtomicUsize>,
) {
    let spec = &model_spec;
    let mut model: ProcessorSharing<(Reply, Answer)> = ProcessorSharing::new(
        spec.spec.capacity.clone(),
        spec.spec.overload_penalty.clone(),
    )
    .with_speed(speed);
    let model_now = || start.elapsed().as_secs_f64();
    let far = start + Duration::from_secs(365 * 24 * 3600);
    loop {
        // tokio's timer rounds the deadline up to its 1 ms tick; the model tolerates the
        // nanosecond rounding of the conversion, and never waits for an instant already
        // passed (that would spin without letting time advance).
        let wake = model.next_completion().map_or(far, |t| {
            let at = start + Duration::from_secs_f64(t);
            at.max(Instant::now() + Duration::from_micros(1))
        });
        tokio::select! {
            biased;
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                let now = model_now();
                deliver(model.advance(now));
                handle(&mut model, spec, &mut rng, now, msg);
                while let Ok(msg) = rx.try_recv() {
                    handle(&mut model, spec, &mut rng, now, msg);
                }
            }
            () = tokio::time::sleep_until(wake) => {
                deliver(model.advance(model_now()));
            }
        }
        in_flight.store(model.in_flight(), Ordering::Relaxed);
    }
}

/// The backend's parameters and the cost of each query group.
struct Model {
    spec: BackendSpec,
    group_costs: Vec<Schedule>,
}

impl Model {
    /// Probability that a call arriving at `now` with `n` calls in service (itself
    /// included) fails.
    fn failure_probability(&self, now: f64, n: usize) -> f64 {
        let c = self.spec.capacity.at(now);
        let overload = (n as f64 - c).max(0.0) / c;
        (self.spec.error_rate.at(now) + self.spec.overload_error_rate.at(now) * overload).min(1.0)
    }
}

fn handle(
    model: &mut ProcessorSharing<(Reply, Answer)>,
    m: &Model,
    rng: &mut StdRng,
    now: f64,
    msg: Msg,
) {
    match msg {
        Msg::Call {
            id,
            batch_size,
            group,
            reply,
        } => {
            let spec = &m.spec;
            let cost = m.group_costs.get(group).map_or(1.0, |c| c.at(now));
            let full_speed_ms = (spec.base_latency_ms.at(now)
                + spec.per_key_latency_ms.at(now) * batch_size as f64)
                * cost;
            let sigma = spec.jitter.at(now);
            let jitter = if sigma > 0.0 {
                LogNormal::new(0.0, sigma).map_or(1.0, |d| d.sample(rng))
            } else {
                1.0
            };
            let fails = rng.random::<f64>() < m.failure_probability(now, model.in_flight() + 1);
            let lose = spec.lose_key_rate.at(now);
            let answer = if fails {
                Answer::Fail
            } else if lose > 0.0 && rng.random::<f64>() < lose {
                Answer::LoseOne
            } else {
                Answer::Values
            };
            model.arrive(now, id, full_speed_ms * jitter / 1000.0, (reply, answer));
        }
        Msg::Cancel { id } => {
            model.cancel(now, id);
        }
    }
}

fn deliver(done: Vec<super::Completion<(Reply, Answer)>>) {
    for c in done {
        let (reply, answer) = c.payload;
        let _ = reply.send(Ok(answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schedule;

    fn spec(capacity: f64, error_rate: f64) -> BackendSpec {
        BackendSpec {
            capacity: Schedule::constant(capacity),
            base_latency_ms: Schedule::constant(4.0),
            per_key_latency_ms: Schedule::constant(0.1),
            overload_penalty: Schedule::constant(0.5),
            jitter: Schedule::constant(0.0),
            error_rate: Schedule::constant(error_rate),
            overload_error_rate: Schedule::constant(0.0),
            lose_key_rate: Schedule::constant(0.0),
            stall_share: Schedule::constant(0.0),
            stall_factor: Schedule::constant(3.0),
            stall_ms: Schedule::constant(20.0),
        }
    }

    /// `n` callers each calling with 20 keys (6 ms at full speed) back to back for 10 s.
    async fn calls_per_s(n: usize, capacity: f64) -> f64 {
        let start = Instant::now();
        let backend = SimBackend::spawn(&spec(capacity, 0.0), &[], 1, 60.0, start);
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..n {
            let f = backend.batch_fn();
            callers.spawn(async move {
                let keys: Vec<u64> = (0..20).collect();
                let mut done = 0u64;
                while start.elapsed() < Duration::from_secs(10) {
                    let values = f.load(&keys).await.unwrap();
                    assert_eq!(values.len(), 20);
                    done += 1;
                }
                done
            });
        }
        let done: u64 = callers.join_all().await.into_iter().sum();
        done as f64 / start.elapsed().as_secs_f64()
    }

    #[tokio::test(start_paused = true)]
    async fn at_capacity_calls_per_second_equal_capacity_over_service_time() {
        let x = calls_per_s(32, 32.0).await;
        let expected = 32.0 / 0.006;
        assert!(
            (x - expected).abs() / expected < 0.01,
            "{x} calls/s, expected {expected}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn twice_capacity_is_slower_by_the_overload_penalty() {
        let x = calls_per_s(64, 32.0).await;
        // 64 calls each at 0.5 / (1 + 0.5) of full speed
        let expected = 64.0 / 3.0 / 0.006;
        assert!(
            (x - expected).abs() / expected < 0.01,
            "{x} calls/s, expected {expected}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn injected_errors_arrive_after_the_service_time() {
        let start = Instant::now();
        let backend = SimBackend::spawn(&spec(4.0, 1.0), &[], 1, 60.0, start);
        let result = backend.batch_fn().load(&[1, 2]).await;
        assert_eq!(result, Err(BackendFailure::Injected));
        assert!(start.elapsed() >= Duration::from_micros(4200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_call_leaves_the_backend() {
        let start = Instant::now();
        let backend = SimBackend::spawn(&spec(1.0, 0.0), &[], 1, 60.0, start);
        let f = backend.batch_fn();
        let slow = tokio::time::timeout(Duration::from_millis(2), f.load(&[1])).await;
        assert!(slow.is_err());
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(f.in_flight(), 0);
        // alone again: a full-speed call takes its 4.1 ms (delivered on the next 1 ms tick)
        let t0 = Instant::now();
        f.load(&[1]).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_millis(5));
    }
}
